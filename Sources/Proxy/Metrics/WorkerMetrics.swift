import HTTP1
import ProxyCore

/// One worker's counters: plain numbers that only its thread touches. Every second, and
/// as it stops, the worker hands a copy to `ProxyMetrics`, which a scrape sums: a request
/// takes no lock and no atomic, and a scrape never waits on a worker.
struct WorkerMetrics: Sendable {
    /// `http.server.request.duration`, keyed by `serverKey`.
    var serverDurations = HistogramTable()
    /// `http.client.request.duration`, one observation per upstream attempt (`clientKey`).
    var clientDurations = HistogramTable()
    /// Requests begun and not yet ended (`http.server.active_requests` is the sum).
    var activeRequests = 0
    var clientConnections = 0
    var upstreamConnections = 0
    var idleUpstreamConnections = 0
    /// Upstream attempts by outcome (`AttemptOutcome`).
    var attempts = AttemptCounts()
    var retries: UInt64 = 0

    /// One per outcome, kept apart rather than in an array: no copy-on-write check per
    /// request.
    struct AttemptCounts: Sendable {
        var response: UInt64 = 0
        var connectError: UInt64 = 0
        var timeout: UInt64 = 0
        var reset: UInt64 = 0
        var other: UInt64 = 0

        subscript(outcome: AttemptOutcome) -> UInt64 {
            get {
                switch outcome {
                case .response: response
                case .connectError: connectError
                case .timeout: timeout
                case .reset: reset
                case .other: other
                }
            }
            set {
                switch outcome {
                case .response: response = newValue
                case .connectError: connectError = newValue
                case .timeout: timeout = newValue
                case .reset: reset = newValue
                case .other: other = newValue
                }
            }
        }
    }

    /// An ended upstream attempt: its outcome and its duration (one access to the
    /// worker's counters for all of it).
    @inline(__always)
    mutating func attempt(_ outcome: AttemptOutcome, retry: Bool, key: UInt64, nanoseconds: UInt64) {
        attempts[outcome] &+= 1
        if retry { retries &+= 1 }
        clientDurations.observe(key, nanoseconds: nanoseconds)
    }
    /// Answers the proxy gave itself, by status.
    var localAnswers: [Int: UInt64] = [:]

    enum AttemptOutcome: Int, CaseIterable {
        case response, connectError, timeout, reset, other

        var label: String {
            switch self {
            case .response: "response"
            case .connectError: "connect_error"
            case .timeout: "timeout"
            case .reset: "reset"
            case .other: "other"
            }
        }

        init(_ failure: ProxyFailure?) {
            guard let failure else { self = .response; return }
            switch failure.kind {
            case .connectRefused, .connectFailed, .unresolved: self = .connectError
            case .connectTimeout, .upstreamHeaderTimeout, .upstreamWriteTimeout, .upstreamBodyTimeout: self = .timeout
            case .upstreamReset, .upstreamClosed, .upstreamBodyTruncated: self = .reset
            default: self = .other
            }
        }
    }

    /// Sums another worker's copy into this one (gauges too: each worker holds its share).
    mutating func add(_ other: WorkerMetrics) {
        serverDurations.add(other.serverDurations)
        clientDurations.add(other.clientDurations)
        activeRequests += other.activeRequests
        clientConnections += other.clientConnections
        upstreamConnections += other.upstreamConnections
        idleUpstreamConnections += other.idleUpstreamConnections
        for outcome in AttemptOutcome.allCases { attempts[outcome] += other.attempts[outcome] }
        retries += other.retries
        for (status, count) in other.localAnswers { localAnswers[status, default: 0] += count }
    }
}

/// How label sets are packed into histogram keys (and read back by the scrape).
enum MetricKey {
    /// `_OTHER` is index 0; then the methods `SpanText.knownMethods` lists.
    static func method(_ kind: HTTPMethod) -> UInt64 {
        SpanText.knownMethodIndex(kind).map { UInt64($0 + 1) } ?? 0
    }

    static func methodName(_ index: Int) -> String {
        index == 0 ? "_OTHER" : SpanText.knownMethods[index - 1].name
    }

    /// route (16 bits) · method (4) · status (10) · HTTP/1.0 or 1.1 (1). The top bit is
    /// set so that no key is 0.
    static func server(route: Int, method: UInt64, status: Int, version: HTTPVersion) -> UInt64 {
        1 << 63 | UInt64(route & 0xFFFF) << 16 | method << 12 | UInt64(min(max(status, 0), 999)) << 1
            | (version == .http10 ? 1 : 0)
    }

    /// A key made at the start (status 0) with the status the end found.
    static func withServerStatus(_ key: UInt64, _ status: Int) -> UInt64 {
        key | UInt64(min(max(status, 0), 999)) << 1
    }

    /// A key made at the start (server, status and error 0) with what the attempt found.
    static func withClient(_ key: UInt64, server: Int, status: Int, error: Int) -> UInt64 {
        key | UInt64(server & 0xFFFF) << 20 | UInt64(min(max(status, 0), 999)) << 6 | UInt64(error & 0x3F)
    }

    static func readServer(_ key: UInt64) -> (route: Int, method: Int, status: Int, version: String) {
        (Int(key >> 16 & 0xFFFF), Int(key >> 12 & 0xF), Int(key >> 1 & 0x3FF) , key & 1 == 1 ? "1.0" : "1.1")
    }

    /// group (12 bits) · server (16) · method (4) · status (10) · error kind (6, 0: none).
    static func client(group: Int, server: Int, method: UInt64, status: Int, error: Int) -> UInt64 {
        1 << 63 | UInt64(group & 0xFFF) << 36 | UInt64(server & 0xFFFF) << 20 | method << 16
            | UInt64(min(max(status, 0), 999)) << 6 | UInt64(error & 0x3F)
    }

    static func readClient(_ key: UInt64) -> (group: Int, server: Int, method: Int, status: Int, error: Int) {
        (Int(key >> 36 & 0xFFF), Int(key >> 20 & 0xFFFF), Int(key >> 16 & 0xF), Int(key >> 6 & 0x3FF), Int(key & 0x3F))
    }

    /// `error.type` values: 0 none, then each failure kind.
    static let errorKinds: [ProxyFailure.Kind?] = [nil] + ProxyFailure.Kind.allCases

    static func error(_ kind: ProxyFailure.Kind?) -> Int {
        guard let kind else { return 0 }
        return errorKinds.firstIndex(of: kind) ?? 0
    }
}
