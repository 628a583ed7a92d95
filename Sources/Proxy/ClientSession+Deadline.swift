import Libevent
import Tracing

/// The one deadline a session keeps at a time (a timer lent by its worker while needed):
/// a partial request head's, then an upstream attempt's, then a tunnel's. Which one it
/// is follows from the machines' states.
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
        switch connection.state {
        case .awaitingHead:
            perform(connection.handle(.deadlinePassed))
        case .exchanging, .tunnelling:
            if let exchange, !exchange.machine.isFinished { run(exchange, exchange.machine.handle(.deadlinePassed)) }
        case .closing, .closed:
            break
        }
        settle()
    }
}
