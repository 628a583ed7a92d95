import Synchronization
import Tracing

/// The workers' published counters. A worker hands in a copy of its `WorkerMetrics`
/// every second and as it stops; a scrape sums the latest copies. Nothing here is on a
/// request's path.
public final class ProxyMetrics: Sendable {
    private let published = Mutex<[Int: WorkerMetrics]>([:])
    /// Copies of the totals every `historyIntervalNanoseconds`, oldest first, for the
    /// overview's window.
    let history = Mutex<[(time: Int64, metrics: WorkerMetrics)]>([])
    let startedAt = Timestamp.monotonicNanoseconds()

    public init() {}

    func publish(worker: Int, _ metrics: WorkerMetrics) {
        published.withLock { $0[worker] = metrics }
        // Once per interval, by the first worker: a copy of the totals for the overview.
        guard worker == 0 else { return }
        let now = Timestamp.monotonicNanoseconds()
        let due = history.withLock { now - ($0.last?.time ?? startedAt) >= Self.historyIntervalNanoseconds }
        guard due else { return }
        let copy = total()
        history.withLock { history in
            history.append((now, copy))
            if history.count > Self.historyLength { history.removeFirst(history.count - Self.historyLength) }
        }
    }

    /// Every worker's counters summed.
    func total() -> WorkerMetrics {
        let copies = published.withLock { Array($0.values) }
        var sum = WorkerMetrics()
        for copy in copies { sum.add(copy) }
        return sum
    }

    /// The proxy's metric families (HTTP server and client durations, connections,
    /// attempts, local answers), written into `text`.
    public func write(to text: inout PrometheusText) {
        let total = total()
        let names = MetricNames.shared.snapshot()
        text.histogram(
            "http_server_request_duration_seconds", help: "Duration of HTTP server requests, as the proxy received them.",
            total.serverDurations
        ) { key in
            let labels = MetricKey.readServer(key)
            return [("http_request_method", MetricKey.methodName(labels.method)),
                    ("http_response_status_code", String(labels.status)),
                    ("http_route", labels.route < names.routes.count ? names.routes[labels.route] : "_other"),
                    ("network_protocol_version", labels.version)]
        }
        text.histogram(
            "http_client_request_duration_seconds", help: "Duration of HTTP client requests: one per upstream attempt.",
            total.clientDurations
        ) { key in
            let labels = MetricKey.readClient(key)
            let server = labels.server < names.servers.count ? names.servers[labels.server] : MetricNames.Server(host: "", port: 0)
            var set = [("http_request_method", MetricKey.methodName(labels.method))]
            if labels.status > 0 { set.append(("http_response_status_code", String(labels.status))) }
            if labels.error > 0, labels.error < MetricKey.errorKinds.count, let kind = MetricKey.errorKinds[labels.error] {
                set.append(("error_type", kind.rawValue))
            }
            set += [("server_address", server.host), ("server_port", String(server.port)),
                    ("upstream", labels.group < names.groups.count ? names.groups[labels.group] : "")]
            return set
        }
        text.gauge("http_server_active_requests", help: "HTTP server requests in flight.", [([], Double(total.activeRequests))])
        text.gauge("hoptrace_client_connections", help: "Open client connections.", [([], Double(total.clientConnections))])
        text.gauge(
            "hoptrace_upstream_connections", help: "Open upstream connections: carrying an exchange, or idle in a pool.",
            [([], Double(total.upstreamConnections))])
        text.gauge(
            "hoptrace_upstream_idle_connections", help: "Upstream connections kept idle for reuse.",
            [([], Double(total.idleUpstreamConnections))])
        text.counter(
            "hoptrace_upstream_attempts", help: "Upstream attempts by outcome.",
            WorkerMetrics.AttemptOutcome.allCases.map { ([("outcome", $0.label)], Double(total.attempts[$0])) })
        text.counter("hoptrace_upstream_retries", help: "Upstream attempts after the first of a request.", [([], Double(total.retries))])
        text.counter(
            "hoptrace_local_responses", help: "Responses the proxy gave itself (no route, bad request, upstream failure …), by status.",
            total.localAnswers.sorted { $0.key < $1.key }.map { ([("http_response_status_code", String($0.key))], Double($0.value)) })
    }
}

/// Prometheus text format 0.0.4, or OpenMetrics 1.0 (`# EOF`, counters' families named
/// without `_total`). Label values escaped as both require.
public struct PrometheusText: Sendable {
    public let openMetrics: Bool
    public private(set) var text = ""

    public init(openMetrics: Bool) {
        self.openMetrics = openMetrics
    }

    public var contentType: String {
        openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8"
    }

    public typealias Labels = [(String, String)]

    public mutating func counter(_ name: String, help: String, _ samples: [(Labels, Double)]) {
        family(openMetrics ? name : name + "_total", type: "counter", help: help)
        for (labels, value) in samples { sample(name + "_total", labels, value) }
    }

    public mutating func gauge(_ name: String, help: String, _ samples: [(Labels, Double)]) {
        family(name, type: "gauge", help: help)
        for (labels, value) in samples { sample(name, labels, value) }
    }

    mutating func histogram(_ name: String, help: String, _ table: HistogramTable, labels: (UInt64) -> Labels) {
        family(name, type: "histogram", help: help)
        var rows: [(Labels, ArraySlice<UInt64>, Double)] = []
        table.forEach { key, buckets, sum in rows.append((labels(key), buckets, sum)) }
        rows.sort { $0.0.map(\.1).joined(separator: "\u{1}") < $1.0.map(\.1).joined(separator: "\u{1}") }
        for (set, buckets, sum) in rows {
            var cumulative: UInt64 = 0
            for (index, bound) in HistogramTable.bounds.enumerated() {
                cumulative += buckets[buckets.startIndex + index]
                sample(name + "_bucket", set + [("le", Self.number(bound))], Double(cumulative))
            }
            cumulative += buckets[buckets.endIndex - 1]
            sample(name + "_bucket", set + [("le", "+Inf")], Double(cumulative))
            sample(name + "_count", set, Double(cumulative))
            sample(name + "_sum", set, sum)
        }
    }

    /// Closes the exposition (OpenMetrics ends with `# EOF`).
    public mutating func finish() {
        if openMetrics { text += "# EOF\n" }
    }

    private mutating func family(_ name: String, type: String, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    private mutating func sample(_ name: String, _ labels: Labels, _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A label value: backslash, double quote and line feed escaped.
    static func escapeLabel(_ value: String) -> String { escape(value, quotes: true) }

    /// A HELP text: backslash and line feed escaped.
    static func escapeHelp(_ value: String) -> String { escape(value, quotes: false) }

    private static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.append(character)
            }
        }
        return out
    }
}
