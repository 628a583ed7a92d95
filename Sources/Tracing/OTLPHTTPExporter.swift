import HTTP1
import Libevent
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Sends spans over OTLP/HTTP (`POST {endpoint}/v1/traces`), protobuf or JSON, gzip when
/// asked, HTTPS through OpenSSL — what Honeycomb and collectors accept.
///
/// Rules (OpenTelemetry specification, OTLP exporter and batch span processor): batches
/// of `maxExportBatchSize`, sent when full or every `scheduleDelayMilliseconds`. Up to
/// `maxConcurrentExports` exports are in flight at once (the specification's "concurrent
/// requests"), each on a sender thread of its own with its own kept connection, so a
/// collector 50 ms away does not cap what gets out. When spans pile up while every sender
/// is busy, the next batches grow, within `maxExportBytes`. Retry only on 429, 502, 503,
/// 504, a failed connection or a disconnect without a response, honouring `Retry-After`,
/// otherwise exponential backoff with jitter, all within the export timeout, then the
/// batch is dropped; a 429 or a `Retry-After` pauses every sender. Any other status: no
/// retry. A 200 with `partial_success` is not retried; its rejected count is logged. At
/// most 4 MiB of a response is read. Exports are not ordered (OTLP does not need it).
///
/// `@unchecked Sendable`: `export`, `forward`, `forceFlush` and `shutdown` run on the span
/// pipeline's thread only (they alone touch the pending spans); senders share only the
/// job queue and the counters (behind `Mutex`es) and atomics; `interrupt` is for any thread.
public final class OTLPHTTPExporter: SpanExporter, @unchecked Sendable {
    public struct Counters: Sendable, Equatable {
        /// Spans taken for export (the proxy's and forwarded ones).
        public var queuedSpans = 0
        public var exportedSpans = 0
        /// Every span lost, whatever the reason; the three below say why.
        public var droppedSpans = 0
        /// More pending than `OTEL_BSP_MAX_QUEUE_SIZE` (the collector did not keep up).
        public var droppedQueueFull = 0
        /// Exports that failed (refused, or no success within the export timeout).
        public var droppedFailedExports = 0
        /// Refused by the collector in a partial success.
        public var droppedRejected = 0
        public var failedExports = 0
        public var retries = 0
        /// Exports sent (each attempt that reached a response or failed counts once).
        public var exports = 0
        /// The most exports seen in flight at once.
        public var maxInFlight = 0
        /// Spans of received requests delivered (also counted in `exportedSpans`).
        public var forwardedSpans = 0

        public init() {}
    }

    public let settings: OTLPExporterSettings
    let resource: TraceResource
    private let preamble: OTLPEncoder.Preamble
    let logger: Logger
    let counters = Mutex(Counters())
    let stopping = Atomic<Bool>(false)
    /// Set by `interrupt()`: backoffs end at once; waits on the collector end at the
    /// shutdown deadline.
    let interrupted = Atomic<Bool>(false)
    /// Monotonic nanoseconds after which every wait on the collector gives up (0: none).
    let shutdownDeadline = Atomic<UInt64>(0)
    /// Monotonic nanoseconds before which no sender starts a request (a 429 or a
    /// `Retry-After` pauses them all).
    let pausedUntil = Atomic<UInt64>(0)
    /// Spans waiting for a full batch or the schedule: encoded already (protobuf), or as
    /// records (JSON).
    private var pending: EncodedSpanQueue
    private var pendingRecords: [SpanRecord] = []
    /// Received requests to send on (`forward`), protobuf.
    private var forwarded: [(request: [UInt8], spans: Int)] = []
    /// One forwarded export carries at most this much (more only for one large request).
    static let maxForwardedBodyBytes = 4 * 1024 * 1024
    /// The senders and their queue.
    let senders: ExportSenders
    private var lastSend = ExportConnection.monotonicNanoseconds()
    private let lastProblemLog = Atomic<UInt64>(0)
    /// Problems are logged at most this often.
    public static let logIntervalNanoseconds: UInt64 = 10_000_000_000
    public static let maxResponseBytes = 4 * 1024 * 1024
    /// The final flush, with the exports then in flight, gets this long, backoff included.
    public static let shutdownMilliseconds = 3_000

