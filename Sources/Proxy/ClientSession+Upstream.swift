import HTTP1
import Libevent
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// The upstream half of an exchange: connecting (and retrying), reading the response
/// head, streaming the response body, and the WebSocket tunnel.
extension ClientSession {
    /// Starts an attempt on `server`. `carrying` is a connection that failed to connect:
    /// nothing of it was sent, so its queued output (head and body so far) moves over.
    func connectUpstream(_ exchange: Exchange, server: UpstreamServer, allowPooled: Bool, carrying: Connection?) {
        exchange.attempts += 1
        exchange.server = server
        var connection = allowPooled ? worker.pools.take(server) : nil
        exchange.upstreamReused = connection != nil
        exchange.upstreamConnected = connection != nil
        if connection == nil {
            do throws(SystemError) {
                connection = try worker.pools.connect(server)
            } catch {
                carrying?.close()
                exchange.attempt = UpstreamAttempt(
                    spanID: worker.ids.spanID(), server: server, startNanoseconds: ClientSession.now())
                failUpstream(exchange, .connect(error.code, server: server.configured))
                return
            }
        }
        guard let connection else { return }
        connection.delegate = self
        exchange.upstream = connection
        exchange.requestSent = false
        // An upstream that takes no byte of the request for `idle` has stalled.
        connection.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
        connection.setWriteLowWatermark(exchange.waitingForUpstreamDrain ? Self.lowWatermark : 0)
        connection.enableReading()
        // Each attempt sends its own CLIENT span's traceparent. A carried-over body follows
        // the new head; the old head (the failed attempt's trace fields) is dropped.
        let traceFields = beginAttempt(exchange, server: server, reused: exchange.upstreamReused)
        connection.output.append(exchange.upstreamHead)
        connection.output.append(traceFields)
        if let carrying {
            carrying.output.drain(exchange.sentHeadLength)
            carrying.output.moveAll(to: connection.output)
            carrying.close()
        }
        exchange.sentHeadLength = exchange.upstreamHead.count + traceFields.count
        // The response deadline starts once the whole request is written (`requestWasSent`).
        if exchange.upstreamConnected { cancelDeadline() } else { scheduleDeadline(milliseconds: configuration.timeouts.connect) }
    }

    /// The whole request (head and body) is written to the upstream: from now on
    /// `timeouts.upstream_header` bounds the wait for the response head.
    func requestWasSent(_ exchange: Exchange) {
        guard exchange.upstreamConnected, exchange.response == nil, phase == .proxying else { return }
        exchange.requestSent = true
        scheduleDeadline(milliseconds: configuration.timeouts.upstreamHeader)
    }

    /// Retries once on the next server when allowed, otherwise answers with `error`.
    private func retryOrFail(_ exchange: Exchange, _ error: ProxyError, failed connection: Connection, replayQueued: Bool) {
        if error.isConnectFailure { worker.resolver?.refreshSoon() }
        guard exchange.attempts < 2, let route = exchange.route, let next = worker.pools.nextServer(of: route.upstream) else {
            failUpstream(exchange, error)
            return
        }
        cancelDeadline()
        endAttempt(exchange, error: error)
        if replayQueued {
            connectUpstream(exchange, server: next, allowPooled: false, carrying: connection)
        } else {
            connection.close()
            connectUpstream(exchange, server: next, allowPooled: false, carrying: nil)
        }
    }

    /// The upstream failed: an error page if the client has seen nothing yet, otherwise
    /// the client keeps what arrived and its connection closes (no fabricated end).
    func failUpstream(_ exchange: Exchange, _ error: ProxyError) {
        if error.isConnectFailure { worker.resolver?.refreshSoon() }
        cancelDeadline()
        endAttempt(exchange, error: error)
        exchange.upstream?.close()
        exchange.upstream = nil
        if exchange.responseStarted {
            exchange.error = error
            finishExchange(exchange, closeClient: true)
        } else {
            finishLocally(exchange, error: error, forceClose: !exchange.requestBodyDone)
        }
    }

    func upstreamTimerFired() {
        if phase == .tunnelling {
            endTunnel(.idleTimeout)
            return
        }
        guard phase == .proxying, let exchange, let upstream = exchange.upstream, let server = exchange.server else { return }
        if !exchange.upstreamConnected {
            retryOrFail(exchange, .connectTimeout(server: server.configured), failed: upstream, replayQueued: true)
        } else if exchange.response == nil {
            failUpstream(exchange, .headerTimeout(server: server.configured))
        }
    }

