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
        let end = Self.now()
        observe(attempt, of: exchange, error: error, end: end)
        guard exchange.trace.sampled else {
            if configuration.keep.isOn {
                let held = HeldAttempt(
                    attempt: consume attempt, endNanoseconds: end, error: error, bytesIn: exchange.bytesIn,
                    bytesOut: exchange.bytesOut, tunnelEnd: exchange.machine.tunnelEnd)
                if exchange.holdsAttempts {
                    exchange.laterHeldAttempts.append(held)
                } else {
                    exchange.heldAttempt = consume held
                    exchange.holdsAttempts = true
                }
            }
            return
        }
        let (spanID, start, status) = (attempt.spanID, attempt.startNanoseconds, attempt.status ?? 0)
        var span = PendingSpan(
            role: .client(consume attempt), spanID: spanID, parentSpanID: exchange.serverSpanID, startNanoseconds: start,
            endNanoseconds: end, exchange: exchange, status: status, error: error, bytesIn: exchange.bytesIn,
            bytesOut: exchange.bytesOut, peerAttributes: spanPeerAttributes)
        span.tunnelEnd = exchange.machine.tunnelEnd
        worker.record(consume span)
    }

    /// The exchange has ended (or its client is gone): its SERVER span, once, and its
    /// access-log line when `log`, both read from one `ExchangeSummary`.
    func reportEnd(_ exchange: Exchange, log: Bool) {
        let firstReport = !exchange.spansRecorded
        exchange.spansRecorded = true
        // One clock read for the metrics, `tracing.keep` and the access log.
        let elapsed = Timestamp.monotonicNanoseconds() - exchange.startMonotonicNanoseconds
        if firstReport { observeEnd(of: exchange, elapsedNanoseconds: elapsed) }
        var recordSpan = firstReport && exchange.trace.sampled
        var reason: SamplingReason?
        if firstReport, !exchange.trace.sampled, configuration.keep.isOn {
            reason = keepReason(exchange, elapsedNanoseconds: elapsed)
            recordSpan = reason != nil
            keepHeldAttempts(exchange, reason: reason)
        }
        let accessLog = log ? worker.accessLog : nil
        guard recordSpan || accessLog != nil else { return }
        let summary = exchange.summary
        if recordSpan {
            // The response head only when headers are captured from it.
            let captured = configuration.headerCapture == nil ? nil : exchange.response.map(CapturedResponse.init)
            worker.record(serverSpan(summary, response: captured, samplingReason: reason))
        }
        if let accessLog { accessLog.write(accessLogRecord(summary, elapsedNanoseconds: elapsed)) }
    }

    /// Why `tracing.keep` records an unsampled exchange's spans: `error` for a 5xx, an
    /// upstream failure or an answer of the proxy's own (404 without a route, 400, 408
    /// …), not for a client that went away (499); `slow` past `slower_than`; nil to let
    /// it go.
    func keepReason(_ exchange: Exchange, elapsedNanoseconds: Int64) -> SamplingReason? {
        let keep = configuration.keep
        if keep.errors, exchange.machine.status >= 500 || (exchange.machine.failure.map { $0.status != 499 } ?? false) {
            return .error
        }
        if let threshold = keep.slowerThan, elapsedNanoseconds / 1_000_000 >= Int64(threshold) { return .slow }
        return nil
    }

    /// Records the held attempts' CLIENT spans when `reason` says so; otherwise they go
    /// with the exchange.
    private func keepHeldAttempts(_ exchange: Exchange, reason: SamplingReason?) {
        guard let reason, exchange.holdsAttempts, let first = exchange.heldAttempt.take() else { return }
        let later = exchange.laterHeldAttempts
        exchange.laterHeldAttempts = []
        worker.record(clientSpan(first, of: exchange, reason: reason))
        for attempt in later { worker.record(clientSpan(attempt, of: exchange, reason: reason)) }
    }

    /// The CLIENT span of an attempt held for `tracing.keep`.
    private func clientSpan(_ held: HeldAttempt, of exchange: Exchange, reason: SamplingReason) -> PendingSpan {
        let attempt = held.attempt
        var span = PendingSpan(
            role: .client(attempt), spanID: attempt.spanID, parentSpanID: exchange.serverSpanID,
            startNanoseconds: attempt.startNanoseconds, endNanoseconds: held.endNanoseconds, exchange: exchange,
            status: attempt.status ?? 0, error: held.error, bytesIn: held.bytesIn, bytesOut: held.bytesOut,
            peerAttributes: spanPeerAttributes)
        span.tunnelEnd = held.tunnelEnd
        span.samplingReason = reason
        return span
    }

    /// A SERVER span for a request rejected before its head could be parsed (400, 408,
    /// 431 …): a new trace, named `HTTP`. Returns the ids for the access log.
    func recordRejectionSpan(_ error: ProxyError) -> (traceID: String, spanID: String) {
        let trace = worker.decideNewTrace(peerIP: peerIP)
        if trace.passThrough { return ("-", "-") }
        let spanID = worker.ids.spanID()
        // A rejection is a local error: `tracing.keep.errors` records it unsampled too.
        if trace.sampled || configuration.keep.errors {
            worker.record(RejectionSpan(
                traceID: trace.traceID, spanID: spanID, flags: trace.flags, timeNanoseconds: Self.now(), error: error,
                peerAttributes: spanPeerAttributes, samplingReason: trace.sampled ? nil : .error))
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
    private func serverSpan(_ summary: ExchangeSummary, response: CapturedResponse?, samplingReason: SamplingReason?) -> PendingSpan {
        let exchange = summary.exchange
        return PendingSpan(
            role: .server, spanID: exchange.serverSpanID, parentSpanID: exchange.trace.parentSpanID,
            startNanoseconds: UInt64(exchange.startWallNanoseconds), endNanoseconds: Self.now(), exchange: exchange,
            status: summary.status, error: summary.error, bytesIn: summary.bytesIn, bytesOut: summary.bytesOut,
            peerAttributes: spanPeerAttributes, capture: configuration.headerCapture, response: response,
            tunnelEnd: summary.tunnelEnd, samplingReason: samplingReason, requestIDField: configuration.requestIDSpanField)
    }
}

/// The worker's metrics, fed as exchanges and attempts end.
extension ClientSession {
    /// `http.server.request.duration`: from the head's arrival to the end, labelled with
    /// the route's name (never the path), the method, the status and the version.
    func observeEnd(of exchange: Exchange, elapsedNanoseconds: Int64) {
        var status = exchange.machine.status
        if status == 0 { status = exchange.machine.failure?.status ?? 0 }
        worker.metrics.serverDurations.observe(
            MetricKey.withServerStatus(exchange.serverMetricsKey, status), nanoseconds: UInt64(clamping: elapsedNanoseconds))
    }

    /// `http.client.request.duration` and the attempt's outcome.
    func observe(_ attempt: borrowing UpstreamAttempt, of exchange: Exchange, error: ProxyError?, end: UInt64) {
        let failure = error?.failure
        let key = MetricKey.withClient(
            exchange.clientMetricsKey, server: attempt.server.metricsIndex, status: attempt.status ?? 0,
            error: failure.map { MetricKey.error($0.kind) } ?? 0)
        let elapsed = end > attempt.startNanoseconds ? end - attempt.startNanoseconds : 0
        worker.metrics.attempt(
            WorkerMetrics.AttemptOutcome(failure), retry: attempt.number > 1, key: key, nanoseconds: elapsed)
    }
}
