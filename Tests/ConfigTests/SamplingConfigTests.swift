import Config
import Testing

/// `tracing:` on a route and `tracing.keep`.
@Suite struct SamplingConfigTests {
    static func route(_ tracing: String) -> String {
        """
        routes:
          - { name: health, path: /healthz, upstream: frontend, tracing: \(tracing) }
        upstreams:
          frontend: { servers: ["127.0.0.1:3000"] }
        """
    }

    @Test(arguments: [
        ("off", ProxyConfiguration.RouteTracing.off),
        ("on", nil),
        ("{ ratio: 0.05 }", .ratio(0.05)),
        ("{ ratio: 1 }", .ratio(1)),
    ] as [(String, ProxyConfiguration.RouteTracing?)])
    func aRouteSaysHowItIsSampled(_ written: String, _ expected: ProxyConfiguration.RouteTracing?) throws {
        #expect(try ConfigLoader.parse(yaml: Self.route(written)).routes[0].tracing == expected)
    }

    @Test(arguments: [
        ("maybe", "routes[0].tracing (line 2): must be off, on, or { ratio: 0.05 }, not 'maybe'"),
        ("{ ratio: 2 }", "routes[0].tracing.ratio (line 2): must be a number from 0 to 1, not '2'"),
        ("{ ratio: half }", "routes[0].tracing.ratio (line 2): must be a number from 0 to 1, not 'half'"),
        ("{ rate: 0.1 }", "routes[0].tracing.rate (line 2): unknown key (expected ratio)"),
    ])
    func aBadRouteSamplingIsRefusedWithTheReason(_ written: String, _ message: String) {
        #expect(AddressConfigTests.problems(Self.route(written)) == [message])
    }

    @Test func keepIsReadFromTheTracingSection() throws {
        let configuration = try ConfigLoader.parse(
            yaml: "tracing: { keep: { errors: true, slower_than: 2s } }\n" + ConfigLoaderTests.minimal)
        #expect(configuration.tracing.keep == ProxyConfiguration.Keep(errors: true, slowerThan: 2_000))
        #expect(try ConfigLoader.parse(yaml: ConfigLoaderTests.minimal).tracing.keep.isOn == false)
    }

    @Test func aBadKeepIsRefusedWithTheReason() {
        #expect(AddressConfigTests.problems("tracing: { keep: { errors: sometimes, when: 1 } }\n" + ConfigLoaderTests.minimal) == [
            "tracing.keep.errors (line 1): must be true or false",
            "tracing.keep.when (line 1): unknown key (expected errors, slower_than)",
        ])
    }
}

/// `request_id:`: a header name, or off.
@Suite struct RequestIDConfigTests {
    @Test(arguments: [
        (nil, "x-request-id"), ("request_id: X-Correlation-ID", "x-correlation-id"), ("request_id: off", nil),
        ("request_id: null", nil),
    ] as [(String?, String?)])
    func theFieldIsNamedOrOff(_ line: String?, _ expected: String?) throws {
        let yaml = (line.map { $0 + "\n" } ?? "") + ConfigLoaderTests.minimal
        #expect(try ConfigLoader.parse(yaml: yaml).requestID == expected)
    }

    @Test(arguments: [
        ("x request id", "request_id (line 1): must be a header name like x-request-id, or off, not 'x request id'"),
        ("traceparent", "request_id (line 1): 'traceparent' is a field the proxy sets or reads itself; name another header"),
        ("Host", "request_id (line 1): 'Host' is a field the proxy sets or reads itself; name another header"),
    ])
    func aBadFieldIsRefusedWithTheReason(_ written: String, _ message: String) {
        #expect(AddressConfigTests.problems("request_id: \(written)\n" + ConfigLoaderTests.minimal) == [message])
    }
}
