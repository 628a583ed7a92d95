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
/// of `maxExportBatchSize`, sent when full or every `scheduleDelayMilliseconds`; one
/// export in flight. Retry only on 429, 502, 503, 504, a failed connection or a
/// disconnect without a response, honouring `Retry-After`, otherwise exponential backoff
/// with jitter, all within the export timeout, then the batch is dropped. Any other
/// status: no retry. A 200 with `partial_success` is not retried; its rejected count is
/// logged. At most 4 MiB of a response is read.
///
/// `@unchecked Sendable`: `export` and `shutdown` run on the span pipeline's thread only;
/// the counters are behind a `Mutex` and `stopping` is atomic, for other threads to read
/// and to interrupt a backoff.
public final class OTLPHTTPExporter: SpanExporter, @unchecked Sendable {
    public struct Counters: Sendable, Equatable {
        public var exportedSpans = 0
        public var droppedSpans = 0
        public var failedExports = 0
        public var retries = 0
        /// Spans of received requests delivered (also counted in `exportedSpans`).
        public var forwardedSpans = 0
    }

    public let settings: OTLPExporterSettings
    private let resource: TraceResource
    private let preamble: OTLPEncoder.Preamble
    private let logger: Logger
    private let counters = Mutex(Counters())
    private let stopping = Atomic<Bool>(false)
    /// Set by `interrupt()`: the export in progress gives up its waits at once.
    private let interrupted = Atomic<Bool>(false)
    /// Spans waiting for a full batch or the schedule: encoded already (protobuf), or as
    /// records (JSON).
    private var pending = OTLPSpanWriter()
    private var pendingRecords: [SpanRecord] = []
    /// Received requests to send on (`forward`), protobuf.
    private var forwarded: [(request: [UInt8], spans: Int)] = []
    /// One forwarded export carries at most this much (more only for one large request).
    static let maxForwardedBodyBytes = 4 * 1024 * 1024
    /// The connection to the collector, kept between exports while it allows.
    private var connection: ExportConnection?
    private var lastSend = ExportConnection.monotonicNanoseconds()
    private var lastProblemLog: UInt64 = 0
    /// Problems are logged at most this often.
    public static let logIntervalNanoseconds: UInt64 = 10_000_000_000
    public static let maxResponseBytes = 4 * 1024 * 1024
    /// The final flush at shutdown gets this long, backoff included.
    public static let shutdownMilliseconds = 3_000

    public init(settings: OTLPExporterSettings, resource: TraceResource, logger: Logger) {
        self.settings = settings
        self.resource = resource
        self.preamble = OTLPEncoder.Preamble(resource)
        self.logger = logger
    }

    public var currentCounters: Counters { counters.withLock { $0 } }

    /// True when spans may be handed over already encoded (`export(encoded:)`): the
    /// protocol is protobuf.
    public var takesEncodedSpans: Bool { !settings.json }

    public func export(_ spans: [SpanRecord]) {
        if settings.json {
            pendingRecords.append(contentsOf: spans)
        } else {
            for span in spans { span.write(to: &pending) }
        }
        sendWhatIsDue()
    }

    /// Spans written by `encode` straight into the pending export. Only when
    /// `takesEncodedSpans`.
    public func export(encoding encode: (inout OTLPSpanWriter) -> Void) {
        precondition(takesEncodedSpans, "OTLP/JSON takes span records")
        encode(&pending)
        sendWhatIsDue()
    }

    /// Spans already encoded (by the span pipeline, which also gave them to the store).
    /// Only when `takesEncodedSpans`.
    public func export(encoded spans: EncodedSpans) {
        precondition(takesEncodedSpans, "OTLP/JSON takes span records")
        pending.spans.append(contentsOf: spans)
        sendWhatIsDue()
    }

    /// A request the receiver took from another service, sent on as it came (protobuf
    /// requests concatenate; for OTLP/JSON its resource spans are written as JSON), with
    /// the next exports. The pipeline bounds how much may wait.
    public func forward(_ request: [UInt8], spanCount: Int) {
        forwarded.append((request, spanCount))
        sendWhatIsDue()
    }

    private var pendingCount: Int { settings.json ? pendingRecords.count : pending.spans.count }

