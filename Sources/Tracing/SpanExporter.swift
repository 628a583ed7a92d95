/// Where finished spans go. Called on the span pipeline's thread only: with each batch
/// that arrived, and with an empty list on a regular tick (so an exporter can send on
/// its schedule), then `shutdown()` once.
public protocol SpanExporter: Sendable {
    func export(_ spans: [SpanRecord])
    /// Final flush, bounded by a short deadline. Default: nothing to do.
    func shutdown()
    /// Cuts short a wait in progress (a retry's backoff), from another thread, so that
    /// `shutdown()` comes soon. Default: nothing to do.
    func interrupt()
}

extension SpanExporter {
    public func shutdown() {}
    public func interrupt() {}
}
