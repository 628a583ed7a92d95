/// Where finished spans go. Called on the span pipeline's thread only: with each batch
/// that arrived, and with an empty list on a regular tick (so an exporter can send on
/// its schedule), then `shutdown()` once.
public protocol SpanExporter: Sendable {
    func export(_ spans: [SpanRecord])
    /// Final flush, bounded by a short deadline. Default: nothing to do.
    func shutdown()
}

extension SpanExporter {
    public func shutdown() {}
}

extension TraceStore: SpanExporter {
    public func export(_ spans: [SpanRecord]) {
        if !spans.isEmpty { add(spans) }
    }
}
