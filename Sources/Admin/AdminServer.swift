import HTTP1
import Libevent
import Logging
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// The admin listener: `GET /healthz`, `GET /traces`, `GET /traces/{trace_id}`.
/// Runs on its own thread and event loop, apart from the workers, so inspecting traces
/// never competes with proxying. One request per connection.
///
/// `@unchecked Sendable`: `stop()` only posts to the loop; everything else runs on the
/// admin thread.
public final class AdminServer: @unchecked Sendable {
    private let loop: EventLoop
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: AdminSession] = [:]
    private let store: TraceStore?
    private var thread: pthread_t?
    public let boundAddress: SocketAddress

    /// Binds `address` now (so a port in use is reported at start-up).
    public init(address: SocketAddress, store: TraceStore?) throws(SystemError) {
        loop = try EventLoop()
        self.store = store
        let fd = try ListeningSocket.open(address, reusePort: false, backlog: 64)
        boundAddress = try ListeningSocket.localAddress(of: fd)
        listener = try Listener(loop: loop, descriptor: fd) { [unowned self] fd, _ in accept(fd) }
    }

    public func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            let server = Unmanaged<AdminServer>.fromOpaque(argument!).takeRetainedValue()
            server.loop.run()
            server.listener = nil
            for session in server.sessions.values { session.connection.close() }
            server.sessions.removeAll()
            server.loop.releaseDeferred()
            return nil
        }, box.toOpaque())
        self.thread = thread
    }

    public func stop() {
        loop.stop()
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func accept(_ fd: Int32) {
        guard let connection = try? Connection(loop: loop, descriptor: fd) else { return }
        let session = AdminSession(connection: connection, store: store)
        let key = ObjectIdentifier(session)
        sessions[key] = session
        connection.didClose = { [unowned self] in
            if let session = sessions.removeValue(forKey: key) { loop.deferRelease(session) }
        }
        connection.setTimeouts(readMilliseconds: 10_000, writeMilliseconds: 10_000)
    }
}

/// One admin connection: read a request head, answer, close.
final class AdminSession: ConnectionDelegate {
    let connection: Connection
    private let store: TraceStore?
    private var scanner = HeadScanner(maxHeadBytes: 16 * 1024)

    init(connection: Connection, store: TraceStore?) {
        self.connection = connection
        self.store = store
        connection.delegate = self
    }

    func connectionDidRead(_ connection: Connection) {
        switch scanner.scan({ connection.input.forEachChunk(from: $0, $1) }) {
        case .needMore:
            return
        case .failed(let error):
            respond(error.status, "text/plain; charset=utf-8", Array("\(error.reason)\n".utf8))
        case .complete(let leading, let end):
            connection.input.drain(leading)
            let bytes = connection.input.remove(end - leading)
            do throws(HTTPParseError) {
                let head = try RequestHeadParser().parse(bytes)
                let (status, type, body) = AdminRoutes.answer(
                    method: head.methodString, path: head.path.isEmpty ? "/" : head.string(head.path), store: store)
                respond(status, type, head.methodKind == .head ? [] : body, length: body.count)
            } catch {
                respond(error.status, "text/plain; charset=utf-8", Array("\(error.reason)\n".utf8))
            }
        }
    }

    func connectionDidDrain(_ connection: Connection) {}

    func connection(_ connection: Connection, didReceive event: ConnectionEvent) {
        connection.close()
    }

    private func respond(_ status: Int, _ type: String, _ body: [UInt8], length: Int? = nil) {
        var writer = HeadWriter(capacity: 256)
        writer.append("HTTP/1.1 \(status) \(status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" : "Bad Request")\r\n")
        writer.append("Content-Type: \(type)\r\nContent-Length: \(length ?? body.count)\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n")
        connection.output.append(writer.bytes)
        connection.output.append(body)
        connection.closeAfterFlush()
    }
}
