import Testing
import Tracing
import W3CTraceContext

@Suite struct PropagatorsTests {
    @Test(arguments: [
        (nil, [Propagator.tracecontext], 0),
        ("", [Propagator.tracecontext], 0),
        ("b3, TraceContext,b3", [Propagator.b3, .tracecontext], 0),
        ("tracecontext,baggage,b3multi", [Propagator.tracecontext, .baggage, .b3multi], 0),
        ("none", [], 0),
        ("xray,tracecontext,jaeger", [Propagator.tracecontext], 2),
    ] as [(String?, [Propagator], Int)])
    func environmentListsThePropagatorsInOrder(_ value: String?, _ expected: [Propagator], _ problems: Int) {
        let (propagators, reported) = Propagator.fromEnvironment(value)
        #expect(propagators == expected)
        #expect(reported.count == problems)
    }

    @Test func anUnknownPropagatorIsReportedByName() {
        let (_, problems) = Propagator.fromEnvironment("xray")
        #expect(problems.first?.contains("'xray'") == true)
    }

    /// With no exporter the SDK still samples and propagates; disabled, it does neither.
    @Test func exporterNoneAndSDKDisabledDiffer() {
        let none = TracingSettings.fromEnvironment(["OTEL_TRACES_EXPORTER": "none"]).settings
        #expect(none.destination == .none && !none.disabled && none.sampler == .default)
        let disabled = TracingSettings.fromEnvironment(["OTEL_SDK_DISABLED": "true"]).settings
        #expect(disabled.destination == .none && disabled.disabled)
    }
}

@Suite struct B3ContextTests {
    static let trace = "80f198ee56343ba864fe8b2a57d3eff7"
    static let span = "e457b5a2e4d86bd1"

    @Test(arguments: [
        ("\(trace)-\(span)-1-05e3ac9a4f6e3b90", trace, true, true),
        ("\(trace)-\(span)-0", trace, false, true),
        ("\(trace)-\(span)-d", trace, true, true),
        ("\(trace)-\(span)", trace, false, false),
        ("64fe8b2a57d3eff7-\(span)-1", "000000000000000064fe8b2a57d3eff7", true, true),
    ] as [(String, String, Bool, Bool)])
    func singleHeaderIsRead(_ value: String, _ trace: String, _ sampled: Bool, _ decided: Bool) throws {
        let context = try #require(B3Context.parseSingle(value))
        #expect(context.traceID.description == trace)
        #expect(context.parentSpanID.description == Self.span)
        #expect(context.flags.contains(.sampled) == sampled)
        #expect(context.parentDecided == decided)
    }

    @Test(arguments: [
        "0", "1", "d", "", "\(trace)", "\(trace)-\(span)-2", "\(trace)-\(span)-1-nothex", "\(trace.uppercased())-\(span)-1",
        "00000000000000000000000000000000-\(span)-1", "\(trace)-0000000000000000-1", "\(trace)-\(span)-1-\(span)-x",
        "abc-\(span)-1",
    ])
    func malformedSingleHeaderGivesNoContext(_ value: String) {
        #expect(B3Context.parseSingle(value) == nil, "\(value)")
    }

    @Test func multipleHeadersAreRead() throws {
        let context = try #require(B3Context.parseMulti(traceID: [Self.trace], spanID: [Self.span], sampled: ["true"], flags: []))
        #expect(context.flags.contains(.sampled) && context.parentDecided)
        let debug = try #require(B3Context.parseMulti(traceID: [Self.trace], spanID: [Self.span], sampled: [], flags: ["1"]))
        #expect(debug.flags.contains(.sampled))
        #expect(B3Context.parseMulti(traceID: [Self.trace], spanID: [], sampled: [], flags: []) == nil)
        #expect(B3Context.parseMulti(traceID: [Self.trace, Self.trace], spanID: [Self.span], sampled: [], flags: []) == nil)
        #expect(B3Context.parseMulti(traceID: [Self.trace], spanID: [Self.span], sampled: ["maybe"], flags: []) == nil)
    }
}

@Suite struct BaggageValidatorTests {
    @Test(arguments: [
        (["a=1"], "a=1"),
        (["a = 1 ;p ; q=2", "b=%20x"], "a = 1 ;p ; q=2,b=%20x"),
        (["k=v=w"], "k=v=w"),
        (["a=1,"], nil),
        (["a"], nil),
        (["=1"], nil),
        (["a=\"q\""], nil),
        (["a=1;=x"], nil),
        (["a=%4"], nil),
        ([String(repeating: "k", count: 8191) + "=v"], nil),
    ] as [([String], String?)])
    func listsAreKeptWholeOrNotAtAll(_ fields: [String], _ expected: String?) {
        #expect(BaggageValidator.validate(fields) == expected)
    }

    @Test func sixtyFourMembersAreAllowedSixtyFiveAreNot() {
        let members = (0..<65).map { "k\($0)=v" }
        #expect(BaggageValidator.validate([members.prefix(64).joined(separator: ",")]) != nil)
        #expect(BaggageValidator.validate([members.joined(separator: ",")]) == nil)
    }
}
