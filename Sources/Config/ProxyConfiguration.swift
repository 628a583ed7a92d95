import HTTP1

/// The validated contents of a configuration file. Plain values, no resolution, no I/O.
/// Defaults follow the configuration contract in DESIGN.md.
public struct ProxyConfiguration: Sendable, Equatable {
    /// `host:port` or `[v6]:port`; a file's `:8080` is read as `0.0.0.0:8080`. Port 0: any.
    public var listen = "0.0.0.0:8080"
    /// nil: one worker per core.
    public var workers: Int?
    /// nil: no admin listener.
    public var admin: String? = "127.0.0.1:9901"
    public var accessLog: AccessLogTarget = .stdout
    public var accessLogFormat: AccessLogFormat = .text
    public var timeouts = Timeouts()
    public var limits = HTTPLimits()
    public var routes: [Route] = []
    public var upstreams: [String: Upstream] = [:]
    public var tracing = Tracing()
    /// `request_id:` the header that carries a request id (kept from a trusted peer, else
    /// the trace id), sent upstream and returned to the client; nil: off.
    public var requestID: String? = "x-request-id"
    /// nil: no OTLP receiver (`receiver: null`).
    public var receiver: Receiver? = Receiver()
    public var store = Store()

    public init() {}

    /// The `receiver:` section: the OTLP/HTTP receiver that takes other services' spans.
    public struct Receiver: Sendable, Equatable {
        /// Where it listens (a restart changes it). Default `127.0.0.1:4318`, OTLP/HTTP's port.
        public var listen = "127.0.0.1:4318"
        /// Send what it receives on to the configured OTLP exporter too. Default off.
        public var forward = false
        /// The largest request body, as sent and after gunzip. Default 16 MiB.
        public var maxBodyBytes = 16 * 1024 * 1024

        public init() {}
    }

    /// The `store:` section: how much the trace store behind the explorer keeps.
    public struct Store: Sendable, Equatable {
        /// Traces kept; the least recently updated goes first. Default 2,000.
        public var maxTraces = 2_000
        /// Estimated bytes of everything kept. Default 64 MiB.
        public var maxBytes = 64 * 1024 * 1024
        /// Spans kept per trace; later ones are refused and counted. Default 5,000.
        public var maxSpansPerTrace = 5_000
        /// Milliseconds without a new span after which a trace is settled; until then the
        /// explorer shows it as still changing (backends send spans in batches). Default 10 s.
        public var settleTime = 10_000

        public init() {}
    }

    /// The `tracing:` section: what the `OTEL_*` variables cannot say.
    public struct Tracing: Sendable, Equatable {
        /// CIDR blocks whose incoming trace context is trusted (continued, sampled flag
        /// honoured). nil: loopback and private ranges.
        public var trustedNetworks: [Server]?
        /// `continue` (keep the trace id, decide sampling here) or `ignore` (new trace).
        public var untrustedContext = "continue"
        /// Add a W3C `traceresponse` header to responses.
        public var traceResponse = false
        /// Add `Server-Timing` with the upstream and proxy durations.
        public var serverTiming = false
        /// Header names (lowercase) recorded as span attributes. Authorization, Cookie,
        /// Set-Cookie and Proxy-Authorization are never recorded.
        public var captureRequestHeaders: [String] = []
        public var captureResponseHeaders: [String] = []
        /// OTLP exports in flight at once, each on its own connection (1–64). Default 16:
        /// enough for a single worker's spans to a collector 100 ms away.
        public var maxConcurrentExports = 16
        public var keep = Keep()

        public init() {}
    }

    public enum AccessLogTarget: Sendable, Equatable {
        case stdout
        case off
        case file(String)
    }

    public enum AccessLogFormat: String, Sendable, Equatable {
        case text
        case json
    }

