import Synchronization
import Testing
import W3CTraceContext
@testable import Tracing

/// A wall clock the test moves.
final class ManualClock: Sendable {
    private let now = Mutex<UInt64>(1_000_000_000_000)

    func advance(seconds: Double) { now.withLock { $0 += UInt64(seconds * 1e9) } }
    var read: @Sendable () -> UInt64 { { [self] in now.withLock { $0 } } }
}

/// The trace store behind the explorer: joining, late spans, limits, filters.
@Suite struct TraceStoreTests {
    typealias Builder = OTLPRequestBuilder
    static let proxy = SpanSource(proxy: TraceResource(attributes: [.string("service.name", "edge-proxy")]))

    static func traceID(_ byte: UInt8) -> TraceID {
        TraceID(bytes: (byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte, byte))
    }

    static func spanID(_ byte: UInt8) -> SpanID { SpanID(bytes: (byte, byte, byte, byte, byte, byte, byte, byte)) }

    /// The proxy's SERVER span and one CLIENT attempt per entry of `attempts` (its
    /// status), as the span pipeline hands them over.
    static func addProxyTrace(_ store: TraceStore, _ trace: UInt8, route: String = "/api/*", status: Int = 200, attempts: [Int] = [200], start: UInt64 = 1_000, callerParent: UInt8? = nil) {
        var writer = FactsRecordingWriter(OTLPSpanWriter())
        var server = SpanRecord(
            traceID: traceID(trace), spanID: spanID(trace), parentSpanID: callerParent.map(spanID), flags: .sampled, kind: .server,
            name: "GET \(route)", startNanoseconds: start, endNanoseconds: start + 5_000_000,
            attributes: [.string("http.request.method", "GET"), .string("http.route", route), .int("http.response.status_code", status)])
        if status >= 500 { server.status = .error("responded \(status)") }
        server.write(to: &writer)
        for (index, attemptStatus) in attempts.enumerated() {
            var attributes: [SpanAttribute] = [.int("http.response.status_code", attemptStatus)]
            if index > 0 { attributes.append(.int("http.request.resend_count", index)) }
            SpanRecord(
                traceID: traceID(trace), spanID: spanID(trace &+ 100 &+ UInt8(index)), parentSpanID: spanID(trace), flags: .sampled,
                kind: .client, name: "GET \(route)", startNanoseconds: start + 1_000, endNanoseconds: start + 4_000_000,
                attributes: attributes
            ).write(to: &writer)
        }
        store.add(encoded: writer.inner.spans, facts: writer.facts, source: proxy)
    }

    /// A backend's SERVER span under the proxy's first attempt, and an inner span.
    static func addBackendSpans(_ store: TraceStore, _ trace: UInt8, service: String = "backend", extra: [(String, SpanAttribute.Value)] = []) {
        var server = Builder.Span(traceID: Builder.traceID(trace), spanID: Builder.spanID(trace &+ 50), parentSpanID: Builder.spanID(trace &+ 100))
        server.kind = 2
        server.attributes = extra
        let inner = Builder.Span(traceID: Builder.traceID(trace), spanID: Builder.spanID(trace &+ 60), parentSpanID: Builder.spanID(trace &+ 50))
        store.add(try! ReceivedSpans.read(protobuf: Builder.request(service: service, [server, inner])))
    }

    static func list(_ store: TraceStore, _ query: String = "") throws -> TraceListing {
        store.list(try TraceQuery.parse(query))
    }

    @Test func proxySpansAndReceivedSpansJoinByTraceID() throws {
        let store = TraceStore()
        Self.addProxyTrace(store, 1)
        Self.addBackendSpans(store, 1)
        let summary = try #require(try Self.list(store).summaries.first)
        #expect(summary.spanCount == 4)
        #expect(summary.services == ["edge-proxy", "backend"])
        #expect(summary.name == "GET /api/*")
        #expect(summary.method == "GET")
        #expect(summary.route == "/api/*")
        #expect(summary.status == 200)
        #expect(summary.attempts == 1)
        #expect(summary.missingParents == 0)
        let snapshot = try #require(store.trace(TraceKey(Self.traceID(1))))
        #expect(snapshot.records().map(\.service) == ["edge-proxy", "edge-proxy", "backend", "backend"])
    }

