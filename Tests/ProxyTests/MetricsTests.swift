import Foundation
@testable import Proxy
import Testing

/// `/metrics`' numbers as the workers keep them: exact after known requests, summed
/// across workers, kept over a reload, and never a series per path.
@Suite struct MetricsTests {
    static func yaml(_ up: Int, _ down: Int) -> String {
        """
        routes:
          - { name: api, path_prefix: /api, upstream: backend }
          - { name: down, path_prefix: /down, upstream: gone }
        upstreams:
          backend: { servers: ["127.0.0.1:\(up)"] }
          gone: { servers: ["127.0.0.1:\(down)"] }
        """
    }

    /// The exposition once every worker has stopped (and handed in its last counts).
    static func scrape(_ proxy: ProxyHarness) -> String {
        proxy.server.stop()
        var text = PrometheusText(openMetrics: false)
        proxy.server.metrics.write(to: &text)
        return text.text
    }

    /// The value of the sample line that starts with `prefix` (name and labels).
    static func value(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func countsAreExactAndSummedAcrossWorkers() throws {
        let stub = StubUpstream(body: "ok")
        let down = TestSocket.closedPort()
        let proxy = try ProxyHarness(Self.yaml(stub.port, down), workers: 2)
        for index in 0..<40 { #expect(proxy.get("/api/item/\(index)")?.status == 200) }
        for _ in 0..<3 { #expect(proxy.get("/elsewhere")?.status == 404) }
        #expect(proxy.get("/down")?.status == 502)
        let text = Self.scrape(proxy)
        let api = #"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="api",network_protocol_version="1.1"}"#
        #expect(Self.value(text, api) == 40)
        #expect(Self.value(text, #"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="404",http_route="_other",network_protocol_version="1.1"}"#) == 3)
        #expect(Self.value(text, #"http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",http_route="api",network_protocol_version="1.1",le="+Inf"}"#) == 40)
        // The connect failure was tried again once: two attempts, one retry.
        #expect(Self.value(text, #"hoptrace_upstream_attempts_total{outcome="connect_error"}"#) == 2)
        #expect(Self.value(text, #"hoptrace_upstream_attempts_total{outcome="response"}"#) == 40)
        #expect(Self.value(text, "hoptrace_upstream_retries_total") == 1)
        #expect(Self.value(text, #"hoptrace_local_responses_total{http_response_status_code="404"}"#) == 3)
        #expect(Self.value(text, #"hoptrace_local_responses_total{http_response_status_code="502"}"#) == 1)
        let client = #"http_client_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",server_address="127.0.0.1",server_port="\#(stub.port)",upstream="backend"}"#
        #expect(Self.value(text, client) == 40)
        // Forty paths, one series: paths are never labels.
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("http_server_request_duration_seconds_count") }.count == 3)
    }

    @Test func aReloadKeepsTheCounts() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(Self.yaml(stub.port, TestSocket.closedPort()))
        for _ in 0..<5 { #expect(proxy.get("/api")?.status == 200) }
        try proxy.reload(Self.yaml(stub.port, TestSocket.closedPort()))
        for _ in 0..<5 { #expect(proxy.get("/api")?.status == 200) }
        #expect(Self.value(Self.scrape(proxy), #"hoptrace_upstream_attempts_total{outcome="response"}"#) == 10)
    }

    @Test func aHistogramTableKeepsEachLabelSetApart() {
        var table = HistogramTable()
        for key in 1...500 as ClosedRange<UInt64> { table.observe(1 << 63 | key, nanoseconds: key * 1_000_000) }
        table.observe(1 << 63 | 7, nanoseconds: 20_000_000_000)
        #expect(table.rowCount == 500)
        var seven: ArraySlice<UInt64> = []
        table.forEach { key, buckets, _ in if key == 1 << 63 | 7 { seven = buckets } }
        // 7 ms lands in the 0.01 bucket; 20 s past the last bound.
        #expect(seven[seven.startIndex + 1] == 1 && seven.last == 1 && seven.reduce(0, +) == 2)
    }

    /// The bucket comparisons written out agree with the bounds listed, at and around each.
    @Test func eachDurationFallsInTheFirstBucketThatHoldsIt() {
        #expect(HistogramTable.width == HistogramTable.bounds.count + 1)
        for bound in HistogramTable.bounds {
            let nanoseconds = UInt64((bound * 1e9).rounded())
            for value in [nanoseconds - 1, nanoseconds, nanoseconds + 1, 0, 100_000_000_000] {
                let expected = HistogramTable.bounds.firstIndex { Double(value) / 1e9 <= $0 } ?? HistogramTable.bounds.count
                #expect(HistogramTable.bucket(value) == expected, "\(value)")
            }
        }
    }

    /// Quantiles come from the buckets, interpolated within the one that holds them.
    @Test func quantilesAreReadFromTheBuckets() {
        var counts = [UInt64](repeating: 0, count: HistogramTable.width)
        counts[0] = 50  // ≤ 5 ms
        counts[6] = 50  // 100–250 ms
        #expect(ProxyMetrics.quantile(0.5, counts) == 0.005)
        #expect(abs(ProxyMetrics.quantile(0.99, counts)! - (0.1 + 0.15 * 49 / 50)) < 1e-9)
        counts[14] = 1000  // past 10 s
        #expect(ProxyMetrics.quantile(0.99, counts) == 10)
        #expect(ProxyMetrics.quantile(0.5, [UInt64](repeating: 0, count: HistogramTable.width)) == nil)
    }

    @Test func theOverviewHasEachRouteAndUpstreamWithItsErrors() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(Self.yaml(stub.port, TestSocket.closedPort()), workers: 2)
        for _ in 0..<6 { #expect(proxy.get("/api")?.status == 200) }
        #expect(proxy.get("/down")?.status == 502)
        proxy.server.stop()
        let overview = proxy.server.metrics.overview()
        let api = try #require(overview.routes.first { $0.name == "api" })
        #expect(api.requests == 6 && api.errors == 0 && api.p50 != nil)
        let down = try #require(overview.routes.first { $0.name == "down" })
        #expect(down.requests == 1 && down.errors == 1)
        #expect(overview.upstreams.first { $0.name == "gone" }?.errors == 2)
        let json = String(decoding: overview.json(configuration: proxy.server.configuration), as: UTF8.self)
        #expect(json.contains(#""name":"api","filter":"route=/api/*","requests":6"#))
    }

    @Test func labelValuesAreEscaped() {
        var text = PrometheusText(openMetrics: true)
        text.counter("x", help: "a \\ b\nc", [([("route", "a\"b\\c\nd")], 1)])
        text.finish()
        #expect(text.text == "# HELP x a \\\\ b\\nc\n# TYPE x counter\nx_total{route=\"a\\\"b\\\\c\\nd\"} 1\n# EOF\n")
    }
}