    /// Durations in milliseconds.
    public struct Timeouts: Sendable, Equatable {
        /// Connecting to an upstream server. Default 5 s.
        public var connect = 5_000
        /// The whole request head: on a new connection from its accept, on a kept-alive one
        /// from the first byte of the next request. Not reset by each byte, so a slow client
        /// cannot hold it open. Default 30 s.
        public var requestHeader = 30_000
        /// From the request being sent to the upstream's response head. Default 60 s.
        public var upstreamHeader = 60_000
        /// A client keep-alive connection with no request in progress. Default 75 s.
        public var idle = 75_000
        /// How long SIGTERM waits for in-flight requests. Default 30 s.
        public var drain = 30_000
        /// A WebSocket or other Upgrade tunnel with no byte either way for this long is
        /// closed; any byte in either direction starts it again. Default 1 h.
        public var tunnel = 3_600_000

        public init() {}
    }

    /// One entry of `routes:`. First match wins.
    public struct Route: Sendable, Equatable {
        public var name: String
        /// Exact host, or `*.suffix` for any subdomain of suffix. nil: any host.
        public var host: String?
        public var match: PathMatch
        public var stripPrefix: Bool
        public var upstream: String
        /// `tracing:` on the route: nil follows the global sampler.
        public var tracing: RouteTracing?

        public init(
            name: String, host: String? = nil, match: PathMatch, stripPrefix: Bool = false, upstream: String,
            tracing: RouteTracing? = nil
        ) {
            self.name = name
            self.host = host
            self.match = match
            self.stripPrefix = stripPrefix
            self.upstream = upstream
            self.tracing = tracing
        }
    }

    /// A route's own sampling: `tracing: off` (no spans; `traceparent` still propagated,
    /// unsampled), or `tracing: { ratio: 0.05 }` (this fraction of traces that start here
    /// or whose parent is not trusted; a trusted parent's decision is still followed).
    public enum RouteTracing: Sendable, Equatable {
        case off
        case ratio(Double)
    }

    /// `tracing.keep`: the proxy's own spans of requests the head decision left unsampled,
    /// recorded anyway when the request went wrong or took long.
    public struct Keep: Sendable, Equatable {
        /// 5xx, an upstream failure, or a local error.
        public var errors = false
        /// Milliseconds; nil: off.
        public var slowerThan: Int?

        public init(errors: Bool = false, slowerThan: Int? = nil) {
            self.errors = errors
            self.slowerThan = slowerThan
        }

        public var isOn: Bool { errors || slowerThan != nil }
    }

    public enum PathMatch: Sendable, Equatable {
        case exact(String)
        case prefix(String)
    }

    /// One entry of `upstreams:`.
    public struct Upstream: Sendable, Equatable {
        public var servers: [Server]
        /// Idle keep-alive connections kept per server per worker. Default 32.
        public var maxIdle = 32
        /// How long an idle upstream connection is kept. Default 60 s.
        public var idleTimeout = 60_000
        /// Milliseconds between background re-resolutions of the servers' host names, so a
        /// changed DNS record is followed without a reload. 0: names that resolved are kept
        /// until a reload (one that did not is tried every 5 s). Otherwise at least 100 ms.
        /// Default 5 s.
        public var resolveInterval = 5_000

        public init(servers: [Server]) {
            self.servers = servers
        }
    }

    /// An address with the key and line it was written at, for error messages.
    public struct Server: Sendable, Equatable {
        /// For an upstream server, `host:port` or `[v6]:port` whatever the file's form
        /// (`http://backend` is stored as `backend:80`); for a trusted network, the CIDR
        /// block as written.
        public var address: String
        public var key: String
        public var line: Int?

        public init(address: String, key: String, line: Int? = nil) {
            self.address = address
            self.key = key
            self.line = line
        }
    }
}

/// One thing wrong with a configuration, located by its key path and line.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var line: Int?
    public var message: String

    public init(key: String, line: Int?, message: String) {
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = line.map { " (line \($0))" } ?? ""
        return key.isEmpty ? "\(message)\(location)" : "\(key)\(location): \(message)"
    }
}

/// Every problem found, so a user fixes them in one pass.
public struct ConfigProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(_ problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
