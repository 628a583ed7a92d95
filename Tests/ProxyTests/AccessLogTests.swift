import Foundation
import Testing

@Suite struct AccessLogTests {
    func logLines(format: String, _ body: (ProxyHarness) -> Void) throws -> [String] {
        let stub = StubUpstream(body: "hello")
        let folder = TemporaryFolder()
        let path = folder.url.appendingPathComponent("access.log").path
        do {
            let proxy = try ProxyHarness("""
                routes:
                  - { name: api, path_prefix: /api, upstream: backend }
                upstreams:
                  backend: { servers: ["127.0.0.1:\(stub.port)"] }
                """, accessLog: path, format: format)
            body(proxy)
        }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    @Test func textLineHasTheRequestStatusSizesRouteAndUpstream() throws {
        let lines = try logLines(format: "text") { proxy in
            _ = proxy.get("/api/x?y=1")
            _ = proxy.get("/missing")
        }
        #expect(lines.count == 2)
        let first = try #require(lines.first)
        #expect(first.contains("\"GET /api/x?y=1 HTTP/1.1\" 200 0 5 "))
        #expect(first.contains("route=api upstream=127.0.0.1:"))
        #expect(first.contains("127.0.0.1:"))
        #expect(first.hasPrefix("20"))
        #expect(lines.last?.contains("\"GET /missing HTTP/1.1\" 404") == true)
        #expect(lines.last?.contains("error=no_route") == true)
    }

    @Test func jsonLineIsOneObjectWithTypedFields() throws {
        let lines = try logLines(format: "json") { proxy in _ = proxy.get("/api/x") }
        let line = try #require(lines.first)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["method"] as? String == "GET")
        #expect(object["target"] as? String == "/api/x")
        #expect(object["status"] as? Int == 200)
        #expect(object["bytes_out"] as? Int == 5)
        #expect(object["route"] as? String == "api")
        #expect(object["duration_ms"] is Double || object["duration_ms"] is Int)
    }
}