    public init(settings: OTLPExporterSettings, resource: TraceResource, logger: Logger) {
        self.settings = settings
        self.resource = resource
        self.preamble = OTLPEncoder.Preamble(resource)
        pending = EncodedSpanQueue(headroom: preamble.maximumHeaderLength)
        self.logger = logger
        senders = ExportSenders(limit: max(1, settings.maxConcurrentExports))
    }

    public var currentCounters: Counters { counters.withLock { $0 } }

    /// True when spans may be handed over already encoded (`export(encoded:)`): the
    /// protocol is protobuf.
    public var takesEncodedSpans: Bool { !settings.json }

    public func export(_ spans: [SpanRecord]) {
        if !spans.isEmpty { counters.withLock { $0.queuedSpans += spans.count } }
        if settings.json {
            pendingRecords.append(contentsOf: spans)
        } else if !spans.isEmpty {
            var writer = makeSpanWriter()
            for span in spans { span.write(to: &writer) }
            pending.append(writer.spans)
        }
        sendWhatIsDue()
    }

    /// Spans already encoded (by a worker; the span pipeline gave them to the store too).
    /// Only when `takesEncodedSpans`. Spans written by a `makeSpanWriter()` writer are
    /// sent as they lie when an export takes them whole; others are copied first.
    public func export(encoded spans: consuming EncodedSpans) {
        precondition(takesEncodedSpans, "OTLP/JSON takes span records")
        let count = spans.count
        if spans.headroom == pending.headroom {
            pending.append(consume spans)  // referenced once: an export can take it in place
        } else {
            var copy = makeSpanWriter()
            copy.spans.append(contentsOf: spans)
            pending.append(copy.spans)
        }
        counters.withLock { $0.queuedSpans += count }
        sendWhatIsDue()
    }

    /// A writer whose spans `export(encoded:)` can take without a copy: room is kept ahead
    /// of them for the export request's resource and scope.
    public func makeSpanWriter(capacity: Int = EncodedSpans.initialCapacity) -> OTLPSpanWriter {
        OTLPSpanWriter(headroom: preamble.maximumHeaderLength, capacity: capacity)
    }

    /// How many spans an export carries (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    public var batchSize: Int { settings.maxExportBatchSize }

    /// A request the receiver took from another service, sent on as it came (protobuf
    /// requests concatenate; for OTLP/JSON its resource spans are written as JSON), with
    /// the next exports. The pipeline bounds how much may wait.
    public func forward(_ request: [UInt8], spanCount: Int) {
        counters.withLock { $0.queuedSpans += spanCount }
        forwarded.append((request, spanCount))
        sendWhatIsDue()
    }

    private var pendingCount: Int { settings.json ? pendingRecords.count : pending.count }

    /// As many exports as there are free senders: full batches (larger when spans piled
    /// up), forwarded requests, and a partial batch when the schedule delay has passed.
    private func sendWhatIsDue() {
        // The queue bound applies here too: a stalled collector must not grow memory.
        let excess = pendingCount - settings.maxQueueSize
        if excess > 0 {
            dropPending(excess)
            counters.withLock {
                $0.droppedSpans += excess
                $0.droppedQueueFull += excess
            }
            logProblem("spans arrive faster than the collector takes them; the oldest are dropped", ["dropped_now": "\(excess)"])
        }
        guard !stopping.load(ordering: .relaxed) else { return }
        var free = senders.freeSlots
        while free > 0, !forwarded.isEmpty {
            dispatchForwarded()
            free -= 1
        }
        while free > 0, pendingCount >= settings.maxExportBatchSize {
            dispatchPending(batchSize(freeSenders: free))
            free -= 1
        }
        let elapsed = ExportConnection.monotonicNanoseconds() - lastSend
        if free > 0, pendingCount > 0, elapsed >= UInt64(settings.scheduleDelayMilliseconds) * 1_000_000 {
            dispatchPending(pendingCount)
        }
    }

