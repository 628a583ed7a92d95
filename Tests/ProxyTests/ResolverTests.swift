import Foundation
import Libevent
import Proxy
import Synchronization
import Testing

/// Upstream names that move (a recreated container), with a resolver the test controls:
/// `backend.test` resolves to whichever stub the test says, or not at all.
@Suite struct ResolverTests {
    final class FakeDNS: Sendable {
        /// The port `backend.test` resolves to (on 127.0.0.1), nil: it does not resolve.
        let port = Mutex<Int?>(nil)
        let lookups = Atomic<Int>(0)

        var lookup: UpstreamResolver.Lookup {
            { [self] host, _ in
                lookups.add(1, ordering: .relaxed)
                guard host == "backend.test", let port = port.withLock({ $0 }) else { return nil }
                return try? SocketAddress.resolve(host: "127.0.0.1", port: port, numericOnly: true)
            }
        }
    }

    static func proxy(_ dns: FakeDNS, interval: String) throws -> ProxyHarness {
        try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["http://backend.test:8000"], resolve_interval: \(interval) }
            """, lookup: dns.lookup)
    }

    /// Repeats GET / until the body is `body` (the resolver works in the background).
    static func eventuallyAnswers(_ proxy: ProxyHarness, _ body: String) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if proxy.get("/")?.text == body { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func aNameThatDoesNotResolveYetIsAnswered502NamingItUntilItDoes() throws {
        let dns = FakeDNS()
        let stub = StubUpstream(body: "a")
        let proxy = try Self.proxy(dns, interval: "100ms")
        let response = proxy.get("/")
        #expect(response?.status == 502)
        #expect(response?.text.contains("'backend.test:8000' does not resolve") == true)
        dns.port.withLock { $0 = stub.port }
        #expect(Self.eventuallyAnswers(proxy, "a"))
    }

    @Test func aMovedUpstreamIsFollowedAndTheLastGoodAddressKeptWhenLookupsFail() throws {
        let dns = FakeDNS()
        let first = StubUpstream(body: "first")
        let second = StubUpstream(body: "second")
        dns.port.withLock { $0 = first.port }
        let proxy = try Self.proxy(dns, interval: "100ms")
        #expect(Self.eventuallyAnswers(proxy, "first"))
        // The container is recreated with a new address.
        dns.port.withLock { $0 = second.port }
        #expect(Self.eventuallyAnswers(proxy, "second"))
        // The resolver stops answering: the last good address stays in use.
        dns.port.withLock { $0 = nil }
        let before = dns.lookups.load(ordering: .relaxed)
        let deadline = Date().addingTimeInterval(5)
        while dns.lookups.load(ordering: .relaxed) < before + 3, Date() < deadline { usleep(20_000) }
        #expect(dns.lookups.load(ordering: .relaxed) >= before + 3)
        #expect(proxy.get("/")?.text == "second")
    }

    @Test func aConnectFailureTriggersALookupAtOnce() throws {
        let dns = FakeDNS()
        var first: StubUpstream? = StubUpstream(body: "first")
        let second = StubUpstream(body: "second")
        dns.port.withLock { $0 = first!.port }
        // An hour between lookups: only the failure can make the proxy look again.
        let proxy = try Self.proxy(dns, interval: "1h")
        #expect(Self.eventuallyAnswers(proxy, "first"))
        dns.port.withLock { $0 = second.port }
        first?.stop()
        first = nil
        #expect(Self.eventuallyAnswers(proxy, "second"))
    }

    @Test func literalAddressesAreNeverLookedUp() throws {
        let dns = FakeDNS()
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"], resolve_interval: 100ms }
            """, lookup: dns.lookup)
        #expect(proxy.get("/")?.text == "ok")
        usleep(300_000)
        #expect(dns.lookups.load(ordering: .relaxed) == 0)
    }

    @Test func withNoIntervalAnUnresolvedNameIsRetriedCalmly() throws {
        // resolve_interval 0: names are not looked up again, except one still unresolved,
        // every few seconds, not in a loop.
        let dns = FakeDNS()
        let proxy = try Self.proxy(dns, interval: "0")
        #expect(proxy.get("/")?.status == 502)
        usleep(300_000)
        #expect(dns.lookups.load(ordering: .relaxed) <= 2)
    }
}
