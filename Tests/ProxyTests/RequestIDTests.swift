import Foundation
import Proxy
import Testing
import Tracing

/// `request_id:`: kept from a trusted peer, otherwise the trace id; sent upstream,
/// returned to the client, in the access log and on the SERVER span.
@Suite struct RequestIDTests {
    static let untrusted = "tracing: { trusted_networks: [\"192.0.2.0/24\"] }"

    /// The trace id of the `traceparent` an upstream request carried.
    static func traceID(_ request: StubUpstream.Request) -> String? {
        request.header("traceparent").map { String($0.split(separator: "-")[1]) }
    }

    @Test func withoutOneTheTraceIDIsTheRequestIDBothWays() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, tracing: TracingSetup(settings: TracingSettings(), exporter: nil))
        let response = try #require(proxy.get("/"))
        let request = try #require(stub.requests.first)
        let trace = try #require(Self.traceID(request))
        #expect(request.headers("x-request-id") == ["x-request-id: \(trace)"])
        #expect(response.header("x-request-id") == trace)
    }

    @Test func aTrustedPeersIDIsKept() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = try #require(proxy.get("/", headers: ["Host: a", "X-Request-ID: order-42/abc"]))
        #expect(stub.requests.first?.headers("x-request-id") == ["x-request-id: order-42/abc"])
        #expect(response.header("x-request-id") == "order-42/abc")
    }

    /// Untrusted, repeated, too long or with spaces: replaced, never forwarded.
    @Test(arguments: [
        (untrusted, ["X-Request-Id: from-the-internet"]),
        ("", ["X-Request-Id: one", "X-Request-Id: two"]),
        ("", ["X-Request-Id: " + String(repeating: "a", count: 201)]),
        ("", ["X-Request-Id: has space"]),
    ])
    func anIDNotToBeTrustedIsReplacedByTheTraceID(_ extra: String, _ fields: [String]) throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: extra)
        let response = try #require(proxy.get("/", headers: ["Host: a"] + fields))
        let request = try #require(stub.requests.first)
        let trace = try #require(Self.traceID(request))
        #expect(request.headers("x-request-id") == ["x-request-id: \(trace)"])
        #expect(response.header("x-request-id") == trace)
    }

    @Test func theUpstreamsOwnIDIsReplacedInTheResponse() throws {
        let stub = StubUpstream { _, client in
            client.respond(headers: ["X-Request-Id: upstream-made"], body: "ok")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = try #require(proxy.get("/", headers: ["Host: a", "X-Request-Id: mine"]))
        #expect(response.headers.filter { $0.0.lowercased() == "x-request-id" }.map(\.1) == ["mine"])
    }

    @Test func theProxysOwnAnswersCarryIt() throws {
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path_prefix: /api, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(TestSocket.closedPort())"] }
            """)
        #expect(proxy.get("/elsewhere", headers: ["Host: a", "X-Request-Id: lost-1"])?.header("x-request-id") == "lost-1")
        let failed = try #require(proxy.get("/api", headers: ["Host: a"]))
        #expect(failed.status == 502)
        #expect(failed.header("x-request-id")?.count == 32)
    }

    @Test func aNamedFieldAndOff() throws {
        let stub = StubUpstream(body: "ok")
        let named = try ProxyHarness(upstreamPort: stub.port, extra: "request_id: X-Correlation-ID")
        #expect(named.get("/", headers: ["Host: a", "X-Correlation-Id: c-1"])?.header("x-correlation-id") == "c-1")
        #expect(stub.requests.last?.headers("x-correlation-id") == ["x-correlation-id: c-1"])
        let off = try ProxyHarness(upstreamPort: stub.port, extra: "request_id: off")
        let response = try #require(off.get("/", headers: ["Host: a", "X-Request-Id: untouched one"]))
        #expect(response.header("x-request-id") == nil)
        #expect(stub.requests.last?.headers("x-request-id") == ["X-Request-Id: untouched one"])
    }

    @Test func tracingDisabledStillGivesEachRequestAnID() throws {
        let stub = StubUpstream(body: "ok")
        let disabled = TracingSetup(settings: TracingSettings(destination: .none, disabled: true), exporter: nil)
        let proxy = try ProxyHarness(upstreamPort: stub.port, tracing: disabled)
        let first = try #require(proxy.get("/")?.header("x-request-id"))
        let second = try #require(proxy.get("/")?.header("x-request-id"))
        #expect(first.count == 32 && second.count == 32 && first != second)
        #expect(first != "00000000000000000000000000000000")
    }

    @Test func theServerSpanAndTheAccessLogShowIt() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = ProxyTracingTests.setup()
        let folder = TemporaryFolder()
        let path = folder.url.appendingPathComponent("access.log").path
        do {
            let proxy = try ProxyHarness("""
                routes:
                  - { name: all, path_prefix: /, upstream: backend }
                upstreams:
                  backend: { servers: ["127.0.0.1:\(stub.port)"] }
                """, accessLog: path, tracing: tracing)
            #expect(proxy.get("/", headers: ["Host: a", "X-Request-Id: r-7"])?.status == 200)
            let trace = try #require(stub.requests.first.flatMap(Self.traceID))
            let spans = ProxyTracingTests.spans(recorded, trace: trace, count: 2)
            let server = spans.first { $0.kind == .server }
            #expect(ProxyTracingTests.attribute(server, "http.request.header.x-request-id") == .string("r-7"))
        }
        let log = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        #expect(log.contains(" request_id=r-7 trace_id="))
    }
}
