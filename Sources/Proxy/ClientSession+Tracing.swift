import HTTP1
import ProxyCore
import Libevent
import Tracing
import W3CTraceContext

/// Spans: one SERVER span per request received (also for the ones the proxy answers
/// itself), one CLIENT span per upstream attempt, child of it. The request path only
/// fills a `PendingSpan` (ids, times, references); the span pipeline's thread builds the
/// attributes. Nothing at all is recorded for an unsampled request: it only needs the
/// ids that its upstream `traceparent` carries.
extension ClientSession {
    static func now() -> UInt64 { UInt64(Timestamp.wallNanoseconds()) }

    /// Starts a CLIENT span for an attempt on `server`; returns its span id (the parent
    /// the upstream's `traceparent` names).
    func beginAttempt(_ exchange: Exchange, server: UpstreamServer, reused: Bool) -> SpanID {
        let attempt = UpstreamAttempt(
            spanID: worker.ids.spanID(), server: server, number: exchange.machine.attempts, startNanoseconds: Self.now(),
            reused: reused)
        exchange.attempt = attempt
        return attempt.spanID
    }

    /// Ends the open CLIENT span, if any.
    func endAttempt(_ exchange: Exchange, error: ProxyError?) {
        guard let attempt = exchange.attempt else { return }
        exchange.attempt = nil
        guard exchange.trace.sampled else { return }
        let details = PendingSpan.ClientDetails(
            server: attempt.server,
            upstreamTarget: exchange.route.map { HeaderPolicy.upstreamTarget(exchange.head, route: $0) } ?? [], resendCount: attempt.number - 1,
            reused: attempt.reused, connectedNanoseconds: attempt.connectedNanoseconds,
            firstByteNanoseconds: attempt.firstByteNanoseconds)
        var span = pendingSpan(
            exchange.summary, role: .client(details), spanID: attempt.spanID, parent: exchange.serverSpanID,
            start: attempt.startNanoseconds, error: error)
        span.status = attempt.status ?? 0
        worker.record(span)
    }

    /// Records the SERVER span, once, however the exchange ends.
    func recordServerSpan(_ exchange: Exchange) {
        guard !exchange.spansRecorded else { return }
        exchange.spansRecorded = true
        guard exchange.trace.sampled else { return }
        let summary = exchange.summary
        worker.record(pendingSpan(
            summary, role: .server, spanID: summary.serverSpanID, parent: summary.trace.parentSpanID,
            start: UInt64(summary.startWallNanoseconds), error: summary.error))
    }

    /// A SERVER span for a request rejected before its head could be parsed (400, 408,
    /// 431 …): a new trace, named `HTTP`. Returns the ids for the access log.
    func recordRejectionSpan(_ error: ProxyError) -> (traceID: String, spanID: String) {
        let trace = worker.decideTrace(nil, peerIP: peerIP)
        let spanID = worker.ids.spanID()
        if trace.sampled {
            let now = Self.now()
            worker.record(PendingSpan(
                role: .rejection, traceID: trace.traceID, spanID: spanID, parentSpanID: nil, traceState: nil,
                flags: trace.flags, startNanoseconds: now, endNanoseconds: now, head: nil, routeTemplate: nil,
                status: error.status, error: error, bytesIn: 0, bytesOut: 0, peer: spanPeer))
        }
        return (trace.traceID.description, spanID.description)
    }

    /// Optional response fields (`tracing:` in the configuration): W3C `traceresponse`
    /// with the SERVER span's context, and `Server-Timing` with the time spent waiting on
    /// the upstream for the response head and the time spent in the proxy before it.
    func writeCorrelationFields(_ exchange: Exchange, into writer: inout HeadWriter) {
        let options = configuration.source.tracing
        if options.traceResponse {
            writer.append("traceresponse: ")
            writer.append(exchange.trace.traceparent(spanID: exchange.serverSpanID))
            writer.appendCRLF()
        }
        if options.serverTiming, let attempt = exchange.attempt {
            let now = Self.now()
            let upstream = Double(now - attempt.startNanoseconds) / 1_000_000
            let proxy = Double(attempt.startNanoseconds &- UInt64(exchange.startWallNanoseconds)) / 1_000_000
            writer.append("Server-Timing: upstream;dur=\(Self.milliseconds(upstream)), proxy;dur=\(Self.milliseconds(proxy))\r\n")
        }
    }

    static func milliseconds(_ value: Double) -> String {
        let thousandths = Int((max(value, 0) * 1000).rounded())
        let fraction = thousandths % 1000
        return "\(thousandths / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }

    /// A span of the exchange; header capture only on the SERVER span.
    private func pendingSpan(
        _ summary: ExchangeSummary, role: PendingSpan.Role, spanID: SpanID, parent: SpanID?, start: UInt64, error: ProxyError?
    ) -> PendingSpan {
        var capture: HeaderCapture?
        if case .server = role { capture = configuration.headerCapture }
        var span = PendingSpan(
            role: role, traceID: summary.trace.traceID, spanID: spanID, parentSpanID: parent,
            traceState: summary.trace.traceState, flags: summary.trace.flags, startNanoseconds: start,
            endNanoseconds: Self.now(), head: summary.head, routeTemplate: summary.route?.template,
            status: summary.status, error: error, bytesIn: summary.bytesIn, bytesOut: summary.bytesOut,
            peer: spanPeer, capture: capture, response: capture == nil ? nil : summary.response)
        span.tunnelEnd = summary.tunnelEnd
        return span
    }
}