    @Test func theCallersSpanIsAMissingParentAndTheProxySpanStillNamesTheTrace() throws {
        let store = TraceStore()
        Self.addBackendSpans(store, 1)
        Self.addProxyTrace(store, 1, callerParent: 99)
        let summary = try #require(try Self.list(store).summaries.first)
        #expect(summary.name == "GET /api/*")
        #expect(summary.missingParents == 1)
    }

    @Test func lateSpansJoinAKeptTraceThatStaysChangingUntilQuiet() throws {
        let clock = ManualClock()
        let store = TraceStore(clock: clock.read)
        Self.addProxyTrace(store, 1)
        var listing = try Self.list(store)
        #expect(listing.isChanging(listing.summaries[0]))
        clock.advance(seconds: 11)
        listing = try Self.list(store)
        #expect(!listing.isChanging(listing.summaries[0]))
        Self.addBackendSpans(store, 1)
        listing = try Self.list(store)
        #expect(listing.isChanging(listing.summaries[0]))
        #expect(listing.summaries[0].spanCount == 4)
        #expect(store.trace(TraceKey(Self.traceID(1)))?.changing == true)
    }

    @Test func theLeastRecentlyUpdatedTraceIsEvictedFirst() throws {
        let store = TraceStore(limits: .init(maxTraces: 2))
        Self.addProxyTrace(store, 1)
        Self.addProxyTrace(store, 2)
        Self.addBackendSpans(store, 1)  // trace 1 is updated: trace 2 is now the oldest
        Self.addProxyTrace(store, 3)
        let kept = Set(try Self.list(store).summaries.map(\.traceID))
        #expect(kept == [TraceKey(Self.traceID(1)), TraceKey(Self.traceID(3))])
        #expect(store.statistics.evictedTraces == 1)
        #expect(store.statistics.traces == 2)
    }

    @Test func memoryStaysWithinTheByteBudget() throws {
        let store = TraceStore(limits: .init(maxBytes: 64 * 1024))
        for trace in 1...200 { Self.addProxyTrace(store, UInt8(trace)) }
        let statistics = store.statistics
        #expect(statistics.bytes <= 64 * 1024)
        #expect(statistics.evictedTraces > 0)
        #expect(statistics.traces == (try Self.list(store, "limit=2000")).summaries.count)
    }

    @Test func newLimitsApplyAtOnce() throws {
        let store = TraceStore()
        for trace in 1...10 { Self.addProxyTrace(store, UInt8(trace)) }
        store.setLimits(.init(maxTraces: 3))
        #expect(store.statistics.traces == 3)
        #expect(store.statistics.evictedTraces == 7)
    }

