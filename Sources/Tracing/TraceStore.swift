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

    private struct Entry {
        var spans: [SpanRecord] = []
        var bytes = 0
    }

    private struct State {
        var traces: [TraceID: Entry] = [:]
        /// Arrival order of traces; `head` is the oldest still kept (a queue without
        /// shifting the array on every eviction).
        var order: [TraceID] = []
        var head = 0
        var bytes = 0

        var count: Int { order.count - head }
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
                let size = Self.estimatedSize(span)
                if state.traces[span.traceID] == nil { state.order.append(span.traceID) }
                state.traces[span.traceID, default: Entry()].spans.append(span)
                state.traces[span.traceID]!.bytes += size
                state.bytes += size
            }
            while state.count > maxTraces || (state.bytes > maxBytes && state.count > 1) {
                let oldest = state.order[state.head]
                state.head += 1
                state.bytes -= state.traces.removeValue(forKey: oldest)?.bytes ?? 0
            }
            if state.head > 4096, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// The newest traces first.
    public func recent(limit: Int = 100) -> [Summary] {
        state.withLock { state in
            state.order[state.head...].suffix(limit).reversed().compactMap { traceID in
                guard let spans = state.traces[traceID]?.spans, !spans.isEmpty else { return nil }
                let start = spans.map(\.startNanoseconds).min() ?? 0
                let end = spans.map(\.endNanoseconds).max() ?? start
                // The root is the span whose parent is not in this trace.
                let ids = Set(spans.map { $0.spanID })
                let root = spans.first { $0.parentSpanID.map { !ids.contains($0) } ?? true } ?? spans[0]
                return Summary(
                    traceID: traceID.description, rootName: root.name, startNanoseconds: start,
                    durationNanoseconds: end - start, spanCount: spans.count,
                    error: spans.contains { $0.status != .unset })
            }
        }
    }

    public func spans(traceID: String) -> [SpanRecord]? {
        guard let id = Self.parseTraceID(traceID) else { return nil }
        return state.withLock { $0.traces[id]?.spans }
    }

    static func parseTraceID(_ text: String) -> TraceID? {
        let hex = Array(text.lowercased().utf8)
        guard hex.count == 32 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 {
            guard let high = nibble(hex[2 * index]), let low = nibble(hex[2 * index + 1]) else { return nil }
            bytes[index] = high << 4 | low
        }
        return TraceID(bytes: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
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
