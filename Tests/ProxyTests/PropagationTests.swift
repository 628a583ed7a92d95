import Foundation
import Proxy
import Testing
import Tracing
import W3CTraceContext

/// Trace context through the real proxy to a stub upstream, checking the exact fields the
/// upstream received: the W3C vectors, `tracestate`, the random flag, every propagator of
/// `OTEL_PROPAGATORS`, tracing disabled against no exporter, and the link a new trace
/// keeps to the context it set aside.
@Suite struct PropagationTests {
    static let trace = "0af7651916cd43dd8448eb211c80319c"
    static let parent = "b7ad6b7169203331"

    /// One request with `headers` through a proxy with `settings`; the request the
    /// upstream got.
    static func forward(
        _ headers: [String], settings: TracingSettings = TracingSettings(), extra: String = ""
    ) throws -> StubUpstream.Request {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(
            upstreamPort: stub.port, extra: extra, tracing: TracingSetup(settings: settings, exporter: nil))
        #expect(proxy.get("/", headers: ["Host: a"] + headers)?.status == 200)
        return try #require(stub.requests.first)
    }

    /// `00-{trace}-{span}-{flags}` split in parts.
    static func parts(_ traceparent: String?) -> [Substring] {
        traceparent?.split(separator: "-") ?? []
    }

    // MARK: traceparent

    /// Valid contexts are continued (trace id kept, flags as received but for unknown
    /// bits); invalid ones start a new trace, whose flags carry the random bit.
    @Test(arguments: [
        ("00-\(trace)-\(parent)-01", trace, "01"),
        ("00-\(trace)-\(parent)-03", trace, "03"),
        ("00-\(trace)-\(parent)-09", trace, "01"),
        ("cc-\(trace)-\(parent)-01-what-the-future-holds", trace, "01"),
        ("00-\(trace)-\(parent)-01-extra", nil, "03"),
        ("00-\(trace.uppercased())-\(parent)-01", nil, "03"),
        ("ff-\(trace)-\(parent)-01", nil, "03"),
        ("00-00000000000000000000000000000000-\(parent)-01", nil, "03"),
        ("00-\(trace)-0000000000000000-01", nil, "03"),
        ("00-\(trace)-\(parent)-0x", nil, "03"),
    ] as [(String, String?, String)])
    func traceparentVectors(_ received: String, _ keptTrace: String?, _ flags: String) throws {
        let request = try Self.forward(["traceparent: \(received)", "tracestate: k=v"])
        #expect(request.headers("traceparent").count == 1)
        let sent = Self.parts(request.header("traceparent"))
        #expect(sent.count == 4 && sent[0] == "00")
        if let keptTrace {
            #expect(sent[1] == Substring(keptTrace))
            #expect(request.header("tracestate") == "k=v")
        } else {
            #expect(sent[1] != Substring(Self.trace))
            #expect(request.header("tracestate") == nil)
        }
        #expect(sent.last == Substring(flags), "\(received)")
    }

    // MARK: tracestate

    @Test(arguments: [
        (["foo@=1"], "foo@=1"),
        (["tenant@vendor=x, other=2"], "tenant@vendor=x,other=2"),
        (["\(String(repeating: "t", count: 242))@v=1"], "\(String(repeating: "t", count: 242))@v=1"),
        (["foo=1,foo=1"], "foo=1"),
        (["foo=1,foo=2,bar=3"], "foo=1,bar=3"),
        (["a=1", "b=2", "a=3"], "a=1,b=2"),
        (["ok=1,\(String(repeating: "k", count: 257))=1"], nil),
        (["ok=1,UPPER=1"], nil),
        ([(0..<33).map { "k\($0)=v" }.joined(separator: ",")], nil),
    ] as [([String], String?)])
    func tracestateThroughTheProxy(_ fields: [String], _ expected: String?) throws {
        let request = try Self.forward(["traceparent: 00-\(Self.trace)-\(Self.parent)-01"] + fields.map { "tracestate: \($0)" })
        #expect(request.header("tracestate") == expected)
        #expect(Self.parts(request.header("traceparent"))[1] == Substring(Self.trace))
    }

    @Test func moreThan512CharactersOfTracestatePropagate() throws {
        let list = (0..<8).map { "key\($0)=" + String(repeating: "v", count: 100) }.joined(separator: ",")
        #expect(list.count > 512)
        let request = try Self.forward(["traceparent: 00-\(Self.trace)-\(Self.parent)-01", "tracestate: \(list)"])
        #expect(request.header("tracestate") == list)
    }

    // MARK: OTEL_PROPAGATORS

    static let b3Trace = "80f198ee56343ba864fe8b2a57d3eff7"
    static let b3Span = "e457b5a2e4d86bd1"

    @Test func b3SingleIsContinuedAndEveryConfiguredFormatIsInjected() throws {
        let request = try Self.forward(
            ["b3: \(Self.b3Trace)-\(Self.b3Span)-1-05e3ac9a4f6e3b90"],
            settings: TracingSettings(propagators: [.b3, .tracecontext]))
        let traceparent = Self.parts(request.header("traceparent"))
        #expect(traceparent[1] == Substring(Self.b3Trace) && traceparent[3] == "01")
        // Both carry the same span: the CLIENT span's.
        #expect(request.header("b3") == "\(Self.b3Trace)-\(traceparent[2])-1")
    }

    @Test func b3MultiWidensA64BitTraceID() throws {
        let request = try Self.forward(
            ["X-B3-TraceId: 64fe8b2a57d3eff7", "X-B3-SpanId: \(Self.b3Span)", "X-B3-Sampled: 1"],
            settings: TracingSettings(propagators: [.b3multi]))
        #expect(request.header("x-b3-traceid") == "000000000000000064fe8b2a57d3eff7")
        #expect(request.header("x-b3-sampled") == "1")
        #expect(request.headers("x-b3-spanid").count == 1 && request.header("x-b3-spanid") != Self.b3Span)
        #expect(request.header("traceparent") == nil)
    }