    /// Full batches now; a partial one when the schedule delay has passed.
    private func sendWhatIsDue() {
        // The queue bound applies here too: a stalled collector must not grow memory.
        let excess = pendingCount - settings.maxQueueSize
        if excess > 0 {
            dropPending(excess)
            counters.withLock { $0.droppedSpans += excess }
        }
        while pendingCount >= settings.maxExportBatchSize, !stopping.load(ordering: .relaxed) {
            sendPending(settings.maxExportBatchSize, budgetMilliseconds: settings.timeoutMilliseconds)
        }
        while !forwarded.isEmpty, !stopping.load(ordering: .relaxed) {
            sendForwarded(budgetMilliseconds: settings.timeoutMilliseconds)
        }
        let elapsed = ExportConnection.monotonicNanoseconds() - lastSend
        if pendingCount > 0, elapsed >= UInt64(settings.scheduleDelayMilliseconds) * 1_000_000, !stopping.load(ordering: .relaxed) {
            sendPending(pendingCount, budgetMilliseconds: settings.timeoutMilliseconds)
        }
    }

    /// Stops taking spans and sends what is pending once, within a short deadline that
    /// also cuts any backoff short.
    public func shutdown() {
        stopping.store(true, ordering: .relaxed)
        interrupted.store(false, ordering: .relaxed)  // the final flush has its own deadline
        if pendingCount > 0 { sendPending(pendingCount, budgetMilliseconds: Self.shutdownMilliseconds) }
        if !forwarded.isEmpty { sendForwarded(budgetMilliseconds: Self.shutdownMilliseconds) }
        connection = nil
    }

    /// Interrupts the export in progress, its backoff or its waits on the collector (from
    /// any thread); the pipeline then calls `shutdown()` for the final flush.
    public func interrupt() {
        stopping.store(true, ordering: .relaxed)
        interrupted.store(true, ordering: .relaxed)
    }

    // MARK: Sending

    enum Outcome: Equatable {
        case delivered(rejected: Int)
        /// 429, 502, 503, 504, connection failure, disconnect without a response.
        case retryable(reason: String, retryAfterMilliseconds: Int?)
        case rejected(reason: String)
    }

    private func dropPending(_ count: Int) {
        if settings.json {
            pendingRecords.removeFirst(min(count, pendingRecords.count))
        } else {
            pending.spans.removeFirst(count)
        }
    }

    /// Sends the first `count` pending spans as one export, and forgets them.
    private func sendPending(_ count: Int, budgetMilliseconds: Int) {
        var body = settings.json
            ? OTLPJSONEncoder.encode(Array(pendingRecords.prefix(count)), resource: resource)
            : OTLPEncoder.request(pending.spans.prefix(count), preamble: preamble)
        dropPending(count)
        if settings.gzip, let compressed = Gzip.compress(body) { body = compressed }
        send(body, spanCount: count, budgetMilliseconds: budgetMilliseconds)
    }

    /// Sends forwarded requests, as many as fit in one body, and forgets them.
    private func sendForwarded(budgetMilliseconds: Int) {
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
        send(body, spanCount: spanCount, budgetMilliseconds: budgetMilliseconds, forwarded: true)
    }

    private func send(_ body: [UInt8], spanCount: Int, budgetMilliseconds: Int, forwarded: Bool = false) {
        lastSend = ExportConnection.monotonicNanoseconds()
        let deadline = ExportConnection.monotonicNanoseconds() + UInt64(budgetMilliseconds) * 1_000_000
        var attempt = 0
        while true {
            let outcome = post(body, deadline: deadline)
            switch outcome {
            case .delivered(let rejected):
                counters.withLock {
                    $0.exportedSpans += spanCount - rejected
                    if forwarded { $0.forwardedSpans += spanCount - rejected }
                }
                if rejected > 0 {
                    counters.withLock { $0.droppedSpans += rejected }
                    logProblem("the collector rejected some spans (partial success)", ["rejected": "\(rejected)"])
                }
                return
            case .rejected(let reason):
                counters.withLock {
                    $0.failedExports += 1
                    $0.droppedSpans += spanCount
                }
                logProblem("span export failed; the batch is dropped", ["reason": "\(reason)"])
                return
            case .retryable(let reason, let retryAfter):
                attempt += 1
                // Exponential backoff with jitter (1 s, 2 s, 4 s … ±50 %), or Retry-After.
                let base = 1000 * (1 << min(attempt - 1, 5))
                let wait = retryAfter ?? Int(Double(base) * Double.random(in: 0.5...1.5))
                let now = ExportConnection.monotonicNanoseconds()
                guard now + UInt64(wait) * 1_000_000 < deadline, !stopping.load(ordering: .relaxed) || budgetMilliseconds == Self.shutdownMilliseconds,
                    sleep(milliseconds: wait)
                else {
                    counters.withLock {
                        $0.failedExports += 1
                        $0.droppedSpans += spanCount
                    }
                    logProblem("span export failed within the export timeout; the batch is dropped", ["reason": "\(reason)"])
                    return
                }
                counters.withLock { $0.retries += 1 }
            }
        }
    }

