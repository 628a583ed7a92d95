import HTTP1
import ProxyCore
import Libevent
import Tracing
import W3CTraceContext

/// Spans: one SERVER span per request received (also for the ones the proxy answers
/// itself), one CLIENT span per upstream attempt, child of it. The request path fills a
/// `PendingSpan` (ids, times, references), which the worker describes straight into its
/// batch of encoded spans (`SpanBatch`). Nothing at all is recorded for an unsampled request: it only needs the
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

    /// Ends the open CLIENT span, if any. Read from the attempt and the exchange's
    /// request as they stand: the exchange itself may go on (a retry).
    func endAttempt(_ exchange: Exchange, error: ProxyError?) {
        guard let attempt = exchange.attempt.take() else { return }
        guard exchange.trace.sampled else { return }
        let (spanID, start, status) = (attempt.spanID, attempt.startNanoseconds, attempt.status ?? 0)
        var span = PendingSpan(
            role: .client(consume attempt), spanID: spanID, parentSpanID: exchange.serverSpanID, startNanoseconds: start,
            endNanoseconds: Self.now(), exchange: exchange, status: status, error: error, bytesIn: exchange.bytesIn,
            bytesOut: exchange.bytesOut, peerAttributes: spanPeerAttributes)
        span.tunnelEnd = exchange.machine.tunnelEnd
        worker.record(consume span)
    }

    /// The exchange has ended (or its client is gone): its SERVER span, once, and its
    /// access-log line when `log`, both read from one `ExchangeSummary`.
    func reportEnd(_ exchange: Exchange, log: Bool) {
        let recordSpan = !exchange.spansRecorded && exchange.trace.sampled
        exchange.spansRecorded = true
        let accessLog = log ? worker.accessLog : nil
        guard recordSpan || accessLog != nil else { return }
        let summary = exchange.summary
        if recordSpan {
            // The response head only when headers are captured from it.
            let captured = configuration.headerCapture == nil ? nil : exchange.response.map(CapturedResponse.init)
            worker.record(serverSpan(summary, response: captured))
        }
        if let accessLog { accessLog.write(accessLogRecord(summary)) }
    }

    /// A SERVER span for a request rejected before its head could be parsed (400, 408,
    /// 431 …): a new trace, named `HTTP`. Returns the ids for the access log.
    func recordRejectionSpan(_ error: ProxyError) -> (traceID: String, spanID: String) {
        let trace = worker.decideTrace(nil, peerIP: peerIP)
        if trace.passThrough { return ("-", "-") }
        let spanID = worker.ids.spanID()
        if trace.sampled {
            worker.record(RejectionSpan(
                traceID: trace.traceID, spanID: spanID, flags: trace.flags, timeNanoseconds: Self.now(), error: error,
                peerAttributes: spanPeerAttributes))
        }
        return (trace.traceID.description, spanID.description)
    }

    /// Optional response fields (`tracing:` in the configuration): W3C `traceresponse`
    /// with the SERVER span's context, and `Server-Timing` with the time spent waiting on
    /// the upstream for the response head and the time spent in the proxy before it.
    func writeCorrelationFields(_ exchange: Exchange, into writer: inout HeadWriter) {
        let options = configuration.source.tracing
        if options.traceResponse, !exchange.trace.passThrough {
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

    /// The SERVER span of an exchange that has ended, with the headers to capture.
    private func serverSpan(_ summary: ExchangeSummary, response: CapturedResponse?) -> PendingSpan {
        let exchange = summary.exchange
        var span = PendingSpan(
            role: .server, spanID: exchange.serverSpanID, parentSpanID: exchange.trace.parentSpanID,
            startNanoseconds: UInt64(exchange.startWallNanoseconds), endNanoseconds: Self.now(), exchange: exchange,
            status: summary.status, error: summary.error, bytesIn: summary.bytesIn, bytesOut: summary.bytesOut,
            peerAttributes: spanPeerAttributes, capture: configuration.headerCapture, response: response)
        span.tunnelEnd = summary.tunnelEnd
        return span
    }
}