    func upstream(_ connection: Connection, didReceive event: ConnectionEvent) {
        guard phase == .proxying || phase == .tunnelling, let exchange, connection === exchange.upstream,
            let server = exchange.server
        else {
            connection.close()
            return
        }
        if phase == .tunnelling {
            endTunnel(event == .endOfStream ? .upstreamClosed : .upstreamFailed)
            return
        }
        if event == .connected {
            exchange.upstreamConnected = true
            exchange.attempt?.connectedNanoseconds = Self.now()
            // Connected: the request is being written; `requestWasSent` starts the next deadline.
            cancelDeadline()
            return
        }
        if !exchange.upstreamConnected {
            let code: Int32 = if case .failed(let code) = event { code } else { ECONNREFUSED }
            retryOrFail(exchange, .connect(code, server: server.configured), failed: connection, replayQueued: true)
            return
        }
        if exchange.response == nil {
            let error: ProxyError = switch event {
            case .failed(let code): .reset(server: server.configured, code: code)
            case .timedOut:
                // Before the response only the write side has a timeout: the request stalled.
                exchange.requestSent ? .headerTimeout(server: server.configured) : .writeTimeout(server: server.configured)
            default: .closedEarly(server: server.configured)
            }
            if exchange.mayRetryAfterStaleConnection, exchange.responseScanner.bytesScanned == 0, connection.input.isEmpty {
                retryOrFail(exchange, error, failed: connection, replayQueued: false)
            } else {
                failUpstream(exchange, error)
            }
            return
        }
        // The body phase.
        exchange.upstreamEnded = true
        switch event {
        case .endOfStream: pumpResponse(exchange)
        case .failed(let code): failUpstream(exchange, .reset(server: server.configured, code: code))
        case .timedOut, .connected: failUpstream(exchange, .bodyTimeout(server: server.configured))
        }
    }

    func upstreamDidRead(_ connection: Connection) {
        guard phase == .proxying, let exchange, connection === exchange.upstream else {
            if phase == .tunnelling { tunnelPump(from: connection) } else { connection.close() }
            return
        }
        if exchange.attempt != nil, exchange.attempt?.firstByteNanoseconds == nil, !connection.input.isEmpty {
            exchange.attempt?.firstByteNanoseconds = Self.now()
        }
        if exchange.response == nil { readResponseHead(exchange, connection) } else { pumpResponse(exchange) }
    }

    func upstreamDidDrain(_ connection: Connection) {
        if phase == .tunnelling {
            tunnelDidDrain(connection)
            return
        }
        guard let exchange, connection === exchange.upstream, exchange.waitingForUpstreamDrain else { return }
        exchange.waitingForUpstreamDrain = false
        connection.setWriteLowWatermark(0)
        client.enableReading()
        pumpRequestBody(exchange)
    }

    private func readResponseHead(_ exchange: Exchange, _ upstream: Connection) {
        let server = exchange.server!.configured
        while exchange.response == nil, !upstream.input.isEmpty {
            let head: ResponseHead
            switch exchange.responseScanner.scan({ upstream.input.forEachChunk(from: $0, $1) }) {
            case .needMore:
                return
            case .failed(let error):
                failUpstream(exchange, .malformedResponse(server: server, error))
                return
            case .complete(let leading, let end):
                upstream.input.drain(leading)
                let bytes = upstream.input.remove(end - leading)
                exchange.responseScanner.reset()
                do throws(HTTPParseError) {
                    head = try ResponseHeadParser(limits: configuration.limits).parse(bytes, requestMethod: exchange.head.methodKind)
                } catch {
                    failUpstream(exchange, .malformedResponse(server: server, error))
                    return
                }
            }
            if head.status == 101 {
                guard exchange.head.upgrade != nil else {
                    failUpstream(exchange, .malformedResponse(server: server, .invalidStatusLine))
                    return
                }
                startTunnel(exchange, head)
                return
            }
            // Interim responses (100, 103) are dropped: the proxy answered Expect itself.
            if head.isInterim { continue }
            startResponse(exchange, head)
        }
    }

    private func startResponse(_ exchange: Exchange, _ head: ResponseHead) {
        cancelDeadline()
        exchange.response = head
        exchange.status = head.status
        exchange.attempt?.status = head.status
        exchange.upstream?.setTimeouts(readMilliseconds: configuration.timeouts.upstreamHeader, writeMilliseconds: nil)
        let framing = HeaderPolicy.clientFraming(for: head, clientVersion: exchange.head.version)
        exchange.clientFraming = framing
        exchange.closeClientAfterResponse = !exchange.head.keepAlive || framing == .close || worker.isDraining
            || clientFinished || !exchange.requestBodyDone
        client.output.append(HeaderPolicy.clientResponseHead(
            head, framing: framing, requestMethod: exchange.head.methodKind,
            closeConnection: exchange.closeClientAfterResponse, extraFields: correlationFields(exchange)))
        exchange.responseStarted = true
        switch head.framing {
        case .none:
            responseComplete(exchange)
            return
        case .length(let length):
            exchange.responseDecoder = BodyDecoder(framing: .length(length), limits: configuration.limits)
        case .chunked:
            exchange.responseDecoder = BodyDecoder(framing: .chunked, limits: configuration.limits)
        case .untilClose:
            exchange.responseDecoder = BodyDecoder(framing: .untilClose, limits: configuration.limits)
        }
        pumpResponse(exchange)
    }

