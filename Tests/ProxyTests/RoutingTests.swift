import Foundation
import Testing

@Suite struct RoutingTests {
    @Test func firstMatchingRouteWinsAndPrefixIsStripped() throws {
        let api = StubUpstream(body: "api")
        let web = StubUpstream(body: "web")
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path_prefix: /api, strip_prefix: true, upstream: api }
              - { name: web, path_prefix: /, upstream: web }
            upstreams:
              api: { servers: ["127.0.0.1:\(api.port)"] }
              web: { servers: ["127.0.0.1:\(web.port)"] }
            """)
        #expect(proxy.get("/api/activities/home?x=1")?.text == "api")
        #expect(api.requests.last?.target == "/activities/home?x=1")
        #expect(proxy.get("/api")?.text == "api")
        #expect(api.requests.last?.target == "/")
        #expect(proxy.get("/apiary")?.text == "web")
        #expect(web.requests.last?.target == "/apiary")
        #expect(proxy.get("/")?.text == "web")
    }

    @Test func hostRoutesMatchExactAndWildcardNames() throws {
        let exact = StubUpstream(body: "exact")
        let wildcard = StubUpstream(body: "wildcard")
        let proxy = try ProxyHarness("""
            routes:
              - { name: exact, host: api.example.com, path_prefix: /, upstream: exact }
              - { name: wild, host: "*.example.com", path_prefix: /, upstream: wildcard }
            upstreams:
              exact: { servers: ["127.0.0.1:\(exact.port)"] }
              wildcard: { servers: ["127.0.0.1:\(wildcard.port)"] }
            """)
        #expect(proxy.get("/", headers: ["Host: API.example.com:8080"])?.text == "exact")
        #expect(proxy.get("/", headers: ["Host: www.example.com"])?.text == "wildcard")
        #expect(proxy.get("/", headers: ["Host: example.com"])?.status == 404)
    }

    @Test func exactPathRouteDoesNotMatchLongerPaths() throws {
        let stub = StubUpstream(body: "health")
        let proxy = try ProxyHarness("""
            routes:
              - { name: health, path: /health, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """)
        #expect(proxy.get("/health?full=1")?.text == "health")
        #expect(proxy.get("/health/x")?.status == 404)
    }

    @Test func unmatchedRequestGets404WithAPlainTextReason() throws {
        let stub = StubUpstream(body: "x")
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path_prefix: /api, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """)
        let response = proxy.get("/nothing")
        #expect(response?.status == 404)
        #expect(response?.header("content-type")?.hasPrefix("text/plain") == true)
        #expect(response?.text.contains("no route") == true)
        #expect(stub.requests.isEmpty)
    }

    @Test func roundRobinSpreadsRequestsOverServers() throws {
        let first = StubUpstream(body: "one")
        let second = StubUpstream(body: "two")
        let proxy = try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(first.port)", "127.0.0.1:\(second.port)"] }
            """)
        let bodies = (0..<4).compactMap { _ in proxy.get("/")?.text }
        #expect(bodies.sorted() == ["one", "one", "two", "two"])
    }
}
