/// One span in a stored trace: its facts and where its `Span` message lies in the
/// trace's bytes.
public struct StoredSpan: Sendable {
    public var facts: SpanFacts
    var offset: Int32
    var length: Int32
    /// Index into the trace's `sources`.
    var source: UInt16

    var range: Range<Int> { Int(offset)..<Int(offset + length) }

    /// What a span costs beside its bytes.
    static let overhead = MemoryLayout<StoredSpan>.stride
}

/// A trace in the store: its spans' bytes back to back, their facts, and who sent them.
/// Touched only under the store's lock. A member of the store's recency list (newest
/// updated first), which eviction walks from the oldest end.
final class StoredTrace {
    let key: TraceKey
    var spans: [StoredSpan] = []
    var bytes: [UInt8] = []
    var sources = SpanSources()
    /// Spans refused because the trace reached the per-trace cap.
    var rejectedSpans = 0
    /// Wall clock of the last span added, nanoseconds since the epoch.
    var lastUpdated: UInt64 = 0
    var estimatedBytes = 160
    /// Worked out when first asked for after a change.
    var cachedSummary: TraceSummary?
    /// Sorted `AttributeText.hash` values of every span's and source's attributes.
    var cachedAttributeIndex: [UInt64]?

    /// Recency list: `newer` holds the next trace strongly, `older` points back.
    var newer: StoredTrace?
    unowned(unsafe) var older: StoredTrace?

    init(key: TraceKey) {
        self.key = key
    }

    /// Adds a span unless one with its id is already kept (an exporter that retried a
    /// request it had in fact delivered). Returns the bytes it costs.
    func add(_ facts: SpanFacts, bytes source: some Collection<UInt8>, from sender: SpanSource) -> Int {
        if spans.contains(where: { $0.facts.spanID == facts.spanID }) { return 0 }
        var cost = source.count + StoredSpan.overhead
        let sourceIndex: Int
        if let existing = sources.firstIndex(where: { $0 === sender }) {
            sourceIndex = existing
        } else {
            sourceIndex = sources.count
            sources.append(sender)
            cost += sender.estimatedBytes
        }
        if spans.isEmpty {
            // A proxy trace is a SERVER span and an attempt or two, about 0.5 KiB each:
            // room for them at once, not three reallocations.
            spans.reserveCapacity(4)
            bytes.reserveCapacity(max(2048, source.count * 2))
        }
        spans.append(StoredSpan(facts: facts, offset: Int32(bytes.count), length: Int32(source.count), source: UInt16(sourceIndex)))
        bytes.append(contentsOf: source)
        estimatedBytes += cost
        cachedSummary = nil
        cachedAttributeIndex = nil
        return cost
    }

    var isFull: Bool { sources.count >= Int(UInt16.max) || bytes.count > Int(Int32.max) / 2 }

    /// The summary, worked out again only after a change.
    func summary() -> TraceSummary {
        if let cachedSummary { return cachedSummary }
        let summary = TraceSummary(self)
        cachedSummary = summary
        return summary
    }

    /// True when some span (or its resource) has attribute `key` with value text `value`.
    func hasAttribute(key: String, value: String) -> Bool {
        let wanted = AttributeText.hash(key: key.utf8, value: value)
        if cachedAttributeIndex == nil { cachedAttributeIndex = buildAttributeIndex() }
        guard Self.contains(cachedAttributeIndex!, wanted) else { return false }
        // The hash matched: check the real text (hashes can collide).
        var found = false
        for span in spans where !found {
            AttributeText.forEach(bytes, in: span.range, field: 9) { spanKey, text in
                if !found, text == value, spanKey.elementsEqual(key.utf8) { found = true }
            }
        }
        for source in sources where !found {
            AttributeText.forEach(source.resource, in: 0..<source.resource.count, field: 1) { resourceKey, text in
                if !found, text == value, resourceKey.elementsEqual(key.utf8) { found = true }
            }
        }
        return found
    }

    private func buildAttributeIndex() -> [UInt64] {
        var hashes: [UInt64] = []
        for span in spans {
            AttributeText.forEach(bytes, in: span.range, field: 9) { hashes.append(AttributeText.hash(key: $0, value: $1)) }
        }
        for source in sources {
            AttributeText.forEach(source.resource, in: 0..<source.resource.count, field: 1) {
                hashes.append(AttributeText.hash(key: $0, value: $1))
            }
        }
        hashes.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(hashes.count)
        for hash in hashes where unique.last != hash { unique.append(hash) }
        return unique
    }

    private static func contains(_ sorted: [UInt64], _ value: UInt64) -> Bool {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == value
    }
}

/// The senders of a trace's spans: almost always one or two, so the first is held
/// inline and a trace of the proxy's own spans allocates no array for it.
struct SpanSources: RandomAccessCollection {
    private var first: SpanSource?
    private var rest: [SpanSource] = []

    var startIndex: Int { 0 }
    var endIndex: Int { first == nil ? 0 : 1 + rest.count }

    subscript(index: Int) -> SpanSource { index == 0 ? first! : rest[index - 1] }

    mutating func append(_ source: SpanSource) {
        if first == nil { first = source } else { rest.append(source) }
    }
}
