import HTTP1
import Testing

@testable import Proxy

/// The target a CLIENT span's `url.full` shows is the one sent upstream: taken as a piece
/// of the received head where it can be, written out otherwise, the same either way.
@Suite struct UpstreamTargetTests {
    static func route(_ path: String, prefix: Bool, strip: Bool) -> CompiledRoute {
        CompiledRoute(
            name: "r", host: .any, path: Array(path.utf8), isPrefix: prefix, stripPrefix: strip,
            upstream: UpstreamGroup(name: "g", servers: [], unresolved: ["backend:80"], maxIdle: 1, idleTimeoutMilliseconds: 1000))
    }

    @Test(arguments: [
        ("/", "/", false, "/"),
        ("/api/items?page=2", "/api", false, "/api/items?page=2"),
        ("/api/items?page=2", "/api", true, "/items?page=2"),
        ("/api/items?page=2", "/api/", true, "/items?page=2"),
        ("/api", "/api", true, "/"),
        ("/api?x=1", "/api", true, "/?x=1"),
        ("http://shop.example/api/a?b", "/api", true, "/a?b"),
        ("*", "/", false, "*"),
    ])
    func theTargetSentUpstreamIsWhatTheSpanShows(target: String, routePath: String, strip: Bool, expected: String) throws {
        let method = target == "*" ? "OPTIONS" : "GET"
        let head = try RequestHeadParser().parse(Array("\(method) \(target) HTTP/1.1\r\nHost: shop.example\r\n\r\n".utf8))
        let route = Self.route(routePath, prefix: true, strip: strip)
        let written = HeaderPolicy.upstreamTarget(head, route: route)
        #expect(String(decoding: written, as: UTF8.self) == expected)
        if let range = HeaderPolicy.upstreamTargetRange(head, route: route) {
            #expect(Array(head.bytes[range]) == written)
        }
    }
}