    /// Extraction follows the listed order; a malformed context falls to the next format.
    @Test(arguments: [
        ([Propagator.tracecontext, .b3], "b3: \(b3Trace)-\(b3Span)-1", trace),
        ([Propagator.b3, .tracecontext], "b3: \(b3Trace)-\(b3Span)-1", b3Trace),
        ([Propagator.b3, .tracecontext], "b3: \(b3Trace)-nothex-1", trace),
        ([Propagator.b3, .tracecontext], "b3: 0", trace),
    ] as [([Propagator], String, String)])
    func firstValidContextWins(_ propagators: [Propagator], _ b3: String, _ expectedTrace: String) throws {
        let request = try Self.forward(
            [b3, "traceparent: 00-\(Self.trace)-\(Self.parent)-01"], settings: TracingSettings(propagators: propagators))
        #expect(Self.parts(request.header("traceparent"))[1] == Substring(expectedTrace))
    }

    /// B3's sampling state: `0` keeps a trusted caller's "no"; none leaves the decision to
    /// the sampler (a root for parentbased_always_on: sampled); `d` is sampled.
    @Test(arguments: [("-0", "0"), ("", "1"), ("-d", "1")])
    func b3SamplingState(_ suffix: String, _ sampled: String) throws {
        let request = try Self.forward(
            ["b3: \(Self.b3Trace)-\(Self.b3Span)\(suffix)"], settings: TracingSettings(propagators: [.b3]))
        #expect(request.header("b3")?.hasSuffix("-\(sampled)") == true)
        #expect(request.header("b3")?.hasPrefix(Self.b3Trace) == true)
    }

    @Test func propagatorsNoneNeitherReadsNorSends() throws {
        let request = try Self.forward(
            ["traceparent: 00-\(Self.trace)-\(Self.parent)-01", "b3: \(Self.b3Trace)-\(Self.b3Span)-1"],
            settings: TracingSettings(propagators: []))
        #expect(request.header("traceparent") == nil)
        #expect(request.header("b3") == nil)
    }

    @Test(arguments: [
        ("a=1, b=2;prop;k=v", "a=1,b=2;prop;k=v"),
        ("user=J%C3%B6rg", "user=J%C3%B6rg"),
        ("no equals sign", nil),
        ("a=1,bad key=2", nil),
        ("a=%zz", nil),
        ((0..<65).map { "k\($0)=v" }.joined(separator: ","), nil),
    ] as [(String, String?)])
    func baggageIsValidatedWhenItsPropagatorIsOn(_ received: String, _ expected: String?) throws {
        let request = try Self.forward(
            ["baggage: \(received)"], settings: TracingSettings(propagators: [.tracecontext, .baggage]))
        #expect(request.header("baggage") == expected)
        #expect(request.headers("baggage").count == (expected == nil ? 0 : 1))
    }

    @Test func baggagePassesAsAnyFieldWithoutItsPropagator() throws {
        let request = try Self.forward(["baggage: not valid baggage"])
        #expect(request.header("baggage") == "not valid baggage")
    }

    // MARK: disabled and no exporter

    /// `OTEL_SDK_DISABLED=true`: the received fields go on unchanged, none are added.
    @Test func disabledPassesTraceFieldsUnchanged() throws {
        let received = ["traceparent: 00-\(Self.trace)-\(Self.parent)-01", "tracestate: UPPER=not-valid", "b3: anything"]
        let request = try Self.forward(received, settings: TracingSettings(destination: .none, disabled: true))
        #expect(request.headers("traceparent") == [received[0]])
        #expect(request.headers("tracestate") == [received[1]])
        #expect(request.headers("b3") == [received[2]])
        let bare = try Self.forward([], settings: TracingSettings(destination: .none, disabled: true))
        #expect(bare.header("traceparent") == nil)
    }

    /// `OTEL_TRACES_EXPORTER=none`: sampling and propagation as usual.
    @Test func noExporterStillSamplesAndPropagates() throws {
        let request = try Self.forward(
            ["traceparent: 00-\(Self.trace)-\(Self.parent)-01"], settings: TracingSettings(destination: .none))
        let sent = Self.parts(request.header("traceparent"))
        #expect(sent[1] == Substring(Self.trace) && sent[3] == "01" && sent[2] != Substring(Self.parent))
    }

    // MARK: the ignored context

    @Test func anIgnoredUntrustedContextIsLinkedFromTheNewTrace() throws {
        let stub = StubUpstream(body: "ok")
        let (tracing, recorded) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(
            upstreamPort: stub.port,
            extra: "tracing: { trusted_networks: [\"192.0.2.0/24\"], untrusted_context: ignore }", tracing: tracing)
        #expect(proxy.get("/", headers: ["Host: a", "traceparent: 00-\(Self.trace)-\(Self.parent)-01", "tracestate: k=v"])?.status == 200)
        let sent = Self.parts(try #require(stub.requests.first?.header("traceparent")))
        #expect(sent[1] != Substring(Self.trace))
        let spans = ProxyTracingTests.spans(recorded, trace: String(sent[1]), count: 2)
        let server = try #require(spans.first { $0.kind == .server })
        let link = try #require(server.links.first)
        #expect(link.traceID.description == Self.trace && link.spanID.description == Self.parent)
        #expect(link.traceState == "k=v" && link.flags.rawValue == 1)
        #expect(link.attributes.first?.key == "hoptrace.link.reason")
        #expect(spans.first { $0.kind == .client }?.links.isEmpty == true)
    }
}
