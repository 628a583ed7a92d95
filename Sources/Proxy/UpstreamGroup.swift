import HTTP1
import Libevent
import Tracing

/// A named set of upstream servers, resolved. Immutable and shared by all workers;
/// each worker keeps its own round-robin position (`UpstreamPools`). Servers whose name
/// does not resolve (yet) are left out and listed in `unresolved`; a group may have none
/// resolved, and its requests are then answered 502 naming them.
public final class UpstreamGroup: Sendable {
    public let name: String
    public let servers: [UpstreamServer]
    /// Servers as configured whose names do not resolve at the moment.
    public let unresolved: [String]
    public let maxIdle: Int
    public let idleTimeoutMilliseconds: Int
    /// How often the background resolver looks the names up again (0: never).
    public let resolveIntervalMilliseconds: Int
    /// The group's number among the metrics' label values (`upstream`).
    let metricsIndex: Int

    public init(
        name: String, servers: [UpstreamServer], unresolved: [String] = [], maxIdle: Int, idleTimeoutMilliseconds: Int,
        resolveIntervalMilliseconds: Int = 0
    ) {
        precondition(!servers.isEmpty || !unresolved.isEmpty, "an upstream group needs servers")
        self.name = name
        self.servers = servers
        self.unresolved = unresolved
        self.maxIdle = maxIdle
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.resolveIntervalMilliseconds = resolveIntervalMilliseconds
        metricsIndex = MetricNames.shared.group(name)
    }

    /// The first server as configured (the `Host` of a request that had none).
    public var firstConfigured: String { servers.first?.configured ?? unresolved[0] }
}

/// One server of a group: the address as configured and the address connected to.
/// A class, so that handing it to an exchange, an attempt and a span is one retain
/// rather than a copy of an address and four strings. Equal by what it names.
public final class UpstreamServer: Sendable, Hashable {
    public let configured: String
    public let address: SocketAddress
    /// The host name as configured, without the port (`server.address` on spans).
    public let configuredHost: String
    /// `http://` and the server as configured: the start of `url.full` on spans.
    public let origin: String
    /// The resolved address as text, and its port (formatted once, for spans).
    public let host: String
    public let port: Int
    /// `server.address`, `server.port`, `network.peer.address`, `network.peer.port` of the
    /// CLIENT spans of attempts on this server, encoded once.
    public let spanAttributes: EncodedAttributes
    /// The server's number among the metrics' label values (`server_address`, `server_port`).
    let metricsIndex: Int

    public init(configured: String, address: SocketAddress) {
        self.configured = configured
        self.address = address
        configuredHost = Authority(splitting: configured.utf8).map { String(configured[$0.hostname]) } ?? configured
        origin = "http://\(configured)"
        host = address.host
        port = address.port
        spanAttributes = EncodedAttributes([
            .string("server.address", configuredHost), .int("server.port", port),
            .string("network.peer.address", host), .int("network.peer.port", port),
        ])
        metricsIndex = MetricNames.shared.server(host: configuredHost, port: port)
    }

    public static func == (left: UpstreamServer, right: UpstreamServer) -> Bool {
        left.configured == right.configured && left.address == right.address
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(configured)
        hasher.combine(address)
    }
}