    /// Sleeps in short steps so that shutdown can cut it short; false when interrupted
    /// (outside the final flush).
    private func sleep(milliseconds: Int) -> Bool {
        var remaining = milliseconds
        let wasStopping = stopping.load(ordering: .relaxed)
        while remaining > 0 {
            let step = min(remaining, 50)
            usleep(UInt32(step * 1000))
            remaining -= step
            if !wasStopping, stopping.load(ordering: .relaxed) { return false }
        }
        return true
    }

    /// One POST. The kept connection is tried first; when the collector closed it while
    /// idle (nothing comes back), the request goes once more on a fresh connection,
    /// which is not a retry.
    func post(_ body: [UInt8], deadline: UInt64) -> Outcome {
        if let kept = connection {
            connection = nil
            if let outcome = exchange(body, on: kept, deadline: deadline, fresh: false) { return outcome }
        }
        let fresh: ExportConnection
        do throws(SystemError) {
            fresh = try ExportConnection(
                host: settings.host, port: settings.port, useTLS: settings.useTLS, deadline: deadline,
                interrupted: { [unowned self] in interrupted.load(ordering: .relaxed) })
        } catch {
            return .retryable(reason: "\(error)", retryAfterMilliseconds: nil)
        }
        return exchange(body, on: fresh, deadline: deadline, fresh: true)
            ?? .retryable(reason: "the collector closed the connection without a response", retryAfterMilliseconds: nil)
    }

    /// Sends the request and reads the response; keeps the connection when the response
    /// allows. Nil when the connection ended before any byte of a response.
    private func exchange(_ body: [UInt8], on connection: ExportConnection, deadline: UInt64, fresh: Bool) -> Outcome? {
        do throws(SystemError) {
            try connection.write(requestHead(bodyLength: body.count), deadline: deadline)
            try connection.write(body, deadline: deadline)
            guard let (outcome, reusable) = try readResponse(connection, deadline: deadline) else { return nil }
            if reusable { self.connection = connection }
            return outcome
        } catch {
            // A kept connection that fails is retried fresh; a fresh one is a failure.
            return fresh ? .retryable(reason: "\(error)", retryAfterMilliseconds: nil) : nil
        }
    }

    private func requestHead(bodyLength: Int) -> [UInt8] {
        var head = "POST \(settings.path) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        head += "Content-Type: \(settings.json ? "application/json" : "application/x-protobuf")\r\n"
        if settings.gzip { head += "Content-Encoding: gzip\r\n" }
        head += "Content-Length: \(bodyLength)\r\nUser-Agent: hoptrace/\(TracingScope.version)\r\n"
        for (name, value) in settings.headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8)
    }

    private var hostHeader: String {
        let host = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
        let standard = settings.useTLS ? 443 : 80
        return settings.port == standard ? host : "\(host):\(settings.port)"
    }

    private func logProblem(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        let now = ExportConnection.monotonicNanoseconds()
        guard now - lastProblemLog >= Self.logIntervalNanoseconds || lastProblemLog == 0 else { return }
        lastProblemLog = now
        var metadata = metadata
        let counts = currentCounters
        metadata["exported"] = "\(counts.exportedSpans)"
        metadata["dropped"] = "\(counts.droppedSpans)"
        metadata["failed_exports"] = "\(counts.failedExports)"
        metadata["retries"] = "\(counts.retries)"
        logger.warning(message, metadata: metadata)
    }
}
