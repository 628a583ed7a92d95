import Config
import Libevent
import Logging
import Synchronization
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// The running proxy: its workers, their listening sockets, and the configuration they
/// share. Called from the main thread (the CLI) or a test.
///
/// `@unchecked Sendable`: `workers` and `boundAddress` are changed only by the thread that
/// owns the server (start, stop); the configuration in force is behind a lock, because
/// the upstream resolver's thread swaps in new addresses; workers receive new values
/// through their loops' `post`.
public final class ProxyServer: @unchecked Sendable {
    private struct Current {
        var configuration: RuntimeConfiguration
        var accessLog: AccessLog?
        /// Bumped by each reload: the resolver's results for an older one are dropped.
        var generation = 0
    }

    public var configuration: RuntimeConfiguration { current.withLock { $0.configuration } }
    public private(set) var boundAddress: SocketAddress?
    private let current: Mutex<Current>
    private var workers: [Worker] = []
    private var resolver: UpstreamResolver?
    private let lookup: UpstreamResolver.Lookup
    private let workerCount: Int
    private let logger: Logger
    private let tracing: TracingSetup
    private let stopped = Mutex<(count: Int, waiter: (@Sendable () -> Void)?)>((0, nil))

    /// - Parameter lookup: how the background resolver looks names up (tests pass their own).
    /// The workers' counters, for `/metrics`.
    public let metrics = ProxyMetrics()

    public init(
        configuration: RuntimeConfiguration, tracing: TracingSetup = .off, logger: Logger,
        lookup: @escaping UpstreamResolver.Lookup = UpstreamResolver.system
    ) throws(ConfigProblems) {
        self.tracing = tracing
        self.logger = logger
        self.lookup = lookup
        if let count = configuration.source.workers {
            workerCount = count
        } else {
            workerCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        }
        let accessLog = try AccessLog.open(configuration.source.accessLog, format: configuration.source.accessLogFormat)
        current = Mutex(Current(configuration: configuration, accessLog: accessLog))
    }

    /// Opens one listening socket per worker and starts the workers. Throws with the
    /// reason (for example "cannot listen on 0.0.0.0:8080: Address already in use").
    public func start() throws(SystemError) {
        // Writes to a peer that went away must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let (configuration, accessLog) = current.withLock { ($0.configuration, $0.accessLog) }
        let resolver = try UpstreamResolver(configuration: configuration, lookup: lookup, logger: logger) {
            [weak self] configuration, generation in self?.applyResolved(configuration, generation: generation)
        }
        var address = configuration.listenAddress
        var descriptors: [Int32] = []
        do throws(SystemError) {
            for _ in 0..<workerCount {
                let fd = try ListeningSocket.open(address, reusePort: true)
                descriptors.append(fd)
                // With port 0 the first socket picks the port; the others share it.
                if descriptors.count == 1 { address = try ListeningSocket.localAddress(of: fd) }
            }
            boundAddress = address
            for (index, fd) in descriptors.enumerated() {
                workers.append(try Worker(
                    index: index, configuration: configuration, accessLog: accessLog, listeningDescriptor: fd,
                    tracing: tracing, resolver: resolver, metrics: metrics, logger: logger,
                    didStop: { [weak self] _ in self?.workerDidStop() }))
            }
        } catch {
            for fd in descriptors.dropFirst(workers.count) { ListeningSocket.closeDescriptor(fd) }
            workers.removeAll()
            throw error
        }
        for worker in workers { worker.start() }
        self.resolver = resolver
        resolver.start()
    }

    public var workersRunning: Int { workers.count }

    /// Applies a new configuration to requests that start from now on. The listening
    /// address is not changed by a reload (sockets are never reopened).
    public func reload(_ newConfiguration: RuntimeConfiguration) throws(ConfigProblems) {
        let old = configuration
        if newConfiguration.source.listen != old.source.listen {
            logger.warning("listen address changes need a restart; keeping the old one",
                           metadata: ["listen": "\(old.source.listen)"])
        }
        let log = try AccessLog.open(newConfiguration.source.accessLog, format: newConfiguration.source.accessLogFormat)
        let generation = current.withLock { current in
            current.configuration = newConfiguration
            current.accessLog = log
            current.generation += 1
            for worker in workers { worker.apply(newConfiguration, accessLog: log) }
            return current.generation
        }
        resolver?.update(newConfiguration, generation: generation)
    }

    /// The resolver found new addresses for the configuration of `generation`.
    private func applyResolved(_ newConfiguration: RuntimeConfiguration, generation: Int) {
        current.withLock { current in
            guard current.generation == generation else { return }
            current.configuration = newConfiguration
            for worker in workers { worker.apply(newConfiguration, accessLog: current.accessLog) }
        }
    }

    /// Stops accepting and lets in-flight requests finish. `didStop` runs (on a worker
    /// thread) once every worker is idle and stopped.
    public func drain(didStop: @escaping @Sendable () -> Void) {
        let alreadyStopped = stopped.withLock { state -> Bool in
            state.waiter = didStop
            return state.count == workers.count
        }
        if alreadyStopped { didStop() }
        for worker in workers { worker.beginDrain() }
    }

    /// Stops every worker at once and waits for their threads.
    public func stop() {
        stopResolver()
        for worker in workers { worker.stop() }
        for worker in workers { worker.join() }
        workers.removeAll()
        tracing.shutdown()
    }

    /// Waits for drained workers' threads to end, then exports the spans still queued.
    public func join() {
        stopResolver()
        for worker in workers { worker.join() }
        workers.removeAll()
        tracing.shutdown()
    }

    private func stopResolver() {
        resolver?.stop()
        resolver = nil
    }

    private func workerDidStop() {
        let waiter = stopped.withLock { state -> (@Sendable () -> Void)? in
            state.count += 1
            return state.count == workers.count ? state.waiter : nil
        }
        waiter?()
    }
}