    /// How many pending spans the next export takes: a batch, or when spans piled up while
    /// the senders were busy, a share of them across the free senders, within
    /// `maxExportBytes` (protobuf: counted exactly, and cut where a batch a worker
    /// encoded ends when one does; JSON: about 1 KB a span).
    private func batchSize(freeSenders: Int) -> Int {
        let share = (pendingCount + freeSenders - 1) / freeSenders
        var count = max(settings.maxExportBatchSize, min(share, pendingCount))
        if settings.json {
            count = min(count, max(settings.maxExportBatchSize, settings.maxExportBytes / 1024))
        } else {
            // The most spans, from the batch size up, whose encoding fits the byte cap.
            var low = min(settings.maxExportBatchSize, count)
            var high = count
            while low < high {
                let middle = (low + high + 1) / 2
                if pending.byteCount(ofFirst: middle) <= settings.maxExportBytes { low = middle } else { high = middle - 1 }
            }
            // Whole batches as they came, when they fit: sent without a copy.
            count = pending.batchAligned(low, maxBytes: settings.maxExportBytes)
        }
        return min(count, pendingCount)
    }

    /// Sends everything pending now and waits until no export is in flight (the
    /// specification's ForceFlush), at most `timeoutMilliseconds` (default: twice the
    /// export timeout). Pipeline thread (or a test).
    public func forceFlush(timeoutMilliseconds: Int? = nil) {
        let budget = UInt64(timeoutMilliseconds ?? 2 * settings.timeoutMilliseconds + 1_000) * 1_000_000
        let deadline = ExportConnection.monotonicNanoseconds() + budget
        while ExportConnection.monotonicNanoseconds() < deadline {
            if senders.freeSlots > 0 {
                if !forwarded.isEmpty {
                    dispatchForwarded()
                    continue
                }
                if pendingCount > 0 {
                    dispatchPending(min(pendingCount, batchSize(freeSenders: senders.freeSlots)))
                    continue
                }
                if senders.isIdle { return }
            }
            usleep(1_000)
        }
    }

    /// Stops taking spans, sends what is pending, and lets the exports in flight finish,
    /// all within `shutdownMilliseconds` (from `interrupt()` when it came first); then the
    /// sender threads stop. Logs what was queued, sent, retried and dropped.
    public func shutdown() {
        if shutdownDeadline.load(ordering: .relaxed) == 0 {
            shutdownDeadline.store(ExportConnection.monotonicNanoseconds() + UInt64(Self.shutdownMilliseconds) * 1_000_000, ordering: .relaxed)
        }
        let deadline = shutdownDeadline.load(ordering: .relaxed)
        stopping.store(true, ordering: .relaxed)
        // The final flush: retries and backoffs only within the deadline, where every wait
        // on the collector ends too.
        while ExportConnection.monotonicNanoseconds() < deadline, pendingCount > 0 || !forwarded.isEmpty || !senders.isIdle {
            if senders.freeSlots > 0, !forwarded.isEmpty {
                dispatchForwarded()
            } else if senders.freeSlots > 0, pendingCount > 0 {
                dispatchPending(min(pendingCount, batchSize(freeSenders: senders.freeSlots)))
            } else {
                usleep(1_000)
            }
        }
        let lost = pendingCount + forwarded.reduce(0) { $0 + $1.spans }
        if lost > 0 {
            counters.withLock {
                $0.droppedSpans += lost
                $0.droppedFailedExports += lost
            }
        }
        dropPending(pendingCount)
        forwarded.removeAll()
        senders.stop()
        let counts = currentCounters
        if counts.queuedSpans > 0 {
            logger.info("span export summary", metadata: [
                "queued": "\(counts.queuedSpans)", "exported": "\(counts.exportedSpans)", "exports": "\(counts.exports)",
                "retries": "\(counts.retries)", "dropped": "\(counts.droppedSpans)",
                "dropped_queue_full": "\(counts.droppedQueueFull)", "dropped_failed_exports": "\(counts.droppedFailedExports)",
                "dropped_rejected_by_collector": "\(counts.droppedRejected)", "max_in_flight": "\(counts.maxInFlight)",
            ])
        }
    }

    /// Starts the shutdown (from any thread): backoffs end at once, and waits on the
    /// collector get `shutdownMilliseconds` more; the pipeline then calls `shutdown()`.
    public func interrupt() {
        if shutdownDeadline.load(ordering: .relaxed) == 0 {
            shutdownDeadline.store(ExportConnection.monotonicNanoseconds() + UInt64(Self.shutdownMilliseconds) * 1_000_000, ordering: .relaxed)
        }
        stopping.store(true, ordering: .relaxed)
        interrupted.store(true, ordering: .relaxed)
    }

