import Libevent

/// One worker's idle upstream connections, per server, plus its round-robin positions.
///
/// A connection is put back only after a complete, well-framed exchange. While idle it
/// is watched: any byte or close from the server, or the group's idle timeout, closes it.
/// Taking is LIFO, so the warmest connection is reused and extras age out.
/// Loop thread only.
final class UpstreamPools: ConnectionDelegate {
    private final class IdleEntry {
        let connection: Connection
        let server: UpstreamServer
        var timer: Timer?

        init(connection: Connection, server: UpstreamServer) {
            self.connection = connection
            self.server = server
        }
    }

    private let loop: EventLoop
    private var idle: [SocketAddress: [IdleEntry]] = [:]
    private var entries: [ObjectIdentifier: IdleEntry] = [:]
    private var positions: [ObjectIdentifier: Int] = [:]
    /// Connections opened (for metrics and tests).
    private(set) var opened = 0
    private(set) var reused = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    var idleCount: Int { entries.count }

    /// The next server of `group` in round-robin order (this worker's own position), or
    /// nil when none of its names resolves.
    func nextServer(of group: UpstreamGroup) -> UpstreamServer? {
        if group.servers.isEmpty { return nil }
        let key = ObjectIdentifier(group)
        let position = positions[key, default: 0]
        positions[key] = position &+ 1
        return group.servers[position % group.servers.count]
    }

    /// An idle connection to `server`, or nil.
    func take(_ server: UpstreamServer) -> Connection? {
        // Popped in place: copying the list out would copy (and retain) every entry.
        while let entry = idle[server.address]?.popLast() {
            entries[ObjectIdentifier(entry.connection)] = nil
            entry.timer?.cancel()
            // Its FIN may have come with the last response and not been handled yet.
            if entry.connection.peerHasClosed {
                entry.connection.close()
                continue
            }
            entry.connection.delegate = nil
            reused += 1
            return entry.connection
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
        guard connection.isOpen, !connection.peerHasClosed, connection.input.isEmpty, connection.output.isEmpty,
            idle[server.address, default: []].count < group.maxIdle
        else {
            connection.close()
            return
        }
        let entry = IdleEntry(connection: connection, server: server)
        connection.delegate = self
        connection.setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        connection.setWriteLowWatermark(0)
        connection.enableReading()
        entry.timer = Timer(loop: loop) { [unowned self, unowned connection] in discard(connection) }
        entry.timer!.schedule(milliseconds: group.idleTimeoutMilliseconds)
        idle[server.address, default: []].append(entry)
        entries[ObjectIdentifier(connection)] = entry
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        for entry in entries.values {
            entry.timer?.cancel()
            entry.connection.close()
        }
        entries.removeAll()
        idle.removeAll()
    }

    private func discard(_ connection: Connection) {
        guard let entry = entries.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        entry.timer?.cancel()
        idle[entry.server.address]?.removeAll { $0 === entry }
        loop.deferRelease(entry)
        connection.close()
    }

    // An idle connection that speaks or closes is no longer usable.
    func connectionDidRead(_ connection: Connection) { discard(connection) }
    func connectionDidDrain(_ connection: Connection) {}
    func connection(_ connection: Connection, didReceive event: ConnectionEvent) { discard(connection) }
}
