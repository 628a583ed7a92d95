import Proxy
import Receiver
import Synchronization
import Tracing

/// What `/readyz` and the process's own metrics read: readiness, reloads, and the
/// counters of the span pipeline, the receiver and the store, gathered at scrape time.
final class ProcessStatus: Sendable {
    private struct State {
        var started = false
        var draining = false
        var reloads = 0
        var failedReloads = 0
    }

    private let state = Mutex(State())

    func didStart() { state.withLock { $0.started = true } }
    func didBeginDraining() { state.withLock { $0.draining = true } }
    func didReload(ok: Bool) { state.withLock { if ok { $0.reloads += 1 } else { $0.failedReloads += 1 } } }

    /// nil when ready: every listener is up and the proxy is not draining.
    var notReady: String? {
        state.withLock { state in
            if state.draining { return "draining" }
            return state.started ? nil : "starting"
        }
    }

    /// The exposition: the proxy's families, then the process's own.
    func exposition(
        server: ProxyServer, tracing: TracingSetup, receiver: OTLPReceiver?, store: TraceStore?, openMetrics: Bool
    ) -> (contentType: String, text: String) {
        var text = PrometheusText(openMetrics: openMetrics)
        server.metrics.write(to: &text)
        let (reloads, failed) = state.withLock { ($0.reloads, $0.failedReloads) }
        text.counter("hoptrace_reloads", help: "Configuration reloads, by result.",
                     [([("result", "ok")], Double(reloads)), ([("result", "failed")], Double(failed))])
        writeSpans(tracing.statistics, to: &text)
        if let receiver {
            let statistics = receiver.statistics
            text.counter("hoptrace_receiver_spans_accepted", help: "Spans the OTLP receiver accepted.",
                         [([], Double(statistics.acceptedSpans))])
            text.counter(
                "hoptrace_receiver_spans_rejected", help: "Spans the OTLP receiver refused, by reason.",
                SpanRejection.allCases.map { ([("reason", "\($0)")], Double(statistics.rejectedSpans[$0] ?? 0)) })
        }
        if let store {
            let statistics = store.statistics
            text.gauge("hoptrace_store_traces", help: "Traces kept for the explorer.", [([], Double(statistics.traces))])
            text.gauge("hoptrace_store_bytes", help: "Bytes of spans kept for the explorer.", [([], Double(statistics.bytes))])
            text.counter("hoptrace_store_evicted_traces", help: "Traces the store let go to stay within its limits.",
                         [([], Double(statistics.evictedTraces))])
        }
        text.gauge("hoptrace_build_info", help: "The running hoptrace's version.", [([("version", TracingScope.version)], 1)])
        text.finish()
        return (text.contentType, text.text)
    }

    /// The proxy's own spans: recorded, handed on, waiting, exported, dropped by reason,
    /// and the exports to the collector.
    private func writeSpans(_ spans: SpanStatistics, to text: inout PrometheusText) {
        text.counter("hoptrace_spans_recorded", help: "Spans the proxy recorded (its SERVER and CLIENT spans).",
                     [([], Double(spans.recorded))])
        text.counter("hoptrace_spans_handed_on", help: "Spans the span pipeline handed to the exporter and the store.",
                     [([], Double(spans.handedOn))])
        text.gauge("hoptrace_span_queue_spans", help: "Spans waiting: in the span queue, or taken for export and not yet delivered.",
                   [([], Double(spans.waiting))])
        // Zeros without an OTLP exporter: the same series whatever the configuration.
        let export = spans.export ?? OTLPHTTPExporter.Counters()
        text.counter("hoptrace_spans_dropped", help: "Spans lost before the collector took them, by reason.", [
            ([("reason", "span_queue_full")], Double(spans.droppedQueueFull)),
            ([("reason", "export_queue_full")], Double(export.droppedQueueFull)),
            ([("reason", "export_failed")], Double(export.droppedFailedExports)),
            ([("reason", "rejected_by_collector")], Double(export.droppedRejected)),
        ])
        text.counter("hoptrace_spans_exported", help: "Spans the collector accepted (the proxy's, and received ones sent on).",
                     [([], Double(export.exportedSpans))])
        text.counter("hoptrace_span_export_requests", help: "Requests sent to the collector, retries included.",
                     [([], Double(export.exports))])
        text.counter("hoptrace_span_exports_failed", help: "Exports given up: refused, or no success within the export timeout.",
                     [([], Double(export.failedExports))])
    }
}
