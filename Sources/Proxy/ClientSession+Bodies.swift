import HTTP1
import Libevent
import ProxyCore

/// Moving bodies: request bodies up, response bodies down, tunnel bytes both ways, each
/// re-framed where needed and paused while the other side's output is above the high
/// watermark (libevent's le-proxy pump). How a body ends goes to the exchange machine.
extension ClientSession {
    /// Moves request body bytes from the client to the upstream, re-framing chunks.
    func pumpRequestBody(_ exchange: Exchange) {
        guard var decoder = exchange.requestDecoder, !exchange.machine.requestBodyDone, let upstream = exchange.upstream else { return }
        let input = client.input
        let output = upstream.output
        let cap = configuration.limits.maxBodyBytes
        var ending: ExchangeMachine.Event?
        while ending == nil, !input.isEmpty {
            if output.count >= Self.highWatermark {
                exchange.waitingForUpstreamDrain = true
                client.disableReading()
                upstream.setWriteLowWatermark(Self.lowWatermark)
                break
            }
            switch input.withFirstChunk({ decoder.step($0) }) {
            case .data(let count):
                input.move(count, to: output)
                exchange.bytesIn += UInt64(count)
                if cap > 0, exchange.bytesIn > cap {
                    ending = .requestBodyFailed(.malformedRequest(.bodyTooLarge))
                } else if decoder.isComplete {
                    ending = .requestBodyComplete
                }
            case .framing(let count):
                input.drain(count)
            case .chunkStart(let size, let consumed):
                input.drain(consumed)
                output.append(HeadWriter.chunkHeader(size: size))
            case .chunkEnd(let consumed):
                input.drain(consumed)
                output.append(HeadWriter.chunkEnd)
            case .end(let consumed):
                input.drain(consumed)
                if exchange.head.framing == .chunked { output.append(HeadWriter.lastChunk) }
                ending = .requestBodyComplete
            case .failed(let error):
                ending = .requestBodyFailed(.malformedRequest(error))
            }
        }
        exchange.requestDecoder = decoder
        if let ending { run(exchange, exchange.machine.handle(ending)) }
    }

    /// Moves response body bytes to the client, re-framing chunks, pausing the upstream
    /// while the client's output is above the high watermark. Returns the machine's
    /// answer when the body ended (complete, invalid, or cut by the upstream's close).
    func pumpResponse(_ exchange: Exchange) -> ExchangeMachine.Action {
        guard var decoder = exchange.responseDecoder, let upstream = exchange.upstream else { return .none }
        defer { exchange.responseDecoder = decoder }
        let input = upstream.input
        let output = client.output
        let chunked = exchange.clientFraming == .chunked
        while !input.isEmpty {
            if output.count >= Self.highWatermark {
                exchange.waitingForClientDrain = true
                upstream.disableReading()
                client.setWriteLowWatermark(Self.lowWatermark)
                return .none
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
                return exchange.machine.handle(.responseFailed(.malformedResponse(error)))
            }
            if complete { return exchange.machine.handle(.responseComplete(upstreamIdle: input.isEmpty)) }
        }
        guard exchange.machine.upstreamEnded else { return .none }
        // The upstream closed and every byte it sent has been passed on.
        if decoder.finish() == nil { return exchange.machine.handle(.responseComplete(upstreamIdle: true)) }
        return exchange.machine.handle(.responseFailed(.upstreamBodyTruncated))
    }

    // MARK: Tunnel

    func startTunnel(_ exchange: Exchange) {
        guard let head = exchange.response else { preconditionFailure("a tunnel without its 101") }
        cancelDeadline()
        worker.scratch.removeAll()
        HeaderPolicy.writeClientResponseHead(
            head, framing: .none, requestMethod: exchange.head.methodKind, closeConnection: false, into: &worker.scratch)
        worker.scratch.withUnsafeBytes { client.output.append($0) }
        perform(connection.handle(.tunnelStarted))
        client.setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        exchange.upstream?.setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        // One inactivity deadline for the tunnel: any byte either way restarts it.
        scheduleDeadline(milliseconds: configuration.timeouts.tunnel)
        // The log line now (the tunnel may last hours); the SERVER span when it ends.
        if let accessLog = worker.accessLog { accessLog.write(accessLogRecord(exchange.summary)) }
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

    /// Either side closed or failed, or the tunnel went idle: pass on what is buffered,
    /// then close both gracefully. The spans record why (`machine.tunnelEnd`).
    func endTunnel(_ exchange: Exchange) {
        guard let upstream = exchange.upstream else { return closeAfterFlush() }
        cancelDeadline()
        upstream.input.moveAll(to: client.output)
        client.input.moveAll(to: upstream.output)
        exchange.upstream = nil
        upstream.closeAfterFlush(lingerMilliseconds: 0)
        closeAfterFlush()
    }
}