    /// True once the shutdown deadline has passed: every wait on the collector gives up.
    var pastShutdownDeadline: Bool {
        let deadline = shutdownDeadline.load(ordering: .relaxed)
        return deadline != 0 && ExportConnection.monotonicNanoseconds() >= deadline
    }

    // MARK: Building exports

    enum Outcome: Equatable {
        case delivered(rejected: Int)
        /// 429, 502, 503, 504, connection failure, disconnect without a response.
        /// `throttled`: a 429, which slows every sender.
        case retryable(reason: String, retryAfterMilliseconds: Int?, throttled: Bool = false)
        case rejected(reason: String)
    }

    private func dropPending(_ count: Int) {
        if settings.json {
            pendingRecords.removeFirst(min(count, pendingRecords.count))
        } else {
            pending.removeFirst(count)
        }
    }

    /// Hands the first `count` pending spans to a sender as one export, and forgets them.
    /// Protobuf requests are built around the spans where they were encoded and handed
    /// over without a copy (`EncodedSpans.takeRequest`).
    private func dispatchPending(_ count: Int) {
        var body: ExportBody
        if settings.json {
            body = ExportBody(OTLPJSONEncoder.encode(Array(pendingRecords.prefix(count)), resource: resource))
            dropPending(count)
        } else {
            body = pending.takeRequest(count, preamble: preamble)
        }
        if settings.gzip, let compressed = body.withUnsafeBytes({ Gzip.compress($0) }) { body = ExportBody(compressed) }
        dispatch(ExportSenders.Job(body: body, spanCount: count, forwarded: false))
    }

    /// Hands forwarded requests, as many as fit in one body, to a sender, and forgets them.
    private func dispatchForwarded() {
        var taken = 0
        var bytes = 0
        while taken < forwarded.count, taken == 0 || bytes + forwarded[taken].request.count <= Self.maxForwardedBodyBytes {
            bytes += forwarded[taken].request.count
            taken += 1
        }
        let requests = forwarded.prefix(taken)
        forwarded.removeFirst(taken)
        let spanCount = requests.reduce(0) { $0 + $1.spans }
        var body: [UInt8]
        if settings.json {
            var out = JSONOutput(capacity: bytes * 2)
            out.append("{\"resourceSpans\":[")
            var first = true
            for (request, _) in requests {
                var reader = ProtobufReader(request)
                while let (field, value) = (try? reader.next()) ?? nil {
                    guard field == 1, case .bytes(let range) = value else { continue }
                    if !first { out.append(",") }
                    first = false
                    OTLPProtobufJSON.write(request, range, as: .resourceSpans, to: &out)
                }
            }
            out.append("]}")
            body = out.bytes
        } else {
            body = []
            body.reserveCapacity(bytes)
            for (request, _) in requests { body += request }
        }
        if settings.gzip, let compressed = Gzip.compress(body) { body = compressed }
        dispatch(ExportSenders.Job(body: ExportBody(body), spanCount: spanCount, forwarded: true))
    }

    private func dispatch(_ job: ExportSenders.Job) {
        lastSend = ExportConnection.monotonicNanoseconds()
        // The job holds the exporter until it is done.
        let inFlight = senders.submit(job) { [self] sender, job in send(job, on: sender) }
        counters.withLock { $0.maxInFlight = max($0.maxInFlight, inFlight) }
    }

    func logProblem(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        let now = ExportConnection.monotonicNanoseconds()
        let last = lastProblemLog.load(ordering: .relaxed)
        guard last == 0 || now - last >= Self.logIntervalNanoseconds,
            lastProblemLog.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        var metadata = metadata
        let counts = currentCounters
        metadata["exported"] = "\(counts.exportedSpans)"
        metadata["dropped"] = "\(counts.droppedSpans)"
        metadata["failed_exports"] = "\(counts.failedExports)"
        metadata["retries"] = "\(counts.retries)"
        logger.warning(message, metadata: metadata)
    }
}
