import Config
import Testing

/// Numbers with a sensible range: limits, the tunnel timeout, the re-resolution interval.
@Suite struct BoundsConfigTests {
    static func problems(_ yaml: String) -> [String] {
        AddressConfigTests.problems(yaml + "\n" + ConfigLoaderTests.minimal)
    }

    // MARK: limits

    @Test(arguments: [("1024", 1024), ("1KiB", 1024), ("64KiB", 65536), ("65536", 65536), ("1MiB", 1 << 20)])
    func headerBytesAreASizeFromOneKiBToOneMiB(_ written: String, _ bytes: Int) throws {
        #expect(try ConfigLoader.parse(yaml: "limits: { max_header_bytes: \(written) }\n" + ConfigLoaderTests.minimal).limits.maxHeaderBytes == bytes)
    }

    @Test(arguments: ["1023", "0", "-1", "1048577", "2MiB", "999999999999", "lots"])
    func headerBytesOutsideTheRangeAreRefusedWithTheRange(_ written: String) {
        #expect(Self.problems("limits: { max_header_bytes: \(written) }") == [
            "limits.max_header_bytes (line 1): must be a size from 1 KiB to 1 MiB, like 64KiB or 65536, not '\(written)'",
        ])
    }

    @Test(arguments: [1, 100, 10_000])
    func headerCountIsFromOneToTenThousand(_ count: Int) throws {
        #expect(try ConfigLoader.parse(yaml: "limits: { max_header_count: \(count) }\n" + ConfigLoaderTests.minimal).limits.maxHeaderCount == count)
    }

    @Test(arguments: ["0", "-5", "10001", "1000000000", "many"])
    func headerCountOutsideTheRangeIsRefusedWithTheRange(_ written: String) {
        #expect(Self.problems("limits: { max_header_count: \(written) }") == [
            "limits.max_header_count (line 1): must be a whole number from 1 to 10000, not '\(written)'",
        ])
    }

    @Test func bodyBytesTakeASizeLikeTheOtherSizes() throws {
        #expect(try ConfigLoader.parse(yaml: "limits: { max_body_bytes: 10MiB }\n" + ConfigLoaderTests.minimal).limits.maxBodyBytes == 10 << 20)
        #expect(try ConfigLoader.parse(yaml: "limits: { max_body_bytes: 0 }\n" + ConfigLoaderTests.minimal).limits.maxBodyBytes == 0)
        #expect(Self.problems("limits: { max_body_bytes: -1 }").count == 1)
    }

    // MARK: timeouts.tunnel

    @Test func theTunnelTimeoutIsAnHourUnlessSet() throws {
        #expect(ProxyConfiguration.Timeouts().tunnel == 3_600_000)
        #expect(try ConfigLoader.parse(yaml: ConfigLoaderTests.minimal).timeouts.tunnel == 3_600_000)
        #expect(try ConfigLoader.parse(yaml: "timeouts: { tunnel: 10m }\n" + ConfigLoaderTests.minimal).timeouts.tunnel == 600_000)
    }

    @Test(arguments: ["0", "0s", "-1s", "never"])
    func theTunnelTimeoutMustBePositive(_ written: String) {
        #expect(Self.problems("timeouts: { tunnel: \(written) }") == [
            "timeouts.tunnel (line 1): must be a positive duration like 250ms, 5s, 2m or 1h, not '\(written)'",
        ])
    }

    // MARK: upstreams.<name>.resolve_interval

    static func resolveInterval(_ written: String) -> String {
        """
        routes:
          - { name: web, path_prefix: /, upstream: backend }
        upstreams:
          backend: { servers: ["backend:4567"], resolve_interval: \(written) }
        """
    }

    @Test func namesAreReResolvedEveryFiveSecondsUnlessSet() throws {
        #expect(try ConfigLoader.parse(yaml: ConfigLoaderTests.minimal).upstreams["frontend"]?.resolveInterval == 5_000)
    }

    @Test(arguments: [("30s", 30_000), ("100ms", 100), ("1m", 60_000), ("0", 0), ("0s", 0)])
    func theResolveIntervalIsZeroForNeverOrAtLeastATenthOfASecond(_ written: String, _ milliseconds: Int) throws {
        let configuration = try ConfigLoader.parse(yaml: Self.resolveInterval(written))
        #expect(configuration.upstreams["backend"]?.resolveInterval == milliseconds)
    }

    @Test(arguments: ["99ms", "10ms", "0.5ms", "-1s", "often"])
    func aResolveIntervalUnderATenthOfASecondIsRefused(_ written: String) {
        #expect(AddressConfigTests.problems(Self.resolveInterval(written)) == [
            "upstreams.backend.resolve_interval (line 4): must be 0 (never re-resolve) or a duration of at least 100ms, like 5s, not '\(written)'",
        ])
    }

    // MARK: tracing

    @Test func concurrentExportsDefaultToSixteenAndTakeOneToSixtyFour() throws {
        #expect(try ConfigLoader.parse(yaml: ConfigLoaderTests.minimal).tracing.maxConcurrentExports == 16)
        #expect(try ConfigLoader.parse(yaml: "tracing: { max_concurrent_exports: 1 }\n" + ConfigLoaderTests.minimal).tracing.maxConcurrentExports == 1)
        #expect(try ConfigLoader.parse(yaml: "tracing: { max_concurrent_exports: 64 }\n" + ConfigLoaderTests.minimal).tracing.maxConcurrentExports == 64)
        for written in ["0", "65", "-1", "lots"] {
            #expect(Self.problems("tracing: { max_concurrent_exports: \(written) }").count == 1)
        }
    }
}
