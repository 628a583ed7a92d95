import HTTP1
import Libevent
import ProxyCore
import Tracing

/// Carrying out an exchange machine's actions: attempts, answers, the end.
extension ClientSession {
    /// `head` moves into the exchange (a head copied is a dozen fields and three references).
    func startExchange(_ head: consuming RequestHead) {
        cancelDeadline()
        configuration = worker.configuration
        let route = configuration.routing.match(head)
        let trace = worker.decideTrace(head, route: route, peerIP: peerIP)
        let traceIDHex = trace.passThrough ? HexID() : HexID(trace.traceID)
        var requestID = RequestID.none
        if let field = configuration.requestIDField {
            requestID = RequestID.decide(
                head, field: field, trusted: configuration.trustedNetworks.contains(peerIP.bytes),
                fallback: trace.passThrough ? HexID(worker.ids.traceID()) : traceIDHex)
        }
        let exchange = Exchange(
            head: head, route: route, limits: configuration.limits, trace: trace, serverSpanID: worker.ids.spanID())
        exchange.requestID = requestID
        exchange.traceIDHex = traceIDHex
        let method = MetricKey.method(exchange.head.methodKind)
        exchange.serverMetricsKey = MetricKey.server(
            route: route?.metricsIndex ?? 0, method: method, status: 0, version: exchange.head.version)
        exchange.clientMetricsKey = MetricKey.client(
            group: route?.upstream.metricsIndex ?? 0, server: 0, method: method, status: 0, error: 0)
        self.exchange = exchange
        let server = route.flatMap { worker.pools.nextServer(of: $0.upstream) }
        let action = exchange.machine.start(
            routeFound: route != nil, serverAvailable: server != nil, clientGone: client.peerHasClosed)
        if case .connect = action {
            exchange.server = server
            // A body must keep coming (`idle`); a complete request waits on the upstream alone.
            client.setTimeouts(
                readMilliseconds: exchange.head.framing == .none ? nil : configuration.timeouts.idle,
                writeMilliseconds: configuration.timeouts.idle)
        }
        run(exchange, action)
        if self.exchange === exchange, exchange.upstream != nil, !exchange.machine.requestBodyDone {
            pumpRequestBody(exchange)
        }
    }

    /// Carries out `action` and every action that follows from what came of it.
    func run(_ exchange: Exchange, _ action: ExchangeMachine.Action) {
        var next = action
        while true {
            if case .none = next { return }
            next = perform(next, exchange)
        }
    }

    /// Carries out one action; returns the machine's answer to what came of it.
    private func perform(_ action: ExchangeMachine.Action, _ exchange: Exchange) -> ExchangeMachine.Action {
        switch action {
        case .none:
            return .none
        case .connect(let pooled, let sendContinue):
            if sendContinue { client.output.append("HTTP/1.1 100 Continue\r\n\r\n") }
            return startAttempt(exchange, server: exchange.server!, pooled: pooled, carrying: nil)
        case .retry(let failure, let carryQueued):
            let error = exchange.error(failure)
            if failure.isConnectFailure { worker.resolver?.refreshSoon() }
            cancelDeadline()
            endAttempt(exchange, error: error)
            let failed = exchange.upstream
            exchange.upstream = nil
            guard let route = exchange.route, let next = worker.pools.nextServer(of: route.upstream) else {
                failed?.close()
                return exchange.machine.handle(.noServer)
            }
            if !carryQueued { failed?.close() }
            return startAttempt(exchange, server: next, pooled: false, carrying: carryQueued ? failed : nil)
        case .startDeadline(let deadline):
            switch deadline {
            case .connect: scheduleDeadline(milliseconds: configuration.timeouts.connect)
            case .responseHead: scheduleDeadline(milliseconds: configuration.timeouts.upstreamHeader)
            }
            return .none
        case .cancelDeadline:
            cancelDeadline()
            return .none
        case .requestBodyRead:
            client.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
            return .none
        case .forwardResponseHead(let closeClient):
            return forwardResponseHead(exchange, closeClient: closeClient || worker.isDraining)
        case .passOnRemainingResponse:
            return pumpResponse(exchange)
        case .startTunnel:
            startTunnel(exchange)
            return .none
        case .finish(let reuseUpstream, let closeClient):
            cancelDeadline()
            endAttempt(exchange, error: nil)
            if let upstream = exchange.upstream, let server = exchange.server, let route = exchange.route {
                exchange.upstream = nil
                if reuseUpstream, !worker.isDraining {
                    upstream.delegate = nil
                    worker.pools.put(upstream, server: server, group: route.upstream)
                } else {
                    upstream.close()
                }
            }
            finishExchange(exchange, closeClient: closeClient)
            return .none
        case .fail(let failure, let answerClient, let closeClient):
            let error = exchange.error(failure)
            if failure.isConnectFailure { worker.resolver?.refreshSoon() }
            cancelDeadline()
            endAttempt(exchange, error: error)
            exchange.upstream?.close()
            exchange.upstream = nil
            if answerClient {
                let field = configuration.requestIDField
                worker.metrics.localAnswers[error.status, default: 0] &+= 1
                LocalResponse.write(
                    status: error.status, message: error.message, close: closeClient || worker.isDraining, to: client.output
                ) { writer in
                    if let field { exchange.writeRequestID(field, into: &writer) }
                }
            }
            finishExchange(exchange, closeClient: closeClient)
            return .none
        case .abort(let failure):
            endAttempt(exchange, error: exchange.error(failure))
            reportEnd(exchange, log: true)
            close()
            return .none
        case .endTunnel:
            endTunnel(exchange)
            return .none
        }
    }

