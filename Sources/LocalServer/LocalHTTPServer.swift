import HTTP1
import Libevent
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server for hoptrace's own listeners (admin and explorer, OTLP
/// receiver): its own thread and event loop, apart from the workers, so that nothing it
/// does competes with proxying. Keep-alive and pipelining, many connections at once,
/// bodies read whole within a cap, strict parsing by the same codec as the proxy.
///
/// `@unchecked Sendable`: `stop()` only posts to the loop; everything else runs on the
/// server's thread once `start()` has run.
public final class LocalHTTPServer: @unchecked Sendable {
    public struct Options: Sendable {
        /// The largest body read, as sent (before any decompression). Default 16 MiB.
        public var maxBodyBytes = 16 * 1024 * 1024
        /// Body bytes all connections may hold at once while reading; beyond it new
        /// bodies are refused (`.busy`). Default 64 MiB.
        public var maxBufferedBodyBytes = 64 * 1024 * 1024
        /// Connections open at once; more are closed on accept. Default 256.
        public var maxConnections = 256
        /// A connection with nothing arriving for this long is closed. Default 60 s.
        public var idleTimeoutMilliseconds = 60_000
        public var limits = HTTPLimits(maxHeaderBytes: 16 * 1024, maxHeaderCount: 100)

        public init() {}
    }

    let loop: EventLoop
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: LocalSession] = [:]
    private let handler: LocalHTTPHandler
    private let name: String
    private var thread: pthread_t?
    var options: Options
    /// Body bytes held by sessions reading bodies now.
    var bufferedBodyBytes = 0
    public let boundAddress: SocketAddress

    /// Binds `address` now, so that a port in use is reported at start-up.
    /// `name` names the thread (`hoptrace-admin`).
    public init(address: SocketAddress, name: String, options: Options = Options(), handler: LocalHTTPHandler) throws(SystemError) {
        loop = try EventLoop()
        self.handler = handler
        self.name = name
        self.options = options
        let fd = try ListeningSocket.open(address, reusePort: false, backlog: 128)
        boundAddress = try ListeningSocket.localAddress(of: fd)
        listener = try Listener(loop: loop, descriptor: fd) { [unowned self] fd, _ in accept(fd) }
    }

    public func start() {
        thread = spawnThread(name: name) { [self] in
            loop.run()
            listener = nil
            for session in Array(sessions.values) { session.connection.close() }
            sessions.removeAll()
            loop.releaseDeferred()
        }
    }

    /// Stops the loop and waits for the thread. Connections are closed.
    public func stop() {
        loop.stop()
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// Runs `change` on the server's thread (a reload of the handler's settings).
    public func post(_ change: @escaping @Sendable () -> Void) {
        loop.post(change)
    }

    /// New options for connections and requests from now on (any thread).
    public func apply(_ options: Options) {
        loop.post { [self] in self.options = options }
    }

    private func accept(_ fd: Int32) {
        guard sessions.count < options.maxConnections else {
            close(fd)
            return
        }
        guard let connection = try? Connection(loop: loop, descriptor: fd) else { return }
        let session = LocalSession(connection: connection, server: self, handler: handler)
        let key = ObjectIdentifier(session)
        sessions[key] = session
        connection.didClose = { [unowned self] in
            if let session = sessions.removeValue(forKey: key) {
                session.releaseBuffered()
                loop.deferRelease(session)
            }
        }
        connection.setTimeouts(readMilliseconds: options.idleTimeoutMilliseconds, writeMilliseconds: options.idleTimeoutMilliseconds)
    }
}
