import Foundation
import Proxy
import Testing
import Tracing
import W3CTraceContext

/// Sampling decided per route (`tracing: off`, `tracing: { ratio }`), and `tracing.keep`
/// recording the proxy's spans of unsampled requests that failed or were slow.
@Suite struct SamplingPolicyTests {
    static let trusted = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    static func routes(_ port: Int, health: String, extra: String = "") -> String {
        """
        routes:
          - { name: health, path: /healthz, upstream: backend, tracing: \(health) }
          - { name: all, path_prefix: /, upstream: backend }
        upstreams:
          backend: { servers: ["127.0.0.1:\(port)"] }
        \(extra)
        """
    }

    /// The flags of the `traceparent` the upstream received for each request, in order.
    static func flags(_ stub: StubUpstream) -> [String] {
        stub.requests.map { String($0.header("traceparent")?.split(separator: "-").last ?? "none") }
    }

    @Test func aRouteWithTracingOffRecordsNothingButStillPropagates() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(Self.routes(stub.port, health: "off"), tracing: tracing)
        #expect(proxy.get("/healthz")?.status == 200)
        #expect(proxy.get("/healthz", headers: ["Host: a", "traceparent: \(Self.trusted)"])?.status == 200)
        #expect(proxy.get("/other")?.status == 200)
        // New trace: random flag only; a trusted sampled parent: off all the same.
        #expect(Self.flags(stub) == ["02", "00", "03"])
        #expect(stub.requests[1].header("traceparent")?.contains("0af7651916cd43dd8448eb211c80319c") == true)
        proxy.server.stop()
        let names = Set(recorded.arrivals.records.current.map(\.name))
        #expect(names == ["GET /"], "only the other route's spans: \(names)")
    }

    @Test func aRouteRatioDecidesRootsAndFollowsATrustedParent() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(
            Self.routes(stub.port, health: "{ ratio: 0 }"), tracing: TracingSetup(settings: TracingSettings(), exporter: nil))
        #expect(proxy.get("/healthz")?.status == 200)
        #expect(proxy.get("/healthz", headers: ["Host: a", "traceparent: \(Self.trusted)"])?.status == 200)
        #expect(Self.flags(stub) == ["02", "01"])
    }

    @Test func aRouteSamplingPolicyIsReloaded() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(
            Self.routes(stub.port, health: "on"), tracing: TracingSetup(settings: TracingSettings(), exporter: nil))
        #expect(proxy.get("/healthz")?.status == 200)
        try proxy.reload(Self.routes(stub.port, health: "off"))
        #expect(proxy.get("/healthz")?.status == 200)
        #expect(Self.flags(stub) == ["03", "02"])
    }

    /// The spans that arrived, each with its `sampling.reason`.
    static func reasons(_ recorded: ProxyTracingTests.Recorded, count: Int) -> [(SpanRecord.Kind, String?)] {
        _ = recorded.arrivals.records.wait { $0.count >= count }
        return recorded.arrivals.records.current.map { span in
            let reason = ProxyTracingTests.attribute(span, "sampling.reason")
            if case .string(let text)? = reason { return (span.kind, text) }
            return (span.kind, nil)
        }
    }

    @Test func keptErrorsOfAnUnsampledRequestAreRecordedWithTheirReason() throws {
        let failing = StubUpstream { _, client in
            client.respond(status: 500, body: "broken")
            return .keepReading
        }
        let fine = StubUpstream(body: "ok")
        let (tracing, recorded) = ProxyTracingTests.setup(TracingSettings(sampler: .alwaysOff))
        let proxy = try ProxyHarness("""
            routes:
              - { name: ok, path: /ok, upstream: fine }
              - { name: all, path_prefix: /, upstream: failing }
            upstreams:
              failing: { servers: ["127.0.0.1:\(failing.port)"] }
              fine: { servers: ["127.0.0.1:\(fine.port)"] }
            tracing: { keep: { errors: true } }
            """, tracing: tracing)
        #expect(proxy.get("/ok")?.status == 200)
        #expect(proxy.get("/boom")?.status == 500)
        // The upstream saw an unsampled context.
        #expect(Self.flags(failing) == ["02"])
        let spans = Self.reasons(recorded, count: 2)
        #expect(spans.count == 2)
        #expect(spans.allSatisfy { $0.1 == "error" })
        #expect(Set(spans.map(\.0)) == [.server, .client])
        #expect(recorded.arrivals.records.current.allSatisfy { $0.name == "GET /" })
    }

    @Test func anUpstreamFailureKeepsEveryAttemptsSpan() throws {
        let (tracing, recorded) = ProxyTracingTests.setup(TracingSettings(sampler: .alwaysOff))
        let closed = TestSocket.closedPort()
        let proxy = try ProxyHarness(upstreamPort: closed, extra: "tracing: { keep: { errors: true } }", tracing: tracing)
        #expect(proxy.get("/")?.status == 502)
        let spans = Self.reasons(recorded, count: 2)
        #expect(spans.filter { $0.0 == .server }.count == 1)
        #expect(spans.contains { $0.0 == .client })
        #expect(spans.allSatisfy { $0.1 == "error" })
    }

    @Test func aSlowUnsampledRequestIsKeptAsSlow() throws {
        let slow = StubUpstream { _, client in
            // The scenario: an upstream that takes longer than slower_than.
            usleep(150_000)
            client.respond(body: "late")
            return .keepReading
        }
        let (tracing, recorded) = ProxyTracingTests.setup(TracingSettings(sampler: .alwaysOff))
        let proxy = try ProxyHarness(upstreamPort: slow.port, extra: "tracing: { keep: { slower_than: 100ms } }", tracing: tracing)
        #expect(proxy.get("/")?.status == 200)
        let spans = Self.reasons(recorded, count: 2)
        #expect(spans.count == 2 && spans.allSatisfy { $0.1 == "slow" })
    }

    @Test func unsampledRequestsThatEndWellAreNotKept() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = ProxyTracingTests.setup(TracingSettings(sampler: .alwaysOff))
        let proxy = try ProxyHarness(
            upstreamPort: stub.port, extra: "tracing: { keep: { errors: true, slower_than: 10s } }", tracing: tracing)
        for _ in 0..<3 { #expect(proxy.get("/")?.status == 200) }
        proxy.server.stop()
        #expect(recorded.arrivals.records.current.isEmpty)
    }
}
