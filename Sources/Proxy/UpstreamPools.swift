import Libevent

/// One worker's idle upstream connections, per server, plus its round-robin positions.
///
/// A connection is put back only after a complete, well-framed exchange. While idle it
/// is watched by its server's `IdleConnections`: any byte or close from the server, or
/// the group's idle timeout (the connection's own read timeout: no timer per
/// connection), closes it. Taking is LIFO, so the warmest connection is reused and
/// extras age out. Keyed by the address connected to: a reload or a re-resolution makes
/// new server objects, and an unchanged address keeps its warm connections; a new
/// address has its own pool, and connections to the old one age out.
/// Loop thread only.
final class UpstreamPools {
    private let loop: EventLoop
    private var idle: [SocketAddress: IdleConnections] = [:]
    /// The pool used last: with one server (or a run of requests to one), taking and
    /// putting back cost no hashing.
    private var lastUsed: IdleConnections?
    private var positions: [ObjectIdentifier: Int] = [:]
    /// Connections opened and reused (for tests).
    private(set) var opened = 0
    private(set) var reused = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.connections.count } }

    /// The next server of `group` in round-robin order (this worker's own position), or
    /// nil when none of its names resolves.
    func nextServer(of group: UpstreamGroup) -> UpstreamServer? {
        let servers = group.servers
        if servers.count < 2 { return servers.first }
        let key = ObjectIdentifier(group)
        let position = positions[key, default: 0]
        positions[key] = position &+ 1
        return servers[position % servers.count]
    }

    /// An idle connection to `server`, or nil.
    func take(_ server: UpstreamServer) -> Connection? {
        guard let pool = existingPool(for: server) else { return nil }
        while let connection = pool.connections.popLast() {
            // Its FIN may have come with the last response and not been handled yet.
            if connection.peerHasClosed {
                connection.close()
                continue
            }
            connection.delegate = nil
            reused += 1
            return connection
        }
        return nil
    }

    /// Opens a new connection to `server`.
    func connect(_ server: UpstreamServer) throws(SystemError) -> Connection {
        let connection = try Connection(loop: loop, connectingTo: server.address)
        opened += 1
        return connection
    }

    /// Keeps `connection` for reuse, or closes it when the pool for its server is full.
    func put(_ connection: Connection, server: UpstreamServer, group: UpstreamGroup) {
        let pool: IdleConnections
        if let existing = existingPool(for: server) {
            pool = existing
        } else {
            // A new address: drop the empty pools of addresses gone, so that address
            // changes do not pile them up.
            idle = idle.filter { !$0.value.connections.isEmpty }
            pool = IdleConnections(address: server.address)
            pool.lastServer = server
            idle[server.address] = pool
            lastUsed = pool
        }
        guard connection.isOpen, !connection.peerHasClosed, connection.input.isEmpty, connection.output.isEmpty,
            pool.connections.count < group.maxIdle
        else {
            connection.close()
            return
        }
        connection.delegate = pool
        connection.setTimeouts(readMilliseconds: group.idleTimeoutMilliseconds, writeMilliseconds: nil)
        connection.setWriteLowWatermark(0)
        connection.enableReading()
        pool.connections.append(connection)
    }

    private func existingPool(for server: UpstreamServer) -> IdleConnections? {
        if let lastUsed, lastUsed.lastServer === server { return lastUsed }
        guard let pool = idle[server.address] else { return nil }
        pool.lastServer = server
        lastUsed = pool
        return pool
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        lastUsed = nil
        for pool in idle.values {
            for connection in pool.connections { connection.close() }
            pool.connections.removeAll()
        }
        idle.removeAll()
    }
}

/// The idle connections to one address, and their delegate while idle: one that speaks,
/// closes, fails or stays idle past its read timeout is no longer usable.
private final class IdleConnections: ConnectionDelegate {
    let address: SocketAddress
    /// The server object last looked up with: the same one again needs no hashing.
    var lastServer: UpstreamServer?
    var connections: [Connection] = []

    init(address: SocketAddress) {
        self.address = address
    }

    func connectionDidRead(_ connection: Connection) { discard(connection) }
    func connectionDidDrain(_ connection: Connection) {}
    func connection(_ connection: Connection, didReceive event: ConnectionEvent) { discard(connection) }

    private func discard(_ connection: Connection) {
        if let index = connections.lastIndex(where: { $0 === connection }) { connections.remove(at: index) }
        connection.close()
    }
}
