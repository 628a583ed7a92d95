import Synchronization
import W3CTraceContext

/// Recent traces kept in memory, for the admin listener when no OTLP endpoint is set.
/// Bounded by trace count and by an estimate of bytes; the oldest trace goes first.
/// Thread-safe: workers add batches (one lock per batch, never per span), the admin
/// thread reads.
public final class TraceStore: Sendable {
    public struct Summary: Sendable, Equatable {
        public var traceID: String
        public var rootName: String
        public var startNanoseconds: UInt64
        public var durationNanoseconds: UInt64
        public var spanCount: Int
        public var error: Bool
    }

    private struct State {
        var traces: [String: [SpanRecord]] = [:]
        var order: [String] = []
        var bytes = 0
    }

    public let maxTraces: Int
    public let maxBytes: Int
    /// The resource the kept spans belong to (served with them).
    public let resource: TraceResource
    private let state = Mutex(State())

    public init(resource: TraceResource, maxTraces: Int = 1000, maxBytes: Int = 16 * 1024 * 1024) {
        self.resource = resource
        self.maxTraces = maxTraces
        self.maxBytes = maxBytes
    }

    public func add(_ spans: [SpanRecord]) {
        state.withLock { state in
            for span in spans {
                let key = span.traceID.description
                if state.traces[key] == nil { state.order.append(key) }
                state.traces[key, default: []].append(span)
                state.bytes += Self.estimatedSize(span)
            }
            while state.order.count > maxTraces || (state.bytes > maxBytes && state.order.count > 1) {
                let oldest = state.order.removeFirst()
                for span in state.traces.removeValue(forKey: oldest) ?? [] { state.bytes -= Self.estimatedSize(span) }
            }
        }
    }

    /// The newest traces first.
    public func recent(limit: Int = 100) -> [Summary] {
        state.withLock { state in
            state.order.suffix(limit).reversed().compactMap { key in
                guard let spans = state.traces[key], !spans.isEmpty else { return nil }
                let start = spans.map(\.startNanoseconds).min() ?? 0
                let end = spans.map(\.endNanoseconds).max() ?? start
                // The root is the span whose parent is not in this trace.
                let ids = Set(spans.map { $0.spanID.description })
                let root = spans.first { $0.parentSpanID.map { !ids.contains($0.description) } ?? true } ?? spans[0]
                return Summary(
                    traceID: key, rootName: root.name, startNanoseconds: start, durationNanoseconds: end - start,
                    spanCount: spans.count, error: spans.contains { $0.status != .unset })
            }
        }
    }

    public func spans(traceID: String) -> [SpanRecord]? {
        state.withLock { $0.traces[traceID.lowercased()] }
    }

    static func estimatedSize(_ span: SpanRecord) -> Int {
        var size = 160 + span.name.utf8.count
        for attribute in span.attributes {
            size += 32 + attribute.key.utf8.count
            if case .string(let text) = attribute.value { size += text.utf8.count }
        }
        return size + span.events.count * 64
    }
}
