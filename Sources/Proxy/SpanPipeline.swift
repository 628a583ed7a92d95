import Libevent
import Logging
import Synchronization
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// Carries finished spans from the workers to the exporter and the trace store, on a
/// thread of its own; and requests the receiver took on to the exporter, when it
/// forwards them.
///
/// Workers describe their spans in the forms the pipeline takes (`forms`: OTLP protobuf,
/// with each span's facts for the store, or records) and submit a batch at a time (one
/// lock per batch, never per span). The queue is bounded (`OTEL_BSP_MAX_QUEUE_SIZE`,
/// default 2048 spans): a batch that does not fit is dropped and its spans counted, so a
/// slow exporter never slows a request or grows memory. The pipeline thread wakes on its
/// tick or when a good share of the queue is filled, and gives each batch to the store
/// and the exporter.
///
/// `@unchecked Sendable`: the queue is behind a `Mutex`; `thread` and the pipe are set
/// in `init` and only read afterwards, except by `shutdown()`, called once by the owner.
final class SpanPipeline: @unchecked Sendable {
    private struct Queue {
        var batches: [SpanBatch] = []
        var queued = 0
        /// Spans the workers submitted, dropped ones included.
        var recorded = 0
        var dropped = 0
        var exported = 0
        var stopping = false
        /// Received requests to send on, and their size.
        var forwarded: [(request: [UInt8], spans: Int)] = []
        var forwardedBytes = 0
        var droppedForwardedSpans = 0
    }

    let capacity: Int
    /// Queued spans that wake the pipeline thread before its tick.
    private let wakeThreshold: Int
    private let exporter: (any SpanExporter)?
    /// The exporter again when it takes spans encoded as OTLP protobuf.
    private let encodingExporter: OTLPHTTPExporter?
    /// What the workers' batches hold.
    private let forms: SpanBatch.Forms
    /// The spans a worker describes before it submits them: as many as an export takes,
    /// so that the exporter takes a batch over whole; at most a quarter of the queue.
    let batchSize: Int
    /// The exporter again when it speaks OTLP: received requests can be forwarded.
    private let otlpExporter: OTLPHTTPExporter?
    /// Where the explorer reads the proxy's spans, with the source they are filed under.
    private let store: TraceStore?
    private let proxySource: SpanSource
    /// Received requests waiting to be forwarded take at most this much memory.
    static let maxForwardedBytes = 32 * 1024 * 1024
    private let logger: Logger
    private var lastReportedDrops = 0
    private var lastDropLog: UInt64 = 0
    private let queue = Mutex(Queue())
    /// [read end, write end]: a byte wakes the pipeline thread.
    private var wakePipe: [Int32] = [-1, -1]
    private var thread: pthread_t?

    init(exporter: (any SpanExporter)?, store: TraceStore?, proxySource: SpanSource, capacity: Int = 2048, logger: Logger) {
        self.exporter = exporter
        self.store = store
        self.proxySource = proxySource
        self.capacity = capacity
        wakeThreshold = max(1, min(512, capacity / 4))
        otlpExporter = exporter as? OTLPHTTPExporter
        encodingExporter = otlpExporter?.takesEncodedSpans == true ? otlpExporter : nil
        forms = SpanBatch.Forms(
            protobuf: encodingExporter != nil || store != nil, facts: store != nil,
            records: exporter != nil && encodingExporter == nil)
        batchSize = max(1, min(encodingExporter?.batchSize ?? 64, capacity / 4))
        self.logger = logger
        _ = pipe(&wakePipe)
        _ = fcntl(wakePipe[0], F_SETFL, fcntl(wakePipe[0], F_GETFL) | O_NONBLOCK)
        thread = spawnThread(name: "hoptrace-spans") { [self] in run() }
    }

    /// What the metrics read: the pipeline's counts, and the OTLP exporter's.
    struct Statistics: Sendable {
        /// Spans the workers recorded.
        var recorded = 0
        /// Spans handed on to the exporter and the store.
        var handedOn = 0
        /// Spans dropped because the pipeline's queue was full.
        var dropped = 0
        /// Spans in the pipeline's queue now.
        var queued = 0
        /// The OTLP exporter's counts, when spans go out over OTLP.
        var export: OTLPHTTPExporter.Counters?
    }

    var statistics: Statistics {
        var statistics = queue.withLock { state in
            Statistics(recorded: state.recorded, handedOn: state.exported, dropped: state.dropped, queued: state.queued)
        }
        statistics.export = otlpExporter?.currentCounters
        return statistics
    }
    var canForward: Bool { otlpExporter != nil }

    /// Received spans not forwarded because the forwarding queue was full.
    var droppedForwardedCount: Int { queue.withLock { $0.droppedForwardedSpans } }

