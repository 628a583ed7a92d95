import HTTP1
import Libevent
import Logging
import Tracing
import W3CTraceContext

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
    let tracing: TracingSetup
    /// `OTEL_PROPAGATORS`, and whether `baggage` is one of them (read per attempt).
    let propagators: [Propagator]
    let propagatesBaggage: Bool
    /// From the tracing settings, read per request without copying them whole.
    let tracingDisabled: Bool
    let sampler: Sampler
    /// Asked to look names up again after a connect failure (nil in tests without one).
    let resolver: UpstreamResolver?
    /// This worker's own id source: no lock, no system call per id.
    var ids = IDGenerator()
    /// Where heads are written before they go to a connection's output: one per worker,
    /// cleared for each head, so writing a head allocates nothing.
    var scratch = HeadWriter(capacity: 4096)
    /// Finished spans, described, waiting to be handed over as one batch.
    private var spanBatch: SpanBatch?
    /// The room a new batch starts with: what the last full one took, and some, so that a
    /// batch is written without growing (each growth copies it).
    private var spanBatchBytes = 64 * 1024
    private var spanFlushTimer: Timer?
    /// A batch not yet full goes to the pipeline this long after its first span: spans
    /// reach the explorer and the exporter within about this and the pipeline's tick.
    static let spanFlushMilliseconds = 200

    init(
        index: Int, configuration: RuntimeConfiguration, accessLog: AccessLog?, listeningDescriptor: Int32,
        tracing: TracingSetup, resolver: UpstreamResolver? = nil, metrics: ProxyMetrics? = nil, logger: Logger,
        didStop: @escaping @Sendable (Int) -> Void
    ) throws(SystemError) {
        self.index = index
        self.publishedMetrics = metrics
        self.loop = try EventLoop()
        self.configuration = configuration
        self.accessLog = accessLog
        self.pools = UpstreamPools(loop: loop)
        self.tracing = tracing
        propagators = tracing.settings.propagators
        propagatesBaggage = propagators.contains(.baggage)
        tracingDisabled = tracing.settings.disabled
        sampler = tracing.settings.sampler
        self.resolver = resolver
        self.logger = logger
        self.didStop = didStop
        // Created before the thread starts; used only on it afterwards.
        self.listener = try Listener(loop: loop, descriptor: listeningDescriptor) { [unowned self] fd, peer in
            accept(fd, peer)
        }
    }

    func start() {
        thread = spawnThread(name: "hoptrace-w\(index)") { [self] in
            schedulePublish()
            loop.run()
            // Release everything on this thread, before the loop's base goes away.
            listener = nil
            for session in Array(sessions.values) { session.close() }
            sessions.removeAll()
            pools.closeAll()
            flushSpans()
            spanFlushTimer = nil
            publishTimer = nil
            publishMetrics()
            trimTimer = nil
            spareTimers.removeAll()
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
        closedSinceTrim += 1
        if closedSinceTrim == Self.closesBeforeTrim { scheduleTrim() }
        stopIfDrained()
    }

    // MARK: Metrics

    /// This worker's counters (its thread alone touches them).
    var metrics = WorkerMetrics()
    private let publishedMetrics: ProxyMetrics?
    private var publishTimer: Timer?
    static let publishMilliseconds = 1_000

    /// Hands a copy of the counters, and the gauges as they stand, to the scrape's side.
    private func publishMetrics() {
        guard let publishedMetrics else { return }
        metrics.clientConnections = sessions.count
        var active = 0
        var upstreams = 0
        for session in sessions.values {
            guard let exchange = session.exchange else { continue }
            active += 1
            if exchange.upstream != nil { upstreams += 1 }
        }
        metrics.activeRequests = active
        metrics.idleUpstreamConnections = pools.idleCount
        metrics.upstreamConnections = upstreams + metrics.idleUpstreamConnections
        publishedMetrics.publish(worker: index, metrics)
    }

    private func schedulePublish() {
        guard publishedMetrics != nil else { return }
        if publishTimer == nil {
            publishTimer = Timer(loop: loop) { [unowned self] in
                publishMetrics()
                schedulePublish()
            }
        }
        publishTimer?.schedule(milliseconds: Self.publishMilliseconds)
    }

    // MARK: Giving memory back

    /// Sessions closed since memory was last given back.
    private var closedSinceTrim = 0
    private var trimTimer: Timer?
    static let closesBeforeTrim = 1_024
    static let trimDelayMilliseconds = 1_000

    /// After a burst of connections has closed, the allocator keeps the freed pages for
    /// reuse; a second later (the burst is likely over), give them back to the system.
    private func scheduleTrim() {
        if trimTimer == nil {
            trimTimer = Timer(loop: loop) { [unowned self] in
                closedSinceTrim = 0
                releaseFreeMemory()
            }
        }
        trimTimer!.schedule(milliseconds: Self.trimDelayMilliseconds)
    }

    // MARK: Tracing

    /// Decides the trace of a request from its headers and its peer, before any span.
    func decideTrace(_ head: borrowing RequestHead, route: CompiledRoute?, peerIP: PeerIP) -> TraceDecision {
        if tracingDisabled { return .disabled }
        if !ReceivedContext.mayCarry(head) { return .newTrace(ids.traceID(), sampler: route?.sampler ?? sampler) }
        return decideTrace(ReceivedContext(head: head, propagators: propagators), route: route, peerIP: peerIP)
    }

    /// The trace of a request rejected before its head could be read: a new one.
    func decideNewTrace(peerIP: PeerIP) -> TraceDecision {
        if tracingDisabled { return .disabled }
        return .newTrace(ids.traceID(), sampler: sampler)
    }

    private func decideTrace(_ received: ReceivedContext, route: CompiledRoute?, peerIP: PeerIP) -> TraceDecision {
        let incoming = received.context
        let trusted = incoming != nil && configuration.trustedNetworks.contains(peerIP.bytes)
        return TraceDecision.decide(
            incoming: incoming, peerTrusted: trusted, untrusted: configuration.untrustedContext,
            sampler: route?.sampler ?? sampler, baggage: received.baggage, newTraceID: { ids.traceID() })
    }

    /// Describes a finished span into the batch; a full batch (or the flush timer) goes to
    /// the span pipeline.
    func record(_ span: consuming some DescribedSpan) {
        guard let pipeline = tracing.pipeline else { return }
        if spanBatch == nil { spanBatch = pipeline.makeBatch(bytes: spanBatchBytes) }
        // `add` answers the count: the optional batch is unwrapped once per span, not
        // three times.
        let count = spanBatch!.add(span)
        if count >= pipeline.batchSize {
            let used = spanBatch!.encodedByteCount
            spanBatchBytes = min(max(used + used / 8, 16 * 1024), 4 * 1024 * 1024)
            flushSpans()
        } else if count == 1 {
            if spanFlushTimer == nil { spanFlushTimer = Timer(loop: loop) { [unowned self] in flushSpans() } }
            spanFlushTimer?.schedule(milliseconds: Self.spanFlushMilliseconds)
        }
    }

    func flushSpans() {
        guard let batch = spanBatch.take(), let pipeline = tracing.pipeline else { return }
        spanFlushTimer?.cancel()
        pipeline.submit(batch)
    }

    // MARK: Deadlines

    /// Timers no session holds: a session takes one while it has a deadline to keep (a
    /// partial head, an upstream attempt, a tunnel) and gives it back when idle, so an
    /// idle keep-alive connection holds no timer.
    private var spareTimers: [Timer] = []
    static let maxSpareTimers = 256

    func takeTimer(for target: TimerTarget) -> Timer {
        let timer = spareTimers.popLast() ?? Timer(loop: loop)
        timer.target = target
        return timer
    }

    func giveBack(_ timer: Timer) {
        timer.cancel()
        timer.target = nil
        if spareTimers.count < Self.maxSpareTimers { spareTimers.append(timer) }
    }

    private func stopIfDrained() {
        if isDraining, sessions.isEmpty { loop.stop() }
    }
}
