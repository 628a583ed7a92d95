import Admin
import Foundation
import Libevent
import Testing
import Tracing
import W3CTraceContext

@Suite struct AdminTests {
    static func store() -> TraceStore {
        let store = TraceStore(resource: TraceResource(attributes: [.string("service.name", "edge")]))
        let trace = TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
        store.add([
            SpanRecord(traceID: trace, spanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)), parentSpanID: nil, flags: .sampled,
                       kind: .server, name: "GET /api/*", startNanoseconds: 1_000, endNanoseconds: 3_001_000),
            SpanRecord(traceID: trace, spanID: SpanID(bytes: (2, 2, 2, 2, 2, 2, 2, 2)), parentSpanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)),
                       flags: .sampled, kind: .client, name: "GET /api/*", startNanoseconds: 2_000, endNanoseconds: 2_001_000,
                       status: .error("boom")),
        ])
        return store
    }

    @Test func healthzAnswersOK() {
        let answer = AdminRoutes.answer(method: "GET", path: "/healthz", store: nil)
        #expect(answer.status == 200)
    }

    @Test func tracesListsRecentTracesWithTheirRoot() throws {
        let answer = AdminRoutes.answer(method: "GET", path: "/traces", store: Self.store())
        #expect(answer.status == 200)
        let object = try #require(JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        let trace = try #require((object["traces"] as? [[String: Any]])?.first)
        #expect(trace["trace_id"] as? String == "0102030405060708090a0b0c0d0e0f10")
        #expect(trace["root"] as? String == "GET /api/*")
        #expect(trace["span_count"] as? Int == 2)
        #expect(trace["error"] as? Bool == true)
        #expect(trace["duration_ms"] as? Double == 3.0)
    }

    @Test func oneTraceIsServedAsOTLPJSON() throws {
        let answer = AdminRoutes.answer(method: "GET", path: "/traces/0102030405060708090A0B0C0D0E0F10", store: Self.store())
        #expect(answer.status == 200)
        let object = try #require(JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        let spans = ((object["resourceSpans"] as? [[String: Any]])?.first?["scopeSpans"] as? [[String: Any]])?.first?["spans"] as? [Any]
        #expect(spans?.count == 2)
    }

    @Test func unknownAndMalformedTraceIDsAreClearErrors() {
        #expect(AdminRoutes.answer(method: "GET", path: "/traces/ffffffffffffffffffffffffffffffff", store: Self.store()).status == 404)
        #expect(AdminRoutes.answer(method: "GET", path: "/traces/xyz", store: Self.store()).status == 400)
        #expect(AdminRoutes.answer(method: "POST", path: "/healthz", store: nil).status == 405)
        #expect(AdminRoutes.answer(method: "GET", path: "/nope", store: nil).status == 404)
    }

    @Test func adminServerAnswersOverASocket() throws {
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: 0)[0]
        let admin = try AdminServer(address: address, store: Self.store())
        admin.start()
        defer { admin.stop() }
        let connection = TestConnection(fd: try #require(TestSocket.connect(port: admin.boundAddress.port)))
        defer { connection.close() }
        connection.send("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
        let response = connection.reader.read()
        #expect(response?.status == 200)
        #expect(response?.text == "ok\n")
    }
}
