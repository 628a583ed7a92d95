import Libevent

/// A named set of upstream servers, resolved. Immutable and shared by all workers;
/// each worker keeps its own round-robin position (`UpstreamPools`).
public final class UpstreamGroup: Sendable {
    public let name: String
    public let servers: [UpstreamServer]
    public let maxIdle: Int
    public let idleTimeoutMilliseconds: Int

    public init(name: String, servers: [UpstreamServer], maxIdle: Int, idleTimeoutMilliseconds: Int) {
        precondition(!servers.isEmpty, "an upstream group needs servers")
        self.name = name
        self.servers = servers
        self.maxIdle = maxIdle
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }
}

/// One server of a group: the address as configured and the address connected to.
public struct UpstreamServer: Sendable, Hashable {
    public let configured: String
    public let address: SocketAddress
    /// The resolved address as text, and its port (formatted once, for spans).
    public let host: String
    public let port: Int

    public init(configured: String, address: SocketAddress) {
        self.configured = configured
        self.address = address
        host = address.host
        port = address.port
    }
}