    /// Starts an attempt on `server`: a pooled connection when allowed and idle, else a
    /// new one. `carrying` is a connection that failed to connect: nothing of it was
    /// sent, so its queued output (head and body so far) moves over.
    private func startAttempt(
        _ exchange: Exchange, server: UpstreamServer, pooled: Bool, carrying: Connection?
    ) -> ExchangeMachine.Action {
        exchange.server = server
        var connection = pooled ? worker.pools.take(server) : nil
        let reused = connection != nil
        if connection == nil {
            do throws(SystemError) {
                connection = try worker.pools.connect(server)
            } catch {
                carrying?.close()
                exchange.attempt = UpstreamAttempt(
                    spanID: worker.ids.spanID(), server: server, number: exchange.machine.attempts,
                    startNanoseconds: ClientSession.now())
                return exchange.machine.handle(.connectFailed(.connect(code: error.code)))
            }
        }
        guard let connection else { preconditionFailure("no upstream connection") }
        connection.delegate = self
        exchange.upstream = connection
        // An upstream that takes no byte of the request for `idle` has stalled.
        connection.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
        connection.setWriteLowWatermark(exchange.waitingForUpstreamDrain ? Self.lowWatermark : 0)
        connection.enableReading()
        // Each attempt sends its own CLIENT span's traceparent. A carried-over body follows
        // the new head; the old head (the failed attempt's trace fields) is dropped.
        let spanID = beginAttempt(exchange, server: server, reused: reused)
        guard let route = exchange.route else { preconditionFailure("an attempt without a route") }
        worker.scratch.removeAll()
        let passThrough = exchange.trace.passThrough
        let requestIDField = configuration.requestIDField
        HeaderPolicy.writeUpstreamRequestHead(
            exchange.head, route: route, peerHost: spanPeer.host, keepTraceFields: passThrough,
            keepBaggage: passThrough || !worker.propagatesBaggage, requestIDField: requestIDField, into: &worker.scratch)
        if let requestIDField { exchange.writeRequestID(requestIDField, into: &worker.scratch) }
        HeaderPolicy.writeTraceFields(
            exchange.trace, traceIDHex: exchange.traceIDHex, clientSpanID: spanID, propagators: worker.propagators,
            into: &worker.scratch)
        worker.scratch.withUnsafeBytes { connection.output.append($0) }
        if let carrying {
            carrying.output.drain(exchange.sentHeadLength)
            carrying.output.moveAll(to: connection.output)
            carrying.close()
        }
        exchange.sentHeadLength = worker.scratch.count
        return exchange.machine.handle(reused ? .connectionReused : .connecting)
    }

    /// The exchange has ended: its spans and log line, then the connection machine
    /// decides what the client connection does next.
    func finishExchange(_ exchange: Exchange, closeClient: Bool) {
        endAttempt(exchange, error: exchange.machine.failure.map(exchange.error))
        reportEnd(exchange, log: true)
        self.exchange = nil
        let close = closeClient || !exchange.head.keepAlive || worker.isDraining
        perform(connection.handle(.exchangeFinished(closeClient: close, bytesPending: !client.input.isEmpty)))
    }

    /// Answers without a parsed request (malformed head, head timeout), then closes.
    func respondWithoutExchange(_ error: ProxyError) {
        cancelDeadline()
        worker.metrics.localAnswers[error.status, default: 0] &+= 1
        LocalResponse.write(status: error.status, message: error.message, close: true, to: client.output)
        let spanIDs = recordRejectionSpan(error)
        if let log = worker.accessLog {
            let now = Timestamp.wallNanoseconds()
            log.write(AccessLog.Record(
                startWallNanoseconds: now, client: peerText, method: "-", target: "-", version: "1.1",
                status: error.status, bytesIn: 0, bytesOut: 0, durationMicroseconds: 0, route: nil,
                upstream: nil, error: error.kind.rawValue, traceID: spanIDs.traceID, spanID: spanIDs.spanID))
        }
        closeAfterFlush()
    }

    /// The access-log line of an exchange.
    /// `elapsedNanoseconds`: the exchange's duration when the caller has read the clock.
    func accessLogRecord(_ summary: ExchangeSummary, elapsedNanoseconds: Int64? = nil) -> AccessLog.Record {
        let exchange = summary.exchange
        let head = exchange.head
        return AccessLog.Record(
            startWallNanoseconds: exchange.startWallNanoseconds,
            client: peerText,
            method: head.methodString,
            target: head.targetString,
            version: head.version.description,
            status: summary.status,
            bytesIn: summary.bytesIn,
            bytesOut: summary.bytesOut,
            durationMicroseconds: (elapsedNanoseconds ?? Timestamp.monotonicNanoseconds() - exchange.startMonotonicNanoseconds) / 1000,
            route: exchange.route?.name,
            upstream: summary.server?.configured,
            error: summary.error?.kind.rawValue,
            requestID: exchange.requestIDText,
            traceID: exchange.trace.passThrough ? "-" : exchange.trace.traceID.description,
            spanID: exchange.trace.passThrough ? "-" : exchange.serverSpanID.description)
    }
}
