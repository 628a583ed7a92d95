import Tracing

/// The explorer's overview: per route and per upstream, requests per second, the share
/// that failed, and p50/p95/p99 of their durations, over the last few minutes. Read from
/// the same histograms `/metrics` serves: the counts now less the counts at the start of
/// the window (the oldest kept copy when hoptrace has run for less).
public struct MetricsOverview: Sendable {
    public struct Row: Sendable, Equatable {
        /// The route's or the upstream group's name.
        public var name: String
        public var requests: UInt64
        public var perSecond: Double
        /// Failed ones: a 5xx, or for an upstream an attempt that got no response.
        public var errors: UInt64
        /// Seconds; nil with no request in the window. A quantile past the last bucket
        /// (10 s) is given as that bound.
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
    }

    public var windowSeconds: Double
    public var routes: [Row]
    public var upstreams: [Row]
}

extension ProxyMetrics {
    /// How often a copy of the totals is kept, and for how long: the overview's window.
    static let historyIntervalNanoseconds: Int64 = 10_000_000_000
    static let historyLength = 31

    /// The overview over about five minutes (less right after start).
    public func overview() -> MetricsOverview {
        let now = Timestamp.monotonicNanoseconds()
        let current = total()
        let (start, then) = history.withLock { history in
            history.first.map { ($0.time, $0.metrics) } ?? (startedAt, WorkerMetrics())
        }
        let names = MetricNames.shared.snapshot()
        let seconds = max(Double(now - start) / 1e9, 1)
        let routes = rows(current.serverDurations, minus: then.serverDurations, seconds: seconds) { key in
            let labels = MetricKey.readServer(key)
            let name = labels.route < names.routes.count ? names.routes[labels.route] : "_other"
            return (name, labels.status >= 500)
        }
        let upstreams = rows(current.clientDurations, minus: then.clientDurations, seconds: seconds) { key in
            let labels = MetricKey.readClient(key)
            return (labels.group < names.groups.count ? names.groups[labels.group] : "", labels.status >= 500 || labels.error != 0)
        }
        return MetricsOverview(windowSeconds: seconds, routes: routes, upstreams: upstreams)
    }

    /// Rows of `table - earlier`, one per name that `label` gives a key.
    private func rows(
        _ table: HistogramTable, minus earlier: HistogramTable, seconds: Double, label: (UInt64) -> (String, Bool)
    ) -> [MetricsOverview.Row] {
        var before: [UInt64: [UInt64]] = [:]
        earlier.forEach { key, buckets, _ in before[key] = Array(buckets) }
        var buckets: [String: [UInt64]] = [:]
        var errors: [String: UInt64] = [:]
        table.forEach { key, counts, _ in
            let (name, failed) = label(key)
            let old = before[key] ?? []
            var sum = buckets[name] ?? Array(repeating: 0, count: HistogramTable.width)
            var count: UInt64 = 0
            for (index, value) in counts.enumerated() {
                let delta = value &- (index < old.count ? old[index] : 0)
                sum[index] &+= delta
                count &+= delta
            }
            buckets[name] = sum
            if failed { errors[name, default: 0] &+= count }
        }
        return buckets.keys.sorted().map { name in
            let counts = buckets[name]!
            let requests = counts.reduce(0, &+)
            return MetricsOverview.Row(
                name: name, requests: requests, perSecond: Double(requests) / seconds, errors: errors[name] ?? 0,
                p50: Self.quantile(0.5, counts), p95: Self.quantile(0.95, counts), p99: Self.quantile(0.99, counts))
        }
    }

    /// The `q` quantile of bucketed counts, interpolated linearly within its bucket (as
    /// Prometheus' `histogram_quantile` does); nil with no count.
    static func quantile(_ q: Double, _ counts: [UInt64]) -> Double? {
        let total = counts.reduce(0, &+)
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            if Double(seen + count) >= rank {
                guard index < HistogramTable.bounds.count else { return HistogramTable.bounds.last }
                let lower = index == 0 ? 0 : HistogramTable.bounds[index - 1]
                let upper = HistogramTable.bounds[index]
                return lower + (upper - lower) * max(0, rank - Double(seen)) / Double(count)
            }
            seen += count
        }
        return HistogramTable.bounds.last
    }
}

extension MetricsOverview {
    /// The overview as the explorer reads it. Each row carries the trace list's query that
    /// shows its traces: a route's `http.route`; an upstream's server address when all its
    /// servers share one host.
    public func json(configuration: RuntimeConfiguration) -> [UInt8] {
        var templates: [String: String] = [:]
        var hosts: [String: Set<String>] = [:]
        for route in configuration.routing.routes {
            templates[route.name] = route.template
            hosts[route.upstream.name, default: []].formUnion(route.upstream.servers.map(\.configuredHost))
        }
        var out = "{\"window_seconds\":\(PrometheusText.number((windowSeconds * 10).rounded() / 10)),\"routes\":["
        for (index, row) in routes.enumerated() {
            if index > 0 { out += "," }
            Self.append(row, filter: templates[row.name].map { "route=" + Self.queryEscaped($0) }, to: &out)
        }
        out += "],\"upstreams\":["
        for (index, row) in upstreams.enumerated() {
            if index > 0 { out += "," }
            let host = hosts[row.name].flatMap { $0.count == 1 ? $0.first : nil }
            Self.append(row, filter: host.map { "attr=" + Self.queryEscaped("server.address=" + $0) }, to: &out)
        }
        out += "]}"
        return Array(out.utf8)
    }

    private static func append(_ row: Row, filter: String?, to out: inout String) {
        out += "{\"name\":"
        OTLPJSONEncoder.appendString(&out, row.name)
        out += ",\"filter\":"
        if let filter { OTLPJSONEncoder.appendString(&out, filter) } else { out += "null" }
        out += ",\"requests\":\(row.requests),\"per_second\":\(PrometheusText.number(row.perSecond)),\"errors\":\(row.errors)"
        for (key, value) in [("p50", row.p50), ("p95", row.p95), ("p99", row.p99)] {
            out += ",\"\(key)\":" + (value.map(PrometheusText.number) ?? "null")
        }
        out += "}"
    }

    /// Percent-encodes what a query value cannot hold as is.
    static func queryEscaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: "*"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
