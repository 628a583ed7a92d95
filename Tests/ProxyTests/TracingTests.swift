import Config
import Foundation
import Proxy
import Testing
import Tracing
import W3CTraceContext

/// The spans and propagation of real proxied requests, read back from the in-memory store.
@Suite struct ProxyTracingTests {
    static let incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    /// The spans the pipeline hands on, as an exporter sees them: the pipeline gives each
    /// batch to the store, then to this exporter, which wakes whoever waits for spans.
    final class Arrivals: SpanExporter, @unchecked Sendable {
        let records = Watched<[SpanRecord]>([])
        func export(_ spans: [SpanRecord]) {
            if !spans.isEmpty { records.update { $0 += spans } }
        }
    }

    /// The store the explorer reads, and the spans as they arrive in it.
    struct Recorded {
        let store: TraceStore
        let arrivals: Arrivals
    }

    static func setup(_ settings: TracingSettings = TracingSettings()) -> (TracingSetup, Recorded) {
        let recorded = Recorded(store: TraceStore(), arrivals: Arrivals())
        return (TracingSetup(settings: settings, exporter: recorded.arrivals, store: recorded.store), recorded)
    }

    /// Waits until `count` spans of `trace` have reached the store (woken by each batch,
    /// at most 5 s), and returns the store's spans of that trace.
    static func spans(_ recorded: Recorded, trace: String, count: Int) -> [SpanRecord] {
        let arrived = recorded.arrivals.records.wait { $0.count(where: { $0.traceID.description == trace }) >= count }
        if !arrived { Issue.record("fewer than \(count) spans of trace \(trace) reached the store within 5 s") }
        return records(recorded.store, trace: trace)
    }

    static func records(_ store: TraceStore, trace: String) -> [SpanRecord] {
        store.trace(TraceKey(hex: trace)!)?.records().map(\.record) ?? []
    }

    static func attribute(_ span: SpanRecord?, _ key: String) -> SpanAttribute.Value? {
        span?.attributes.first { $0.key == key }?.value
    }

