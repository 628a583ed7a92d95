import Libevent
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The exporter's sender threads: each takes one export at a time from a shared queue and
/// sends it on a kept connection of its own. At most `limit` exports are queued or in
/// flight (`freeSlots` says how many more the exporter may hand over); threads start as
/// exports need them, up to `limit`, and stop in `stop()`.
///
/// `@unchecked Sendable`: the queue and the thread list are behind a `Mutex`; the
/// semaphore is made in `init` and freed in `deinit`, after `stop()`.
final class ExportSenders: @unchecked Sendable {
    struct Job: Sendable {
        var body: ExportBody
        var spanCount: Int
        /// Received requests sent on (counted apart).
        var forwarded: Bool
    }

    /// What a sender keeps between exports: its connection. Its thread only.
    final class Sender {
        var connection: ExportConnection?
    }

    typealias Work = @Sendable (Sender, Job) -> Void

    private struct State {
        var jobs: [(job: Job, work: Work)] = []
        var running = 0
        var threads: [pthread_t] = []
        var stopping = false
    }

    let limit: Int
    private let state = Mutex(State())
    /// Counts jobs (and, at `stop()`, wake-ups to exit).
    private let available: UnsafeMutablePointer<sem_t>

    init(limit: Int) {
        self.limit = limit
        available = .allocate(capacity: 1)
        sem_init(available, 0, 0)
    }

    deinit {
        sem_destroy(available)
        available.deallocate()
    }

    /// How many more exports may be handed over now.
    var freeSlots: Int { state.withLock { limit - $0.jobs.count - $0.running } }

    /// No export queued or in flight.
    var isIdle: Bool { state.withLock { $0.jobs.isEmpty && $0.running == 0 } }

    /// Queues `job` for the next free sender (a thread is started when every one is busy);
    /// returns how many exports are now queued or in flight.
    @discardableResult
    func submit(_ job: Job, work: @escaping Work) -> Int {
        let inFlight = state.withLock { state -> Int in
            state.jobs.append((job, work))
            if state.jobs.count + state.running > state.threads.count, state.threads.count < limit {
                state.threads.append(spawnThread(name: "hoptrace-export") { [self] in run() })
            }
            return state.jobs.count + state.running
        }
        sem_post(available)
        return inFlight
    }

    /// Stops every thread once the jobs queued are done, and waits for them.
    func stop() {
        let threads = state.withLock { state -> [pthread_t] in
            state.stopping = true
            return state.threads
        }
        for _ in threads { sem_post(available) }
        for thread in threads { pthread_join(thread, nil) }
        state.withLock { $0.threads.removeAll() }
    }

    private func run() {
        let sender = Sender()
        while true {
            while sem_wait(available) != 0 {}
            let next = state.withLock { state -> (job: Job, work: Work)? in
                guard !state.jobs.isEmpty else { return nil }
                state.running += 1
                return state.jobs.removeFirst()
            }
            guard let (job, work) = next else {
                if state.withLock({ $0.stopping }) { return }
                continue
            }
            work(sender, job)
            state.withLock { $0.running -= 1 }
        }
    }
}
