/// A trace in one line: what the explorer's list shows and filters on.
public struct TraceSummary: Sendable, Equatable {
    public var traceID: TraceKey
    /// The entry span's name (`GET /api/*` for a request through the proxy).
    public var name: String
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var spanCount: Int
    /// Some span has error status or an `exception` event.
    public var error: Bool
    /// From the entry span: `http.request.method`, `http.route`, the response status.
    public var method: String?
    public var route: String?
    public var status: Int?
    /// Every `service.name` in the trace, the entry span's first, then by name.
    public var services: [String]
    /// The proxy's upstream attempts (its CLIENT spans), and whether one was a retry.
    public var attempts: Int
    public var retried: Bool
    /// Distinct parent ids that spans point to but the store does not have.
    public var missingParents: Int
    /// Spans refused because the trace reached the per-trace cap.
    public var rejectedSpans: Int
    /// When a span was last added (wall clock, nanoseconds).
    public var lastUpdatedNanoseconds: UInt64

    public var durationNanoseconds: UInt64 { endNanoseconds - startNanoseconds }

    /// The entry span is the proxy's SERVER span when the trace has one that is a root
    /// here (its parent, if any, is the caller's and was never sent); otherwise the
    /// earliest span without a parent in the trace; otherwise the earliest span.
    init(_ trace: StoredTrace) {
        let spans = trace.spans
        let ids = Set(spans.map(\.facts.spanID))
        var entry: StoredSpan?
        var entryRank = Int.max
        var start = UInt64.max
        var end: UInt64 = 0
        var missing = Set<UInt64>()
        var error = false
        var attempts = 0
        var retried = false
        for span in spans {
            let facts = span.facts
            start = min(start, facts.startNanoseconds)
            end = max(end, facts.endNanoseconds)
            if facts.isError { error = true }
            let isRoot = facts.parentSpanID == 0 || !ids.contains(facts.parentSpanID)
            if facts.parentSpanID != 0, !ids.contains(facts.parentSpanID) { missing.insert(facts.parentSpanID) }
            let fromProxy = trace.sources[Int(span.source)].isProxy
            if fromProxy, facts.kind == SpanFacts.client {
                attempts += 1
                if facts.resendCount > 0 { retried = true }
            }
            let rank = isRoot ? (fromProxy && facts.kind == SpanFacts.server ? 0 : 1) : 2
            if rank < entryRank || (rank == entryRank && facts.startNanoseconds < entry!.facts.startNanoseconds) {
                entry = span
                entryRank = rank
            }
        }
        traceID = trace.key
        startNanoseconds = spans.isEmpty ? 0 : start
        endNanoseconds = max(end, startNanoseconds)
        spanCount = spans.count
        self.error = error
        self.attempts = attempts
        self.retried = retried
        missingParents = missing.count
        rejectedSpans = trace.rejectedSpans
        lastUpdatedNanoseconds = trace.lastUpdated
        var entryService: String?
        if let entry {
            let range = entry.range
            name = String(decoding: SpanFacts.string(trace.bytes, in: range, field: 5), as: UTF8.self)
            var method: String?
            var route: String?
            AttributeText.forEach(trace.bytes, in: range, field: 9) { key, text in
                if key.elementsEqual("http.request.method".utf8) { method = text }
                if key.elementsEqual("http.route".utf8) { route = text }
            }
            self.method = method
            self.route = route
            status = entry.facts.httpStatus == 0 ? nil : Int(entry.facts.httpStatus)
            entryService = trace.sources[Int(entry.source)].serviceName
        } else {
            name = ""
        }
        let others = Set(trace.sources.map(\.serviceName)).subtracting(entryService.map { [$0] } ?? []).sorted()
        services = (entryService.map { [$0] } ?? []) + others
    }
}
