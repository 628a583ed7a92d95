import Testing
import Tracing
import W3CTraceContext

@Suite struct TrustedNetworksTests {
    @Test(arguments: ["127.0.0.1", "10.1.2.3", "172.16.0.9", "172.31.255.255", "192.168.1.1", "::1", "fd12::1", "::ffff:10.0.0.1"])
    func privateAndLoopbackAreTrustedByDefault(_ address: String) throws {
        #expect(TrustedNetworks.privateAndLoopback.contains(try #require(IPAddress.parse(address))))
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:1.2.3.4", "11.0.0.1"])
    func publicAddressesAreNot(_ address: String) throws {
        #expect(!TrustedNetworks.privateAndLoopback.contains(try #require(IPAddress.parse(address))))
    }

    @Test(arguments: ["10.0.0.0/33", "300.1.1.1", "1::2::3", "10.0.0/8", "abc"])
    func malformedNetworksAreRejected(_ text: String) {
        #expect(TrustedNetworks.Network(text) == nil)
    }
}

@Suite struct SamplerTests {
    static let lowID = TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 1))
    static let highID = TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0))

    @Test func parentBasedFollowsTheParent() {
        let sampler = Sampler.parentBased(root: .alwaysOff)
        #expect(sampler.shouldSample(traceID: Self.lowID, parentSampled: true))
        #expect(!Sampler.parentBased(root: .alwaysOn).shouldSample(traceID: Self.lowID, parentSampled: false))
        #expect(!sampler.shouldSample(traceID: Self.lowID, parentSampled: nil))
    }

    @Test func ratioDependsOnlyOnTheTraceID() {
        let sampler = Sampler.traceIDRatio(0.5)
        #expect(sampler.shouldSample(traceID: Self.lowID, parentSampled: false))
        #expect(!sampler.shouldSample(traceID: Self.highID, parentSampled: true))
    }

    @Test func ratioSamplesAboutItsFraction() {
        var sampled = 0
        for _ in 0..<10_000 where Sampler.traceIDRatio(0.1).shouldSample(traceID: .random(), parentSampled: nil) {
            sampled += 1
        }
        #expect((700...1300).contains(sampled), "\(sampled) of 10000")
    }

    @Test(arguments: [
        ("always_on", Sampler.alwaysOn), ("always_off", .alwaysOff), ("traceidratio", .traceIDRatio(0.25)),
        ("parentbased_always_on", .parentBased(root: .alwaysOn)), ("parentbased_always_off", .parentBased(root: .alwaysOff)),
        ("parentbased_traceidratio", .parentBased(root: .traceIDRatio(0.25))),
    ])
    func environmentNamesEverySampler(_ name: String, _ expected: Sampler) {
        let (sampler, problems) = Sampler.fromEnvironment(["OTEL_TRACES_SAMPLER": name, "OTEL_TRACES_SAMPLER_ARG": "0.25"])
        #expect(sampler == expected)
        #expect(problems.isEmpty)
    }

    @Test func unknownSamplerOrBadArgumentIsReportedAndTheDefaultUsed() {
        let unknown = Sampler.fromEnvironment(["OTEL_TRACES_SAMPLER": "sometimes"])
        #expect(unknown.sampler == .default)
        #expect(unknown.problems.first?.contains("OTEL_TRACES_SAMPLER") == true)
        let badRatio = Sampler.fromEnvironment(["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"])
        #expect(badRatio.sampler == .traceIDRatio(1.0))
        #expect(badRatio.problems.first?.contains("OTEL_TRACES_SAMPLER_ARG") == true)
    }
}

@Suite struct TraceDecisionTests {
    static let incoming = IncomingTraceContext.parse(
        traceparent: ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"], tracestate: ["a=1"])!
    static let fresh = TraceID(bytes: (9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9))

    @Test func trustedParentIsContinuedWithItsSampledFlag() {
        let decision = TraceDecision.decide(
            incoming: Self.incoming, peerTrusted: true, untrusted: .continueTrace,
            sampler: .default, newTraceID: { Self.fresh })
        #expect(decision.traceID == Self.incoming.traceID)
        #expect(decision.parentSpanID == Self.incoming.parentSpanID)
        #expect(!decision.sampled)
        #expect(decision.traceState == "a=1")
    }

    @Test func untrustedParentKeepsTheTraceButSamplingIsOurs() {
        let decision = TraceDecision.decide(
            incoming: Self.incoming, peerTrusted: false, untrusted: .continueTrace,
            sampler: .default, newTraceID: { Self.fresh })
        #expect(decision.traceID == Self.incoming.traceID)
        #expect(decision.sampled)
    }

    @Test func untrustedParentIsIgnoredWhenConfigured() {
        let decision = TraceDecision.decide(
            incoming: Self.incoming, peerTrusted: false, untrusted: .ignore,
            sampler: .default, newTraceID: { Self.fresh })
        #expect(decision.traceID == Self.fresh)
        #expect(decision.parentSpanID == nil)
        #expect(decision.traceState == nil)
        #expect(decision.ignoredContext == Self.incoming)
        #expect(decision.flags.rawValue & 0x02 != 0)
    }

    /// A new trace's id is random: Level 2's random flag (0x02) is set, sampled or not.
    @Test func unsampledNewTraceStillPropagatesWithTheRandomFlag() {
        let decision = TraceDecision.decide(
            incoming: nil, peerTrusted: true, untrusted: .continueTrace,
            sampler: .alwaysOff, newTraceID: { Self.fresh })
        let span = SpanID(bytes: (1, 2, 3, 4, 5, 6, 7, 8))
        #expect(decision.traceparent(spanID: span) == "00-09090909090909090909090909090909-0102030405060708-02")
        #expect(!decision.sampled)
    }
}
