import Libevent
import Tracing

/// The one deadline a session keeps at a time (a timer lent by its worker while needed):
/// a partial request head's, then an upstream attempt's, then a tunnel's. What it means
/// follows from the phase.
extension ClientSession: TimerTarget {
    /// `shared: false` for a computed duration (see `Timer.schedule`).
    func scheduleDeadline(milliseconds: Int, shared: Bool = true) {
        if deadline == nil { deadline = worker.takeTimer(for: self) }
        deadline!.schedule(milliseconds: milliseconds, shared: shared)
    }

    func cancelDeadline() {
        deadline?.cancel()
    }

    func releaseDeadline() {
        guard let deadline else { return }
        self.deadline = nil
        worker.giveBack(deadline)
    }

    func timerFired(_ timer: Timer) {
        switch phase {
        case .waitingForRequest: headDeadlinePassed()
        case .proxying, .tunnelling: upstreamTimerFired()
        case .closed: break
        }
        flushOutputs()
    }

    /// A partial head: the rest must come within `request_header` of its start, however
    /// it trickles (the read timeout would restart with each byte).
    func startHeadDeadline() {
        guard !headDeadlineRunning else { return }
        headDeadlineRunning = true
        client.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
        let elapsed = Int((Timestamp.monotonicNanoseconds() - headStartNanoseconds) / 1_000_000)
        scheduleDeadline(milliseconds: configuration.timeouts.requestHeader - elapsed, shared: false)
    }

    func headDeadlinePassed() {
        guard phase == .waitingForRequest else { return }
        if client.input.isEmpty && scanner.bytesScanned == 0 {
            // Idle keep-alive connection, or a client that never spoke: close quietly.
            close()
        } else {
            respondWithoutExchange(ProxyError(
                kind: .requestHeadTimeout, side: .downstream, status: 408, message: "request header not received in time"))
        }
    }
}
