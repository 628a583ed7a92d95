import HTTP1
import Libevent
import ProxyCore
import Tracing

/// The upstream side of an exchange: its connection's callbacks as machine events, and
/// the response head read and forwarded.
extension ClientSession {
    func upstream(_ connection: Connection, didReceive event: ConnectionEvent) {
        guard let exchange, connection === exchange.upstream, !exchange.machine.isFinished else {
            connection.close()
            return
        }
        let seen = exchange.responseScanner.bytesScanned > 0 || !connection.input.isEmpty
        switch event {
        case .connected:
            exchange.attempt?.connectedNanoseconds = Self.now()
            run(exchange, exchange.machine.handle(.connected))
            // Bytes read before the connect was reported (a server that speaks first).
            if self.exchange === exchange, exchange.upstream === connection, !connection.input.isEmpty {
                upstreamDidRead(connection)
            }
        case .endOfStream:
            run(exchange, exchange.machine.handle(.upstreamEnded(responseBytesSeen: seen)))
        case .failed(let code):
            run(exchange, exchange.machine.handle(.upstreamFailed(code: code, responseBytesSeen: seen)))
        case .timedOut:
            run(exchange, exchange.machine.handle(.upstreamTimedOut(responseBytesSeen: seen)))
        }
    }

    func upstreamDidRead(_ connection: Connection) {
        guard let exchange, connection === exchange.upstream else {
            connection.close()
            return
        }
        if exchange.machine.isTunnelling {
            tunnelPump(from: connection)
            return
        }
        // Not connected yet (as far as the machine knows): the bytes wait in the input
        // until `.connected` is reported.
        if exchange.machine.isConnecting { return }
        if exchange.attempt != nil, exchange.attempt?.firstByteNanoseconds == nil, !connection.input.isEmpty {
            exchange.attempt?.firstByteNanoseconds = Self.now()
        }
        if exchange.machine.awaitsResponseHead {
            readResponseHead(exchange, connection)
        } else if !exchange.machine.isFinished {
            run(exchange, pumpResponse(exchange))
        }
    }

    func upstreamDidDrain(_ connection: Connection) {
        guard let exchange, connection === exchange.upstream else { return }
        if exchange.machine.isTunnelling {
            tunnelDidDrain(connection)
            return
        }
        guard exchange.waitingForUpstreamDrain else { return }
        exchange.waitingForUpstreamDrain = false
        connection.setWriteLowWatermark(0)
        client.enableReading()
        pumpRequestBody(exchange)
    }

    /// Parses response heads until a final one (interim 1xx heads are dropped), and
    /// tells the machine each one.
    private func readResponseHead(_ exchange: Exchange, _ upstream: Connection) {
        while exchange.machine.awaitsResponseHead, exchange.upstream === upstream, !upstream.input.isEmpty {
            let head: ResponseHead
            switch exchange.responseScanner.scan({ upstream.input.forEachChunk(from: $0, $1) }) {
            case .needMore:
                return
            case .failed(let error):
                run(exchange, exchange.machine.handle(.responseFailed(.malformedResponse(error))))
                return
            case .complete(let leading, let end):
                upstream.input.drain(leading)
                let bytes = upstream.input.remove(end - leading)
                exchange.responseScanner.reset()
                do throws(HTTPParseError) {
                    head = try ResponseHeadParser(limits: configuration.limits).parse(bytes, requestMethod: exchange.head.methodKind)
                } catch {
                    run(exchange, exchange.machine.handle(.responseFailed(.malformedResponse(error))))
                    return
                }
            }
            let framing = HeaderPolicy.clientFraming(for: head, clientVersion: exchange.head.version)
            let event = ExchangeMachine.Event.responseHead(status: head.status, reusable: head.reusable, closeDelimited: framing == .close)
            // Kept only when the machine will take it: a final head, or a 101 asked for;
            // moved in, not copied.
            if head.status == 101 ? exchange.machine.request.wantsUpgrade : !head.isInterim {
                exchange.attempt?.status = head.status
                exchange.response = consume head
            }
            exchange.clientFraming = framing
            run(exchange, exchange.machine.handle(event))
        }
    }

    /// Sends the response head to the client, then as much of the body as is here.
    func forwardResponseHead(_ exchange: Exchange, closeClient: Bool) -> ExchangeMachine.Action {
        // Taken out while it is written and put back after: moved, not copied.
        guard let head = exchange.response.take(), let upstream = exchange.upstream else { preconditionFailure("no response to forward") }
        cancelDeadline()
        upstream.setTimeouts(readMilliseconds: configuration.timeouts.upstreamHeader, writeMilliseconds: nil)
        worker.scratch.removeAll()
        let options = configuration.source.tracing
        let requestIDField = configuration.requestIDField
        HeaderPolicy.writeClientResponseHead(
            head, framing: exchange.clientFraming, requestMethod: exchange.head.methodKind, closeConnection: closeClient,
            replacing: requestIDField, into: &worker.scratch) { writer in
                if let requestIDField { exchange.writeRequestID(requestIDField, into: &writer) }
                if options.traceResponse || options.serverTiming { writeCorrelationFields(exchange, into: &writer) }
            }
        worker.scratch.withUnsafeBytes { client.output.append($0) }
        exchange.responseDecoder = BodyDecoder(for: head.framing, limits: configuration.limits)
        exchange.response = consume head
        if exchange.responseDecoder == nil {
            return exchange.machine.handle(.responseComplete(upstreamIdle: upstream.input.isEmpty))
        }
        return pumpResponse(exchange)
    }
}