    @Test func trustedParentIsContinuedAndTheUpstreamGetsTheClientSpanAsParent() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, store) = Self.setup()
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path_prefix: /api, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """, tracing: tracing)
        let response = proxy.get("/api/activities/home?q=1&token=secret", headers: ["Host: shop.example:8080", "traceparent: \(Self.incoming)", "tracestate: a=1", "User-Agent: test/1"])
        #expect(response?.status == 200)
        let spans = Self.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let server = try #require(spans.first { $0.kind == .server })
        let client = try #require(spans.first { $0.kind == .client })
        #expect(server.parentSpanID?.description == "b7ad6b7169203331")
        #expect(client.parentSpanID == server.spanID)
        #expect(server.name == "GET /api/*")
        #expect(client.name == "GET /api/*")
        #expect(server.status == .unset)
        // Exactly one traceparent upstream, rebuilt from the CLIENT span, and the tracestate.
        let request = try #require(stub.requests.first)
        #expect(request.headers("traceparent") == ["traceparent: 00-0af7651916cd43dd8448eb211c80319c-\(client.spanID)-01"])
        #expect(request.header("tracestate") == "a=1")
        // Attributes: stable names, integers as integers, signature-like values redacted.
        #expect(Self.attribute(server, "http.response.status_code") == .int(200))
        #expect(Self.attribute(server, "http.route") == .string("/api/*"))
        #expect(Self.attribute(server, "url.path") == .string("/api/activities/home"))
        #expect(Self.attribute(server, "url.query") == .string("q=1&token=REDACTED"))
        #expect(Self.attribute(server, "server.address") == .string("shop.example"))
        #expect(Self.attribute(server, "server.port") == .int(8080))
        #expect(Self.attribute(server, "user_agent.original") == .string("test/1"))
        #expect(Self.attribute(server, "network.protocol.version") == .string("1.1"))
        #expect(Self.attribute(client, "server.port") == .int(Int64(stub.port)))
        #expect(Self.attribute(client, "http.response.status_code") == .int(200))
        #expect(client.events.contains { $0.name == "connection established" })
        #expect(client.events.contains { $0.name == "first response byte" })
    }

    @Test func untrustedParentKeepsTheTraceIDButSamplingIsOurs() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, store) = Self.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "tracing: { trusted_networks: [\"192.0.2.0/24\"] }", tracing: tracing)
        // The client says "not sampled"; we sample anyway (parentbased_always_on, no trusted parent).
        _ = proxy.get("/", headers: ["Host: a", "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"])
        #expect(Self.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2).count == 2)
    }

    @Test func duplicateOrMalformedTraceparentStartsANewTraceAndIsNeverForwarded() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, _) = Self.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, tracing: tracing)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: \(Self.incoming)", "traceparent: \(Self.incoming)"])?.status == 200)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: garbage", "tracestate: a=1"])?.status == 200)
        for request in stub.requests {
            let values = request.headers("traceparent")
            #expect(values.count == 1)
            #expect(values.first?.contains("0af7651916cd43dd8448eb211c80319c") == false)
            #expect(request.header("tracestate") == nil)
        }
    }

    @Test func unsampledRequestRecordsNothingAndPropagatesFlags02() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = Self.setup(TracingSettings(sampler: .alwaysOff))
        let proxy = try ProxyHarness(upstreamPort: stub.port, tracing: tracing)
        #expect(proxy.get("/")?.status == 200)
        let value = try #require(stub.requests.first?.header("traceparent"))
        #expect(value.hasPrefix("00-") && value.hasSuffix("-02") && value.count == 55)
        // Stopping flushes every worker's spans through the pipeline: nothing may arrive.
        proxy.server.stop()
        #expect(recorded.store.list(TraceQuery()).summaries.isEmpty)
        #expect(recorded.arrivals.records.current.isEmpty)
    }

    /// The SERVER and CLIENT spans of the incoming trace, both with error status.
    static func errorSpans(_ store: Recorded) throws -> (server: SpanRecord, client: SpanRecord) {
        let spans = Self.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let server = try #require(spans.first { $0.kind == .server })
        let client = try #require(spans.first { $0.kind == .client })
        if case .error = server.status, case .error = client.status {} else {
            Issue.record("expected error statuses, got \(server.status) and \(client.status)")
        }
        return (server, client)
    }

    @Test func badGatewayMarksBothSpansAsErrors() throws {
        let (tracing, store) = Self.setup()
        let proxy = try ProxyHarness(upstreamPort: TestSocket.closedPort(), tracing: tracing)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: \(Self.incoming)"])?.status == 502)
        let (server, client) = try Self.errorSpans(store)
        #expect(Self.attribute(client, "error.type") == .string("connection_refused"))
        #expect(Self.attribute(server, "http.response.status_code") == .int(502))
    }

    @Test func gatewayTimeoutMarksBothSpansAsErrors() throws {
        // The upstream reads the request and stays silent until the test is over.
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let stub = StubUpstream { _, _ in
            _ = testOver.wait(timeout: .now() + 30)
            return .close
        }
        let (tracing, store) = Self.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { upstream_header: 300ms }", tracing: tracing)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: \(Self.incoming)"])?.status == 504)
        let (server, client) = try Self.errorSpans(store)
        #expect(Self.attribute(client, "error.type") == .string("response_header_timeout"))
        #expect(Self.attribute(server, "error.type") == .string("response_header_timeout"))
        #expect(Self.attribute(server, "http.response.status_code") == .int(504))
        // The attempt connected, then waited for a response head that never came (no first
        // byte) until the timer cut it (error.type above); it lies inside the SERVER span.
        let connected = try #require(client.events.first { $0.name == "connection established" })
        #expect(!client.events.contains { $0.name == "first response byte" })
        #expect(server.startNanoseconds <= client.startNanoseconds)
        #expect(client.startNanoseconds <= connected.timeNanoseconds)
        #expect(connected.timeNanoseconds <= client.endNanoseconds)
        #expect(client.endNanoseconds <= server.endNanoseconds)
    }

    @Test func retriesAreSeparateClientSpansWithResendCount() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, store) = Self.setup()
        let proxy = try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(TestSocket.closedPort())", "127.0.0.1:\(stub.port)"] }
            """, tracing: tracing)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: \(Self.incoming)"])?.status == 200)
        let clients = Self.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 3).filter { $0.kind == .client }
        #expect(clients.count == 2)
        #expect(clients.contains { Self.attribute($0, "http.request.resend_count") == .int(1) })
        // The upstream saw the second attempt's span as its parent.
        let second = try #require(clients.first { Self.attribute($0, "http.request.resend_count") == .int(1) })
        #expect(stub.requests.first?.header("traceparent")?.contains(second.spanID.description) == true)
    }

    @Test func requestsTheProxyAnswersItselfGetAServerSpan() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = Self.setup()
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path: /api, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """, tracing: tracing)
        #expect(proxy.get("/nothing", headers: ["Host: a", "traceparent: \(Self.incoming)"])?.status == 404)
        let server = try #require(Self.spans(recorded, trace: "0af7651916cd43dd8448eb211c80319c", count: 1).first)
        #expect(server.kind == .server)
        #expect(server.name == "GET")
        #expect(server.status == .unset)
        // A malformed request (no head to read a context from) is a new trace named HTTP.
        let connection = proxy.connect()
        connection.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        #expect(connection.reader.read()?.status == 400)
        connection.close()
        #expect(recorded.arrivals.records.wait { $0.contains { $0.name == "HTTP" } }, "no span named HTTP within 5 s")
        #expect(recorded.store.list(TraceQuery()).summaries.contains { $0.name == "HTTP" })
    }
}

@Suite struct TracingOptionsTests {
    @Test func traceresponseAndServerTimingAreAddedWhenConfigured() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, store) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "tracing: { traceresponse: true, server_timing: true }", tracing: tracing)
        let response = try #require(proxy.get("/", headers: ["Host: a", "traceparent: \(ProxyTracingTests.incoming)"]))
        let traceresponse = try #require(response.header("traceresponse"))
        let server = try #require(ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2).first { $0.kind == .server })
        #expect(traceresponse == "00-0af7651916cd43dd8448eb211c80319c-\(server.spanID)-01")
        let timing = try #require(response.header("server-timing"))
        #expect(timing.hasPrefix("upstream;dur="))
        #expect(timing.contains(", proxy;dur="))
    }

    @Test func noCorrelationHeadersByDefault() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = try #require(proxy.get("/"))
        #expect(response.header("traceresponse") == nil)
        #expect(response.header("server-timing") == nil)
    }

    @Test func listedHeadersAreCapturedOnTheServerSpan() throws {
        let stub = StubUpstream { _, client in
            client.respond(headers: ["X-Cache: HIT"], body: "ok")
            return .keepReading
        }
        let (tracing, store) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: """
            tracing: { capture_request_headers: [X-Request-ID], capture_response_headers: [x-cache] }
            """, tracing: tracing)
        _ = proxy.get("/", headers: ["Host: a", "X-Request-ID: abc-123", "Authorization: Bearer secret", "traceparent: \(ProxyTracingTests.incoming)"])
        let server = try #require(ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2).first { $0.kind == .server })
        #expect(ProxyTracingTests.attribute(server, "http.request.header.x-request-id") == .string("abc-123"))
        #expect(ProxyTracingTests.attribute(server, "http.response.header.x-cache") == .string("HIT"))
        #expect(!server.attributes.contains { $0.key.contains("authorization") })
    }
}

@Suite struct TrustedNetworkConfigurationTests {
    @Test func invalidTrustedNetworkIsReportedWithKeyAndLine() throws {
        let source = try ConfigLoader.parse(yaml: """
            tracing:
              trusted_networks: ["10.0.0.0/33"]
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:1"] }
            """)
        do {
            _ = try RuntimeConfiguration(source)
            Issue.record("expected a problem")
        } catch {
            #expect(error.problems.first?.key == "tracing.trusted_networks[0]")
            #expect(error.problems.first?.line == 2)
        }
    }
}
