import Config
import HTTP1
import Libevent
import Tracing

/// A configuration ready to serve: routes compiled, upstream names resolved.
/// Immutable; a reload builds a new one and each worker swaps it in for new requests,
/// while requests in flight keep the one they started with.
public final class RuntimeConfiguration: Sendable {
    public let source: ProxyConfiguration
    public let routing: RoutingTable
    public let groups: [String: UpstreamGroup]
    public let listenAddress: SocketAddress
    /// Whose incoming trace context is trusted, and what to do with the others.
    public let trustedNetworks: TrustedNetworks
    public let untrustedContext: UntrustedContextPolicy
    /// Headers recorded on SERVER spans; nil when none are (so a span carries nothing).
    public let headerCapture: HeaderCapture?
    /// `tracing.keep`: unsampled requests whose proxy spans are recorded all the same.
    public let keep: ProxyConfiguration.Keep
    /// `request_id:`; nil when off.
    let requestIDField: RequestID.Field?
    /// The same, for the SERVER span's attribute: nil when the header is captured already.
    let requestIDSpanField: RequestID.Field?

    public var limits: HTTPLimits { source.limits }
    public var timeouts: ProxyConfiguration.Timeouts { source.timeouts }

    /// How upstream host names become addresses.
    public enum NameResolution: Sendable {
        /// Resolve now (blocking: call off the workers); a name that does not resolve is
        /// a problem (`check`).
        case required
        /// Resolve now; a name that does not resolve yet leaves its server unresolved
        /// (answered 502 until the background resolver finds it): `run` and reloads.
        case whenAvailable
        /// Check names for form only; a name stands in as the loopback address (`check
        /// --no-resolve`, for a configuration meant for another network, like compose's).
        case formOnly
        /// Addresses found by the background resolver, by server as configured; a server
        /// not in the map is unresolved. Literal addresses need no entry.
        case given([String: SocketAddress])
    }

    /// Builds the configuration, resolving names as `names` says. Throws every problem.
    public convenience init(_ source: ProxyConfiguration, resolveNames: Bool = true) throws(ConfigProblems) {
        try self.init(source, names: resolveNames ? .required : .formOnly)
    }

    public init(_ source: ProxyConfiguration, names: NameResolution) throws(ConfigProblems) {
        var problems: [ConfigProblem] = []
        var groups: [String: UpstreamGroup] = [:]
        for (name, upstream) in source.upstreams.sorted(by: { $0.key < $1.key }) {
            var servers: [UpstreamServer] = []
            var unresolved: [String] = []
            for server in upstream.servers {
                do throws(AddressError) {
                    if let address = try Self.upstreamAddress(server.address, names) {
                        servers.append(UpstreamServer(configured: server.address, address: address))
                    } else {
                        unresolved.append(server.address)
                    }
                } catch {
                    problems.append(ConfigProblem(key: server.key, line: server.line, message: error.message))
                }
            }
            if !servers.isEmpty || !unresolved.isEmpty {
                groups[name] = UpstreamGroup(
                    name: name, servers: servers, unresolved: unresolved, maxIdle: upstream.maxIdle,
                    idleTimeoutMilliseconds: upstream.idleTimeout, resolveIntervalMilliseconds: upstream.resolveInterval)
            }
        }
        var listenAddress: SocketAddress?
        do throws(AddressError) {
            if case .formOnly = names {
                listenAddress = try Self.standIn(source.listen)
            } else {
                listenAddress = try SocketAddress.resolve(source.listen)[0]
            }
        } catch {
            problems.append(ConfigProblem(key: "listen", line: nil, message: error.message))
        }
        var networks = TrustedNetworks.privateAndLoopback
        if let listed = source.tracing.trustedNetworks {
            networks = TrustedNetworks([])
            for entry in listed {
                if let network = TrustedNetworks.Network(entry.address) {
                    networks.networks.append(network)
                } else {
                    problems.append(ConfigProblem(key: entry.key, line: entry.line, message: "'\(entry.address)' is not an address or CIDR block like 10.0.0.0/8"))
                }
            }
        }
        guard problems.isEmpty, let listenAddress else { throw ConfigProblems(problems) }
        self.trustedNetworks = networks
        self.untrustedContext = UntrustedContextPolicy(rawValue: source.tracing.untrustedContext) ?? .continueTrace

        var routes: [CompiledRoute] = []
        for route in source.routes {
            guard let group = groups[route.upstream] else { continue }
            let host: CompiledRoute.HostPattern
            if let pattern = route.host?.lowercased() {
                host = pattern.hasPrefix("*.") ? .subdomain(Array(pattern.dropFirst().utf8)) : .exact(Array(pattern.utf8))
            } else {
                host = .any
            }
            let path: String
            let isPrefix: Bool
            switch route.match {
            case .exact(let value): path = value; isPrefix = false
            case .prefix(let value): path = value; isPrefix = true
            }
            let sampler: Sampler?
            switch route.tracing {
            case nil: sampler = nil
            // Off whatever the parent says: no spans, an unsampled traceparent.
            case .off?: sampler = .alwaysOff
            // A trusted parent's decision is still followed.
            case .ratio(let ratio)?: sampler = .parentBased(root: .traceIDRatio(ratio))
            }
            routes.append(CompiledRoute(
                name: route.name, host: host, path: Array(path.utf8), isPrefix: isPrefix,
                stripPrefix: route.stripPrefix, upstream: group, sampler: sampler))
        }
        let capture = HeaderCapture(request: source.tracing.captureRequestHeaders, response: source.tracing.captureResponseHeaders)
        self.headerCapture = capture.request.isEmpty && capture.response.isEmpty ? nil : capture
        self.keep = source.tracing.keep
        let requestIDField = source.requestID.map(RequestID.Field.init)
        self.requestIDField = requestIDField
        self.requestIDSpanField = requestIDField.flatMap { capture.request.contains($0.name) ? nil : $0 }
        self.source = source
        self.routing = RoutingTable(routes: routes)
        self.groups = groups
        self.listenAddress = listenAddress
    }
}

extension RuntimeConfiguration {
    /// An upstream server's address, or nil when its name does not resolve (yet).
    /// Throws when the text is not `host:port`, or the name must resolve and does not.
    static func upstreamAddress(_ text: String, _ names: NameResolution) throws(AddressError) -> SocketAddress? {
        switch names {
        case .required:
            return try SocketAddress.resolve(text)[0]
        case .whenAvailable:
            let (host, port) = try SocketAddress.split(text)
            return try? SocketAddress.resolve(host: host, port: port)[0]
        case .formOnly:
            return try standIn(text)
        case .given(let addresses):
            let (host, port) = try SocketAddress.split(text)
            if let literal = try? SocketAddress.resolve(host: host, port: port, numericOnly: true) { return literal[0] }
            return addresses[text]
        }
    }

    /// A literal stays itself; a name stands in as the loopback address.
    static func standIn(_ text: String) throws(AddressError) -> SocketAddress {
        let (host, port) = try SocketAddress.split(text)
        if let literal = try? SocketAddress.resolve(host: host, port: port, numericOnly: true) { return literal[0] }
        return try SocketAddress.resolve(host: "127.0.0.1", port: port)[0]
    }
}

/// The lower-case names of the request and response headers recorded on SERVER spans
/// (`tracing.capture_request_headers`, `capture_response_headers`).
public final class HeaderCapture: Sendable {
    public let request: [String]
    public let response: [String]

    public init(request: [String], response: [String]) {
        self.request = request
        self.response = response
    }
}
