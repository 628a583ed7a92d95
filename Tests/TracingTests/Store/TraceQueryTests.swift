import Testing
@testable import Tracing

/// The explorer's filters as URL query parameters.
@Suite struct TraceQueryTests {
    @Test func readsEveryFilter() throws {
        let query = try TraceQuery.parse("service=backend+flask&route=%2Fapi%2F*&status=5xx&error=1&retry=true&min_ms=1.5&max_ms=20&attr=app.user%3Dalice+b&trace_id=ABCD&limit=50&since_version=7&unknown=x")
        #expect(query.service == "backend flask")
        #expect(query.route == "/api/*")
        #expect(query.statusClass == 5)
        #expect(query.errorOnly && query.retriedOnly)
        #expect(query.minDurationNanoseconds == 1_500_000)
        #expect(query.maxDurationNanoseconds == 20_000_000)
        #expect(query.attribute?.key == "app.user")
        #expect(query.attribute?.value == "alice b")
        #expect(query.traceIDPrefix == "abcd")
        #expect(query.limit == 50)
        #expect(query.sinceVersion == 7)
    }

    @Test func emptyValuesMeanAny() throws {
        #expect(try TraceQuery.parse("service=&status=&error=") == TraceQuery())
    }

    @Test(arguments: ["status=6xx", "error=maybe", "min_ms=-1", "max_ms=soon", "attr=novalue", "attr==x", "trace_id=xyz1", "trace_id=abc", "limit=0", "limit=2001", "min_ms=5&max_ms=1", "since_version=-1"])
    func badValuesAreOneSentenceNamingTheParameter(_ text: String) {
        #expect(throws: TraceQueryError.self) { try TraceQuery.parse(text) }
    }
}