    /// Takes a request the receiver accepted, to send on to the OTLP exporter as it is
    /// (protobuf), or drops it, counted, when too much is waiting. Never blocks. Nothing
    /// happens without an OTLP exporter.
    func forward(_ request: [UInt8], spanCount: Int) {
        guard otlpExporter != nil else { return }
        let wake = queue.withLock { state -> Bool in
            guard !state.stopping, state.forwardedBytes + request.count <= Self.maxForwardedBytes else {
                state.droppedForwardedSpans += spanCount
                return false
            }
            state.forwarded.append((request, spanCount))
            state.forwardedBytes += request.count
            return state.forwarded.count == 1
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakePipe[1], &byte, 1)
        }
    }

    /// An empty batch for a worker to describe its spans into, with room for `bytes` of
    /// protobuf.
    func makeBatch(bytes: Int) -> SpanBatch {
        SpanBatch(forms, writer: encodingExporter?.makeSpanWriter(capacity: bytes) ?? OTLPSpanWriter(headroom: 0, capacity: bytes))
    }

    /// Takes a batch from a worker, or drops it when it does not fit whole. Never blocks.
    func submit(_ batch: SpanBatch) {
        let count = batch.count
        let wake = queue.withLock { state -> Bool in
            state.recorded += count
            guard !state.stopping, state.queued + count <= capacity else {
                state.dropped += count
                return false
            }
            state.batches.append(batch)
            state.queued += count
            // Wake the thread for a good share of the queue, not for each submission.
            return state.queued >= wakeThreshold && state.queued - count < wakeThreshold
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakePipe[1], &byte, 1)
        }
    }

    /// Exports what is queued, then stops the thread. Called once, after the workers stopped.
    func shutdown() {
        guard thread != nil else { return }
        queue.withLock { $0.stopping = true }
        // An export backing off from a collector that is down would otherwise hold the
        // thread until its own timeout before the final flush even starts.
        exporter?.interrupt()
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
        if let thread { pthread_join(thread, nil) }
        thread = nil
        close(wakePipe[0])
        close(wakePipe[1])
    }

    /// Logs queue drops, at most every 10 seconds.
    private func reportDrops(_ dropped: Int) {
        guard dropped > lastReportedDrops else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        guard lastDropLog == 0 || nanoseconds - lastDropLog >= 10_000_000_000 else { return }
        logger.warning("span queue full: spans dropped", metadata: [
            "dropped_total": "\(dropped)", "dropped_since_last_report": "\(dropped - lastReportedDrops)",
            "queue_capacity": "\(capacity)",
        ])
        lastReportedDrops = dropped
        lastDropLog = nanoseconds
    }

    /// How often the exporter is called even when no spans arrive (for its schedule).
    static let tickMilliseconds: Int32 = 250

    /// Gives the spans to the store and the exporter in the form each takes; returns how many.
    /// `batches` is left empty: each batch is moved out, and its protobuf moved on to the
    /// exporter, so that no copy of it stays referenced and the exporter writes the
    /// request around the spans in place.
    private func hand(_ batches: inout [SpanBatch]) -> Int {
        var count = 0
        batches.reverse()
        while var batch = batches.popLast() {
            count += batch.count
            if let store, let encoded = batch.encoded, let facts = batch.facts {
                store.add(encoded: encoded, facts: facts, source: proxySource)
            }
            if let encodingExporter, let encoded = batch.takeEncoded() {
                encodingExporter.export(encoded: consume encoded)
            } else if let exporter, let records = batch.spanRecords {
                exporter.export(records)
            }
        }
        if count == 0 { exporter?.export([]) }  // the tick: the exporter sends on its schedule
        return count
    }

    private func run() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while true {
            var entry = pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, Self.tickMilliseconds) > 0 { _ = read(wakePipe[0], &scratch, scratch.count) }
            var (batches, forwarded, stopping) = queue.withLock { state -> ([SpanBatch], [(request: [UInt8], spans: Int)], Bool) in
                let taken = state.batches
                state.batches.removeAll()
                state.queued = 0
                let forwarded = state.forwarded
                state.forwarded.removeAll()
                state.forwardedBytes = 0
                return (taken, forwarded, state.stopping)
            }
            for (request, spans) in forwarded { otlpExporter?.forward(request, spanCount: spans) }
            let count = hand(&batches)
            let dropped = queue.withLock { state -> Int in
                state.exported += count
                return state.dropped
            }
            reportDrops(dropped)
            if stopping {
                exporter?.shutdown()
                if dropped > 0 {
                    logger.warning("span queue summary: spans dropped before export (the queue was full)", metadata: [
                        "dropped_queue_full": "\(dropped)", "queue_capacity": "\(capacity)",
                    ])
                }
                return
            }
        }
    }
}
