import Admin
import Foundation
import HTTP1
import Libevent
import LocalServer
import Testing
import Tracing
import W3CTraceContext

/// The admin listener: health, the explorer's page and files, the JSON API.
@Suite struct AdminTests {
    static let traceHex = "0102030405060708090a0b0c0d0e0f10"

    static func store() -> TraceStore {
        let store = TraceStore()
        let trace = TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
        var writer = FactsRecordingWriter(OTLPSpanWriter())
        SpanRecord(traceID: trace, spanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)), parentSpanID: nil, flags: .sampled,
                   kind: .server, name: "GET /api/*", startNanoseconds: 1_000, endNanoseconds: 3_001_000,
                   attributes: [.string("http.route", "/api/*"), .int("http.response.status_code", 502)]).write(to: &writer)
        SpanRecord(traceID: trace, spanID: SpanID(bytes: (2, 2, 2, 2, 2, 2, 2, 2)), parentSpanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)),
                   flags: .sampled, kind: .client, name: "GET /api/*", startNanoseconds: 2_000, endNanoseconds: 2_001_000,
                   status: .error("boom <script>")).write(to: &writer)
        store.add(encoded: writer.inner.spans, facts: writer.facts, source: SpanSource(proxy: TraceResource(attributes: [.string("service.name", "edge")])))
        return store
    }

    static let routes = AdminRoutes(store: store(), info: .init(serviceName: "edge", receiver: "127.0.0.1:4318"))

    static func request(_ target: String, method: String = "GET", accept: String? = nil) throws -> LocalRequest {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: admin\r\n"
        if let accept { text += "Accept: \(accept)\r\n" }
        return LocalRequest(head: try RequestHeadParser().parse(Array((text + "\r\n").utf8)))
    }

    static func json(_ response: LocalResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func healthzAnswersOK() throws {
        let answer = Self.routes.answer(try Self.request("/healthz"))
        #expect(answer.status == 200)
        #expect(answer.body == Array("ok\n".utf8))
    }

    @Test func theExplorerPageIsServedWithAStrictContentSecurityPolicy() throws {
        for target in ["/", "/traces", "/traces/\(Self.traceHex)"] {
            let answer = Self.routes.answer(try Self.request(target, accept: "text/html,application/xhtml+xml"))
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type") == "text/html; charset=utf-8")
            #expect(answer.header("Content-Security-Policy") == "default-src 'self'")
            #expect(String(decoding: answer.body, as: UTF8.self).contains("<script type=\"module\" src=\"/ui/app.js\"></script>"))
        }
        let script = Self.routes.answer(try Self.request("/ui/app.js"))
        #expect(script.status == 200)
        #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
        #expect(Self.routes.answer(try Self.request("/ui/style.css")).header("Content-Type") == "text/css; charset=utf-8")
        #expect(Self.routes.answer(try Self.request("/ui/nothing.js")).status == 404)
    }

    @Test func tracesListsSummariesAndTheStoresState() throws {
        let answer = Self.routes.answer(try Self.request("/traces"))
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type") == "application/json")
        let object = try Self.json(answer)
        let trace = try #require((object["traces"] as? [[String: Any]])?.first)
        #expect(trace["trace_id"] as? String == Self.traceHex)
        #expect(trace["root"] as? String == "GET /api/*")
        #expect(trace["route"] as? String == "/api/*")
        #expect(trace["status"] as? Int == 502)
        #expect(trace["span_count"] as? Int == 2)
        #expect(trace["attempts"] as? Int == 1)
        #expect(trace["error"] as? Bool == true)
        #expect(trace["duration_ms"] as? Double == 3.0)
        #expect(trace["services"] as? [String] == ["edge"])
        #expect(object["receiver"] as? String == "127.0.0.1:4318")
        #expect((object["store"] as? [String: Any])?["max_traces"] as? Int == 2_000)
    }

    @Test func filtersComeFromTheQueryAndBadOnesAreExplained() throws {
        #expect((try Self.json(Self.routes.answer(try Self.request("/traces?status=5xx"))))["matched"] as? Int == 1)
        #expect((try Self.json(Self.routes.answer(try Self.request("/traces?status=2xx"))))["matched"] as? Int == 0)
        let bad = Self.routes.answer(try Self.request("/traces?status=teapot"))
        #expect(bad.status == 400)
        #expect(String(decoding: bad.body, as: UTF8.self).contains("status must be"))
    }

    @Test func oneTraceIsServedAsOTLPJSONWithItsTextEscaped() throws {
        let answer = Self.routes.answer(try Self.request("/traces/0102030405060708090A0B0C0D0E0F10"))
        #expect(answer.status == 200)
        let text = String(decoding: answer.body, as: UTF8.self)
        #expect(!text.contains("<script>"))
        #expect(text.contains("boom \\u003cscript\\u003e"))
        let object = try Self.json(answer)
        let spans = ((object["resourceSpans"] as? [[String: Any]])?.first?["scopeSpans"] as? [[String: Any]])?.first?["spans"] as? [Any]
        #expect(spans?.count == 2)
    }

    @Test func unknownAndMalformedRequestsAreClearErrors() throws {
        #expect(Self.routes.answer(try Self.request("/traces/ffffffffffffffffffffffffffffffff")).status == 404)
        #expect(Self.routes.answer(try Self.request("/traces/xyz")).status == 400)
        let post = Self.routes.answer(try Self.request("/healthz", method: "POST"))
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(Self.routes.answer(try Self.request("/nope")).status == 404)
    }

    @Test func theAdminServerKeepsConnectionsAliveAndServesManyAtOnce() throws {
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: 0)[0]
        let admin = try AdminServer(address: address, store: Self.store())
        admin.start()
        defer { admin.stop() }
        var connections: [TestConnection] = []
        defer { for connection in connections { connection.close() } }
        for _ in 0..<20 { connections.append(TestConnection(fd: try #require(TestSocket.connect(port: admin.boundAddress.port)))) }
        for connection in connections {
            connection.send("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\nGET /traces HTTP/1.1\r\nHost: admin\r\n\r\n")
        }
        for connection in connections {
            let first = connection.reader.read()
            #expect(first?.status == 200)
            #expect(first?.text == "ok\n")
            #expect(connection.reader.read()?.status == 200)
        }
        // Still open: a third request on the first connection.
        connections[0].send("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
        #expect(connections[0].reader.read()?.status == 200)
    }
}
