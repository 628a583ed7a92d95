import Synchronization

/// Every trace the explorer can show: the proxy's own spans and those its receiver took
/// from other services, joined by trace id.
///
/// Bounded three ways (`Limits`): traces, estimated bytes, spans per trace. When a bound
/// is passed, the trace updated least recently goes first (a trace that is still
/// receiving spans stays); spans over the per-trace cap are refused and counted. A trace
/// keeps taking late spans for as long as it is kept.
///
/// Thread-safe: the span pipeline and the receiver add (one lock per batch), the admin
/// thread reads. Summaries and the attribute index are worked out when first asked for
/// after a change, under the lock, so a trace's spans are never read half-added.
public final class TraceStore: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxTraces: Int
        public var maxBytes: Int
        public var maxSpansPerTrace: Int
        /// A trace that got a span within this long is "changing": more may come
        /// (backends export in batches, seconds later). Default 10 s.
        public var settleNanoseconds: UInt64

        public init(maxTraces: Int = 2_000, maxBytes: Int = 64 * 1024 * 1024, maxSpansPerTrace: Int = 5_000, settleNanoseconds: UInt64 = 10_000_000_000) {
            self.maxTraces = maxTraces
            self.maxBytes = maxBytes
            self.maxSpansPerTrace = maxSpansPerTrace
            self.settleNanoseconds = settleNanoseconds
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var traces = 0
        public var spans = 0
        public var bytes = 0
        /// Traces pushed out by the limits.
        public var evictedTraces = 0
        /// Spans refused because their trace was full.
        public var rejectedSpans = 0
        /// Bumped by every change; the explorer's polls send it back.
        public var version: UInt64 = 0
        /// When a span was last added (wall clock, nanoseconds); 0 before the first.
        public var lastUpdated: UInt64 = 0
    }

    private struct State {
        var limits: Limits
        var traces: [TraceKey: StoredTrace] = [:]
        /// The recency list: `oldest` holds the chain (through `newer`).
        var oldest: StoredTrace?
        unowned(unsafe) var newest: StoredTrace?
        var statistics = Statistics()
        /// Sources seen recently, so that many requests from one service share one.
        var sources: Set<SpanSource> = []
    }

    private let state: Mutex<State>
    private let clock: @Sendable () -> UInt64

    /// - Parameter clock: wall clock in nanoseconds since the epoch (tests pass their own).
    public init(limits: Limits = Limits(), clock: @escaping @Sendable () -> UInt64 = { UInt64(Timestamp.wallNanoseconds()) }) {
        state = Mutex(State(limits: limits))
        self.clock = clock
    }

    deinit {
        // Unlink the recency list one trace at a time: letting it go at once would free
        // each trace from inside the previous one's deinit, one stack frame per trace.
        state.withLock { state in
            while let oldest = state.oldest {
                state.oldest = oldest.newer
                oldest.newer = nil
            }
        }
    }

    public var limits: Limits { state.withLock { $0.limits } }
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// New limits (a reload); traces beyond them are evicted now.
    public func setLimits(_ limits: Limits) {
        state.withLock { state in
            state.limits = limits
            Self.evict(&state)
        }
    }

    /// Spans the receiver read. Returns the spans refused here because their trace was
    /// full (the request's other rejections are in `received`).
    ///
    /// A large request is added a slice at a time, the lock taken once per slice, so
    /// that the span pipeline (adding the proxy's spans) never waits long behind it.
    @discardableResult
    public func add(_ received: ReceivedSpans) -> Int {
        let now = clock()
        var refused = 0
        for group in received.groups {
            var start = 0
            while start < group.spans.count {
                let slice = group.spans[start..<min(start + Self.spansPerLock, group.spans.count)]
                refused += state.withLock { state in
                    let source = Self.intern(group.source, &state)
                    var refused = 0
                    for (facts, range) in slice where !Self.add(facts, received.bytes[range], source, now, &state) {
                        refused += 1
                    }
                    Self.finishChange(now, &state)
                    return refused
                }
                start += slice.count
            }
        }
        return refused
    }

    /// Spans added under one taking of the lock.
    static let spansPerLock = 1_024

    /// The proxy's own spans, encoded (`ScopeSpans.spans` fields back to back) with
    /// their facts in the same order.
    public func add(encoded spans: EncodedSpans, facts: [SpanFacts], source: SpanSource) {
        guard !facts.isEmpty else { return }
        let now = clock()
        state.withLock { state in
            var index = 0
            spans.forEachSpanMessage { message in
                if index < facts.count { _ = Self.add(facts[index], message, source, now, &state) }
                index += 1
            }
            Self.finishChange(now, &state)
        }
    }

    /// The summaries matching `query`, newest first, and what the list page needs besides.
    public func list(_ query: TraceQuery) -> TraceListing {
        let now = clock()
        return state.withLock { state in
            let statistics = state.statistics
            // "Unchanged" only when no trace can be changing either: one that stops
            // changing must reach the page even though no span came.
            if let since = query.sinceVersion, since == statistics.version,
                now &- statistics.lastUpdated > state.limits.settleNanoseconds
            {
                return TraceListing(statistics: statistics, limits: state.limits, unchanged: true, nowNanoseconds: now)
            }
            var listing = TraceListing(statistics: statistics, limits: state.limits, unchanged: false, nowNanoseconds: now)
            var services = Set<String>()
            var routes = Set<String>()
            var matched: [TraceSummary] = []
            for trace in state.traces.values {
                let summary = trace.summary()
                services.formUnion(summary.services)
                if let route = summary.route { routes.insert(route) }
                guard query.matches(summary) else { continue }
                if let attribute = query.attribute, !trace.hasAttribute(key: attribute.key, value: attribute.value) { continue }
                matched.append(summary)
            }
            listing.matched = matched.count
            matched.sort { ($0.startNanoseconds, $0.traceID) > ($1.startNanoseconds, $1.traceID) }
            listing.summaries = Array(matched.prefix(query.limit))
            listing.services = services.sorted()
            listing.routes = routes.sorted()
            return listing
        }
    }

    /// One trace, copied out (its arrays are shared until the store changes them).
    public func trace(_ key: TraceKey) -> TraceSnapshot? {
        let now = clock()
        return state.withLock { state in
            guard let trace = state.traces[key] else { return nil }
            return TraceSnapshot(
                summary: trace.summary(), spans: trace.spans, bytes: trace.bytes, sources: Array(trace.sources),
                changing: now &- trace.lastUpdated <= state.limits.settleNanoseconds)
        }
    }

    // MARK: Under the lock

    private static func intern(_ source: SpanSource, _ state: inout State) -> SpanSource {
        if state.sources.count >= 4_096, !state.sources.contains(source) { state.sources.removeAll() }
        return state.sources.insert(source).memberAfterInsert
    }

    /// Adds one span; false when its trace is full.
    private static func add(
        _ facts: SpanFacts, _ bytes: some Collection<UInt8>, _ source: SpanSource, _ now: UInt64, _ state: inout State
    ) -> Bool {
        let trace: StoredTrace
        if let newest = state.newest, newest.key == facts.traceID {
            // The trace the last span went to (a request's spans come together): no
            // lookup, and it is the newest already.
            trace = newest
        } else {
            // Found or made with one lookup.
            let count = state.traces.count
            trace = reference(&state.traces[facts.traceID, default: StoredTrace(key: facts.traceID)])
            if state.traces.count > count {
                state.statistics.traces += 1
                state.statistics.bytes += trace.estimatedBytes
            } else {
                unlink(trace, &state)
            }
            append(trace, &state)
        }
        guard trace.spans.count < state.limits.maxSpansPerTrace, !trace.isFull else {
            trace.rejectedSpans += 1
            trace.cachedSummary = nil
            state.statistics.rejectedSpans += 1
            return false
        }
        let before = trace.spans.count
        state.statistics.bytes += trace.add(facts, bytes: bytes, from: source)
        state.statistics.spans += trace.spans.count - before
        trace.lastUpdated = now
        return true
    }

    private static func reference(_ trace: inout StoredTrace) -> StoredTrace { trace }

    private static func finishChange(_ now: UInt64, _ state: inout State) {
        evict(&state)
        state.statistics.version &+= 1
        state.statistics.lastUpdated = now
    }

    private static func evict(_ state: inout State) {
        while let oldest = state.oldest,
            state.statistics.traces > state.limits.maxTraces || state.statistics.bytes > state.limits.maxBytes
        {
            unlink(oldest, &state)
            state.traces.removeValue(forKey: oldest.key)
            state.statistics.traces -= 1
            state.statistics.spans -= oldest.spans.count
            state.statistics.bytes -= oldest.estimatedBytes
            state.statistics.evictedTraces += 1
        }
    }

    private static func unlink(_ trace: StoredTrace, _ state: inout State) {
        let newer = trace.newer
        if let older = trace.older { older.newer = newer } else if state.oldest === trace { state.oldest = newer }
        if let newer { newer.older = trace.older } else if state.newest === trace { state.newest = trace.older }
        trace.newer = nil
        trace.older = nil
    }

    private static func append(_ trace: StoredTrace, _ state: inout State) {
        trace.older = state.newest
        if let newest = state.newest { newest.newer = trace } else { state.oldest = trace }
        state.newest = trace
    }
}

/// What the list page gets: the matching summaries and the store's state.
public struct TraceListing: Sendable {
    public var statistics: TraceStore.Statistics
    public var limits: TraceStore.Limits
    /// The store is still at the version the caller had, and nothing is changing.
    public var unchanged: Bool
    public var nowNanoseconds: UInt64
    public var matched = 0
    public var summaries: [TraceSummary] = []
    /// Every service and route in the store, for the filters' choices.
    public var services: [String] = []
    public var routes: [String] = []

    public func isChanging(_ summary: TraceSummary) -> Bool {
        nowNanoseconds &- summary.lastUpdatedNanoseconds <= limits.settleNanoseconds
    }
}