    /// Moves response body bytes to the client, re-framing chunks, pausing the upstream
    /// while the client's output is above the high watermark.
    func pumpResponse(_ exchange: Exchange) {
        guard var decoder = exchange.responseDecoder, let upstream = exchange.upstream else { return }
        let input = upstream.input
        let output = client.output
        let chunked = exchange.clientFraming == .chunked
        while !input.isEmpty {
            if output.count >= Self.highWatermark {
                exchange.responseDecoder = decoder
                exchange.waitingForClientDrain = true
                upstream.disableReading()
                client.setWriteLowWatermark(Self.lowWatermark)
                return
            }
            var complete = false
            switch input.withFirstChunk({ decoder.step($0) }) {
            case .data(let count):
                input.move(count, to: output)
                exchange.bytesOut += UInt64(count)
                complete = decoder.isComplete
            case .framing(let count):
                input.drain(count)
            case .chunkStart(let size, let consumed):
                input.drain(consumed)
                if chunked { output.append(HeadWriter.chunkHeader(size: size)) }
            case .chunkEnd(let consumed):
                input.drain(consumed)
                if chunked { output.append(HeadWriter.chunkEnd) }
            case .end(let consumed):
                input.drain(consumed)
                if chunked { output.append(HeadWriter.lastChunk) }
                complete = true
            case .failed(let error):
                exchange.responseDecoder = decoder
                failUpstream(exchange, .malformedResponse(server: exchange.server!.configured, error))
                return
            }
            if complete {
                exchange.responseDecoder = decoder
                responseComplete(exchange)
                return
            }
        }
        exchange.responseDecoder = decoder
        guard exchange.upstreamEnded else { return }
        // The upstream closed and every byte it sent has been passed on.
        if decoder.finish() == nil {
            responseComplete(exchange)
        } else {
            let server = exchange.server!.configured
            failUpstream(exchange, ProxyError(
                kind: .upstreamBodyTruncated, side: .upstream, status: 502,
                message: "upstream \(server) closed the connection in the middle of the response body"))
        }
    }

    private func responseComplete(_ exchange: Exchange) {
        cancelDeadline()
        endAttempt(exchange, error: nil)
        if let upstream = exchange.upstream, let server = exchange.server, let route = exchange.route {
            exchange.upstream = nil
            let reusable = (exchange.response?.reusable ?? false) && exchange.requestBodyDone
                && upstream.input.isEmpty && !exchange.upstreamEnded && !worker.isDraining
            if reusable {
                upstream.delegate = nil
                worker.pools.put(upstream, server: server, group: route.upstream)
            } else {
                upstream.close()
            }
        }
        finishExchange(exchange, closeClient: exchange.closeClientAfterResponse || !exchange.requestBodyDone || clientFinished)
    }

    // MARK: Tunnel

    private func startTunnel(_ exchange: Exchange, _ head: ResponseHead) {
        cancelDeadline()
        exchange.response = head
        exchange.status = 101
        exchange.attempt?.status = 101
        exchange.responseStarted = true
        client.output.append(HeaderPolicy.clientResponseHead(
            head, framing: .none, requestMethod: exchange.head.methodKind, closeConnection: false))
        phase = .tunnelling
        client.setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        exchange.upstream?.setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        // One inactivity deadline for the tunnel: any byte either way restarts it.
        scheduleDeadline(milliseconds: configuration.timeouts.tunnel)
        writeAccessLog(exchange)
        client.enableReading()
        tunnelPump(from: client)
        if let upstream = exchange.upstream { tunnelPump(from: upstream) }
    }

    /// Moves everything `source` received to the other side, pausing `source` while the
    /// other side's output is above the high watermark.
    func tunnelPump(from source: Connection) {
        guard let upstream = exchange?.upstream else { return }
        let destination = source === client ? upstream : client
        if !source.input.isEmpty { scheduleDeadline(milliseconds: configuration.timeouts.tunnel) }
        source.input.moveAll(to: destination.output)
        if destination.output.count >= Self.highWatermark {
            source.disableReading()
            destination.setWriteLowWatermark(Self.lowWatermark)
        }
    }

    func tunnelDidDrain(_ destination: Connection) {
        guard let upstream = exchange?.upstream else { return }
        let source = destination === client ? upstream : client
        destination.setWriteLowWatermark(0)
        source.enableReading()
    }

    /// Either side closed, failed or the tunnel went idle: pass on what is buffered, then
    /// close both gracefully. The spans record `reason`.
    func endTunnel(_ reason: TunnelEnd) {
        guard phase == .tunnelling, let upstream = exchange?.upstream else { return }
        cancelDeadline()
        if exchange?.tunnelEnd == nil { exchange?.tunnelEnd = reason }
        upstream.input.moveAll(to: client.output)
        client.input.moveAll(to: upstream.output)
        exchange?.upstream = nil
        upstream.closeAfterFlush(lingerMilliseconds: 0)
        closeAfterFlush()
    }
}
