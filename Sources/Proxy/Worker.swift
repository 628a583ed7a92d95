import HTTP1
import Libevent
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One worker: a thread running its own event loop, with its own listening socket
/// (SO_REUSEPORT), client sessions and upstream pools. Nothing is shared with other
/// workers but immutable configuration snapshots and the access-log descriptor.
///
/// `@unchecked Sendable`: other threads only call `apply`, `beginDrain` and `stop`,
/// which hand their work to the worker's thread through `EventLoop.post`; every other
/// member is touched on that thread alone.
final class Worker: @unchecked Sendable {
    let index: Int
    let loop: EventLoop
    private(set) var configuration: RuntimeConfiguration
    private(set) var accessLog: AccessLog?
    let pools: UpstreamPools
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: ClientSession] = [:]
    private(set) var isDraining = false
    private var thread: pthread_t?
    private let logger: Logger
    private let didStop: @Sendable (Int) -> Void

    init(
        index: Int, configuration: RuntimeConfiguration, accessLog: AccessLog?, listeningDescriptor: Int32,
        logger: Logger, didStop: @escaping @Sendable (Int) -> Void
    ) throws(SystemError) {
        self.index = index
        self.loop = try EventLoop()
        self.configuration = configuration
        self.accessLog = accessLog
        self.pools = UpstreamPools(loop: loop)
        self.logger = logger
        self.didStop = didStop
        // Created before the thread starts; used only on it afterwards.
        self.listener = try Listener(loop: loop, descriptor: listeningDescriptor) { [unowned self] fd, peer in
            accept(fd, peer)
        }
    }

    func start() {
        thread = spawnThread(name: "hoptrace-w\(index)") { [self] in
            loop.run()
            // Release everything on this thread, before the loop's base goes away.
            listener = nil
            for session in Array(sessions.values) { session.close() }
            sessions.removeAll()
            pools.closeAll()
            loop.releaseDeferred()
            didStop(index)
        }
    }

    func join() {
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    var activeSessionCount: Int { sessions.count }

    /// Swaps in a new configuration for requests that start from now on.
    func apply(_ configuration: RuntimeConfiguration, accessLog: AccessLog?) {
        loop.post { [self] in
            self.configuration = configuration
            self.accessLog = accessLog
        }
    }

    /// Stops accepting; idle connections close now, busy ones after their response.
    /// The loop stops when the last session is gone.
    func beginDrain() {
        loop.post { [self] in
            isDraining = true
            listener = nil
            for session in Array(sessions.values) { session.drain() }
            pools.closeAll()
            stopIfDrained()
        }
    }

    /// Stops at once, cutting open connections.
    func stop() {
        loop.post { [self] in
            isDraining = true
            listener = nil
            for session in Array(sessions.values) { session.close() }
            loop.stop()
        }
    }

    private func accept(_ fd: Int32, _ peer: SocketAddress) {
        do throws(SystemError) {
            let connection = try Connection(loop: loop, descriptor: fd)
            let session = ClientSession(worker: self, client: connection, peer: peer, configuration: configuration)
            sessions[ObjectIdentifier(session)] = session
        } catch {
            logger.warning("cannot accept a connection", metadata: ["error": "\(error)"])
        }
    }

    func sessionDidClose(_ session: ClientSession) {
        if let removed = sessions.removeValue(forKey: ObjectIdentifier(session)) {
            loop.deferRelease(removed)
        }
        stopIfDrained()
    }

    private func stopIfDrained() {
        if isDraining, sessions.isEmpty { loop.stop() }
    }
}

/// Starts a detached-until-joined POSIX thread running `body`.
func spawnThread(name: String, _ body: @escaping () -> Void) -> pthread_t {
    final class Box {
        let body: () -> Void
        let name: String
        init(_ body: @escaping () -> Void, name: String) {
            self.body = body
            self.name = name
        }
    }
    let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
