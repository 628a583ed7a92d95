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
        /// Every host asked for, in order; waited on as lookups happen.
        let asked = Watched<[String]>([])

        var lookups: Int { asked.current.count }

        /// How many times `host` was asked for.
        func lookups(of host: String) -> Int { asked.current.count(where: { $0 == host }) }

        var lookup: UpstreamResolver.Lookup {
            { [self] host, _ in
                defer { asked.update { $0.append(host) } }
                guard host == "backend.test", let port = port.withLock({ $0 }) else { return nil }
                return try? SocketAddress.resolve(host: "127.0.0.1", port: port, numericOnly: true)
            }
        }
    }

    static func proxy(_ dns: FakeDNS, interval: String, extraUpstreams: String = "") throws -> ProxyHarness {
        try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["http://backend.test:8000"], resolve_interval: \(interval) }
            \(extraUpstreams)
            """, lookup: dns.lookup)
    }

    /// An upstream no route uses, looked up every 100 ms: its lookups are the resolver's
    /// own clock, to see what else it did (or did not) look up meanwhile.
    static let clockUpstream = "  clock: { servers: [\"clock.test:8000\"], resolve_interval: 100ms }"

    /// Repeats GET / until the body is `body`, for at most 5 s. Polled: the resolver works
    /// in the background, and the worker takes its new addresses on a loop turn of its own,
    /// which nothing outside can wait on.
    static func eventuallyAnswers(_ proxy: ProxyHarness, _ body: String) -> Bool {
        waitUntil { proxy.get("/")?.text == body }
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
        let before = dns.lookups
        #expect(dns.asked.wait { $0.count >= before + 3 }, "fewer than 3 failed lookups within 5 s")
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
            \(Self.clockUpstream)
            """, lookup: dns.lookup)
        #expect(proxy.get("/")?.text == "ok")
        // Three rounds of the resolver, each due together with the literal's interval.
        #expect(dns.asked.wait { $0.count(where: { $0 == "clock.test" }) >= 3 }, "the resolver did not run three rounds within 5 s")
        #expect(dns.asked.current.allSatisfy { $0 == "clock.test" })
    }

    @Test func withNoIntervalAnUnresolvedNameIsRetriedCalmly() throws {
        // resolve_interval 0: names are not looked up again, except one still unresolved,
        // every few seconds, not in a loop: not on every turn of the resolver.
        let dns = FakeDNS()
        let proxy = try Self.proxy(dns, interval: "0", extraUpstreams: Self.clockUpstream)
        #expect(proxy.get("/")?.status == 502)
        #expect(dns.asked.wait { $0.count(where: { $0 == "clock.test" }) >= 3 }, "the resolver did not run three rounds within 5 s")
        #expect(dns.lookups(of: "backend.test") <= 2)
    }
}