    @Test func spansOverThePerTraceCapAreRefusedAndCounted() throws {
        let store = TraceStore(limits: .init(maxSpansPerTrace: 3))
        let spans = (1...5).map { Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(UInt8($0))) }
        #expect(store.add(try ReceivedSpans.read(protobuf: Builder.request(spans))) == 2)
        let summary = try #require(try Self.list(store).summaries.first)
        #expect(summary.spanCount == 3)
        #expect(summary.rejectedSpans == 2)
        #expect(store.statistics.rejectedSpans == 2)
    }

    @Test func aSpanSentTwiceIsKeptOnce() throws {
        let store = TraceStore()
        Self.addBackendSpans(store, 1)
        Self.addBackendSpans(store, 1)
        #expect(try Self.list(store).summaries.first?.spanCount == 2)
    }

    @Test func listsNewestFirstUpToTheLimit() throws {
        let store = TraceStore()
        for trace in 1...5 { Self.addProxyTrace(store, UInt8(trace), start: UInt64(trace) * 1_000_000_000) }
        let listing = try Self.list(store, "limit=3")
        #expect(listing.matched == 5)
        #expect(listing.summaries.map(\.traceID) == [5, 4, 3].map { TraceKey(Self.traceID($0)) })
    }

    @Test func everyFilterNarrowsTheList() throws {
        let store = TraceStore()
        Self.addProxyTrace(store, 1, route: "/api/*", status: 200)
        Self.addBackendSpans(store, 1, extra: [("app.user", .string("alice")), ("app.count", .int(3))])
        Self.addProxyTrace(store, 2, route: "/", status: 404)
        Self.addProxyTrace(store, 3, route: "/api/*", status: 502, attempts: [502, 502])
        func ids(_ query: String) throws -> Set<UInt8> {
            Set(try Self.list(store, query).summaries.map { UInt8(truncatingIfNeeded: $0.traceID.low) })
        }
        #expect(try ids("") == [1, 2, 3])
        #expect(try ids("service=backend") == [1])
        #expect(try ids("route=%2Fapi%2F*") == [1, 3])
        #expect(try ids("status=4xx") == [2])
        #expect(try ids("status=5xx") == [3])
        #expect(try ids("error=1") == [3])
        #expect(try ids("retry=1") == [3])
        #expect(try ids("attr=app.user%3Dalice") == [1])
        #expect(try ids("attr=app.count=3") == [1])
        #expect(try ids("attr=app.user=bob") == [])
        #expect(try ids("attr=http.response.status_code%3D404") == [2])
        #expect(try ids("trace_id=0202") == [2])
        #expect(try ids("min_ms=4.9&max_ms=5.1") == [1, 2, 3])
        #expect(try ids("min_ms=6") == [])
        #expect(try ids("service=backend&status=5xx") == [])
        let listing = try Self.list(store)
        #expect(listing.services == ["backend", "edge-proxy"])
        #expect(listing.routes == ["/", "/api/*"])
    }

    @Test func pollsHearUnchangedOnlyWhenNothingCanChange() throws {
        let clock = ManualClock()
        let store = TraceStore(clock: clock.read)
        Self.addProxyTrace(store, 1)
        let version = store.statistics.version
        // The trace is still changing: a poll gets the list, so that it sees it settle.
        #expect(try Self.list(store, "since_version=\(version)").unchanged == false)
        clock.advance(seconds: 11)
        #expect(try Self.list(store, "since_version=\(version)").unchanged == true)
        #expect(try Self.list(store, "since_version=\(version - 1)").unchanged == false)
    }

    @Test func aTraceIsServedAsOTLPJSONWithOneResourceSpansPerSender() throws {
        let store = TraceStore()
        Self.addProxyTrace(store, 1)
        Self.addBackendSpans(store, 1)
        let snapshot = try #require(store.trace(TraceKey(Self.traceID(1))))
        let document = try JSONParser.parse(snapshot.otlpJSON())
        guard case .array(let resourceSpans)? = document["resourceSpans"] else {
            Issue.record("no resourceSpans")
            return
        }
        #expect(resourceSpans.count == 2)
        guard case .array(let scopeSpans)? = resourceSpans[1]["scopeSpans"], case .array(let spans)? = scopeSpans.first?["spans"] else {
            Issue.record("no spans")
            return
        }
        #expect(spans.first?["traceId"] == .string("01010101010101010101010101010101"))
        #expect(spans.first?["parentSpanId"] == .string("6565656565656565"))
        #expect(spans.first?["kind"] == .number("2"))
    }

    @Test func scopesOfOneServiceShareItsResourceSpans() throws {
        let store = TraceStore()
        var builder = Builder()
        builder.groups = [
            .init(service: "api", scope: "flask", spans: [Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(1))]),
            .init(service: "api", scope: "app", spans: [Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(2))]),
            .init(service: "db", spans: [Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(3))]),
        ]
        store.add(try ReceivedSpans.read(protobuf: builder.bytes))
        let document = try JSONParser.parse(try #require(store.trace(TraceKey(Self.traceID(1)))).otlpJSON())
        guard case .array(let resourceSpans)? = document["resourceSpans"], case .array(let scopes)? = resourceSpans.first?["scopeSpans"] else {
            Issue.record("no resourceSpans")
            return
        }
        #expect(resourceSpans.count == 2)
        #expect(scopes.count == 2)
        #expect(scopes.map { $0["scope"]?["name"] } == [.string("flask"), .string("app")])
    }
}
