import Libevent
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One export, on a sender's thread: the POST on the sender's kept connection, the
/// retries within the export timeout, and the counts.
extension OTLPHTTPExporter {
    func send(_ job: ExportSenders.Job, on sender: ExportSenders.Sender) {
        let timeout = ExportConnection.monotonicNanoseconds() + UInt64(settings.timeoutMilliseconds) * 1_000_000
        var attempt = 0
        while true {
            // A shutdown that began meanwhile shortens what is left.
            let shutdown = shutdownDeadline.load(ordering: .relaxed)
            let deadline = shutdown == 0 ? timeout : min(timeout, shutdown)
            guard waitWhilePaused(until: deadline) else {
                drop(job, reason: "span export paused by the collector past the export timeout; the batch is dropped", "paused")
                return
            }
            let outcome = post(job.body, deadline: deadline, sender: sender)
            counters.withLock { $0.exports += 1 }
            switch outcome {
            case .delivered(let rejected):
                counters.withLock {
                    $0.exportedSpans += job.spanCount - rejected
                    if job.forwarded { $0.forwardedSpans += job.spanCount - rejected }
                    $0.droppedSpans += rejected
                    $0.droppedRejected += rejected
                }
                if rejected > 0 { logProblem("the collector rejected some spans (partial success)", ["rejected": "\(rejected)"]) }
                return
            case .rejected(let reason):
                drop(job, reason: "span export failed; the batch is dropped", reason)
                return
            case .retryable(let reason, let retryAfter, let throttled):
                attempt += 1
                // Exponential backoff with jitter (1 s, 2 s, 4 s … ±50 %), or Retry-After.
                let base = 1000 * (1 << min(attempt - 1, 5))
                let wait = retryAfter ?? Int(Double(base) * Double.random(in: 0.5...1.5))
                let resume = ExportConnection.monotonicNanoseconds() + UInt64(wait) * 1_000_000
                // The collector asked to slow down: every sender waits, not just this one.
                if throttled || retryAfter != nil { pause(until: resume) }
                guard resume < deadline, !interrupted.load(ordering: .relaxed), sleep(milliseconds: wait) else {
                    drop(job, reason: "span export failed within the export timeout; the batch is dropped", reason)
                    return
                }
                counters.withLock { $0.retries += 1 }
            }
        }
    }

    private func drop(_ job: ExportSenders.Job, reason message: Logger.Message, _ reason: String) {
        counters.withLock {
            $0.failedExports += 1
            $0.droppedSpans += job.spanCount
            $0.droppedFailedExports += job.spanCount
        }
        logProblem(message, ["reason": "\(reason)"])
    }

    /// No sender starts a request before `time` (monotonic ns).
    func pause(until time: UInt64) {
        var current = pausedUntil.load(ordering: .relaxed)
        while current < time {
            let (exchanged, original) = pausedUntil.compareExchange(expected: current, desired: time, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Waits out a pause the collector asked for; false when it lasts past `deadline` or
    /// the exporter is interrupted.
    private func waitWhilePaused(until deadline: UInt64) -> Bool {
        let resume = pausedUntil.load(ordering: .relaxed)
        let now = ExportConnection.monotonicNanoseconds()
        guard resume > now else { return true }
        guard resume < deadline else { return false }
        return sleep(milliseconds: Int((resume - now) / 1_000_000) + 1)
    }

    /// Sleeps in short steps so that an interrupt can cut it short; false when interrupted
    /// or past the shutdown deadline.
    private func sleep(milliseconds: Int) -> Bool {
        var remaining = milliseconds
        while remaining > 0 {
            let step = min(remaining, 50)
            usleep(UInt32(step * 1000))
            remaining -= step
            if interrupted.load(ordering: .relaxed) || pastShutdownDeadline { return false }
        }
        return true
    }

    /// One POST. The kept connection is tried first; when the collector closed it while
    /// idle (nothing comes back), the request goes once more on a fresh connection,
    /// which is not a retry.
    func post(_ body: ExportBody, deadline: UInt64, sender: ExportSenders.Sender) -> Outcome {
        if let kept = sender.connection {
            sender.connection = nil
            if let outcome = exchange(body, on: kept, deadline: deadline, fresh: false, sender: sender) { return outcome }
        }
        let fresh: ExportConnection
        do throws(SystemError) {
            fresh = try ExportConnection(
                host: settings.host, port: settings.port, useTLS: settings.useTLS, deadline: deadline,
                interrupted: { [unowned self] in pastShutdownDeadline })
        } catch {
            return .retryable(reason: "\(error)", retryAfterMilliseconds: nil)
        }
        return exchange(body, on: fresh, deadline: deadline, fresh: true, sender: sender)
            ?? .retryable(reason: "the collector closed the connection without a response", retryAfterMilliseconds: nil)
    }

    /// Sends the request and reads the response; keeps the connection when the response
    /// allows. Nil when the connection ended before any byte of a response.
    private func exchange(
        _ body: ExportBody, on connection: ExportConnection, deadline: UInt64, fresh: Bool, sender: ExportSenders.Sender
    ) -> Outcome? {
        do throws(SystemError) {
            try connection.write(requestHead(bodyLength: body.count), deadline: deadline)
            try body.forEachPiece { (raw) throws(SystemError) in try connection.write(raw, deadline: deadline) }
            guard let (outcome, reusable) = try readResponse(connection, deadline: deadline) else { return nil }
            if reusable { sender.connection = connection }
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
}
