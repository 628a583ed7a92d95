#if canImport(Glibc)
import Glibc
#endif
import CLibevent
import Synchronization

/// One `event_base`, run by exactly one thread.
///
/// Everything but `post(_:)` and `stop()` must be called on the loop's thread (debug
/// builds check it). Other threads reach the loop only through `post`, which queues a
/// closure under a lock and writes a byte to the loop's wake-up pipe. libevent itself is
/// never touched from another thread, so it runs without its own locks (no
/// `evthread_use_pthreads`): no mutex on every event operation of the request path.
///
/// `@unchecked Sendable`: the loop is handed to other threads only so that they can call
/// `post` and `stop`, which take the lock; every other member is confined to the thread
/// running `run()`.
public final class EventLoop: @unchecked Sendable {
    let base: OpaquePointer
    private var wakeEvent: OpaquePointer!
    private var releaseEvent: OpaquePointer!
    /// [read end, write end], both non-blocking.
    private var wakePipe: [Int32] = [-1, -1]
    private let posted = Mutex<[@Sendable () -> Void]>([])
    private var pendingRelease: [AnyObject] = []
    private var commonTimeouts: [Int: UnsafePointer<timeval>] = [:]
    private var owningThread: pthread_t?

    public init() throws(SystemError) {
        EventMemory.install()
        guard let base = event_base_new() else { throw SystemError("event_base_new") }
        self.base = base
        try check(pipe(&wakePipe), "pipe")
        for end in wakePipe {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        wakeEvent = event_new(base, wakePipe[0], Int16(EV_READ | EV_PERSIST), { _, _, context in
            Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue().didWake()
        }, context)
        event_add(wakeEvent, nil)
        releaseEvent = hoptrace_evuser_new(base, { _, _, context in
            Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue().didReachReleasePoint()
        }, context)
    }

    deinit {
        event_free(wakeEvent)
        event_free(releaseEvent)
        event_base_free(base)
        close(wakePipe[0])
        close(wakePipe[1])
    }

    /// Runs the loop on the calling thread until `stop()`; that thread owns the loop from now on.
    public func run() {
        owningThread = pthread_self()
        event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)
        didReachReleasePoint()
    }

    /// Descriptor numbers below this already have libevent's record in this loop.
    private var recordedDescriptors: Int32 = 0

    /// libevent keeps a small record per descriptor number it ever watched in a loop,
    /// made on first use and never freed. Made one by one during a burst of new
    /// connections, those records end up scattered among the connections' own memory,
    /// and after the burst each pins its page: the allocator cannot give the closed
    /// connections' memory back. So when a new descriptor is past the records made so far,
    /// the records up to twice its number are made at once, side by side: each free
    /// number is taken by a duplicate of a descriptor of our own, registered, unregistered
    /// and closed (numbers in use are left alone). Loop thread only.
    public func reserveDescriptorRecords(through descriptor: Int32) {
        guard descriptor >= recordedDescriptors else { return }
        let end = max(descriptor * 2, 1024)
        let source = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard source >= 0, let event = event_new(base, -1, 0, { _, _, _ in }, nil) else { return }
        defer {
            event_free(event)
            close(source)
        }
        var number = recordedDescriptors
        while number < end {
            // The lowest free number from `number` on (numbers in use are skipped).
            let owned = fcntl(source, F_DUPFD_CLOEXEC, number)
            if owned < 0 { break }
            event_assign(event, base, owned, Int16(EV_READ), { _, _, _ in }, nil)
            if event_add(event, nil) == 0 { event_del(event) }
            close(owned)
            number = owned + 1
        }
        recordedDescriptors = number
    }

    /// Asks the loop to return from `run()`. Any thread.
    public func stop() {
        post { [self] in event_base_loopbreak(base) }
    }

    /// Runs `work` on the loop's thread on a coming turn. Any thread.
    public func post(_ work: @escaping @Sendable () -> Void) {
        let wasEmpty = posted.withLock { queue -> Bool in
            queue.append(work)
            return queue.count == 1
        }
        if wasEmpty {
            var byte: UInt8 = 1
            _ = write(wakePipe[1], &byte, 1)
        }
    }

    /// Keeps `object` alive until the current callback has returned, then releases it.
    /// This is how an object owning a libevent handle is closed from inside that handle's
    /// callback: its `deinit` (which frees the handle) runs on the next loop turn.
    public func deferRelease(_ object: AnyObject) {
        assertInLoop()
        if pendingRelease.isEmpty { event_active(releaseEvent, 0, 0) }
        pendingRelease.append(object)
    }

    /// Debug builds check that the caller is the loop's thread.
    @inline(__always)
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(owningThread == nil || pthread_equal(owningThread!, pthread_self()) != 0,
               "EventLoop used off its thread", file: file, line: line)
    }

    /// A libevent common-timeout queue for this duration: O(1) insertion for the many
    /// timers that share it (per-connection header and idle deadlines).
    /// nil once `maxCommonTimeouts` durations have queues (libevent allows 256 per base):
    /// the caller then adds its event with a plain timeout.
    func commonTimeout(milliseconds: Int) -> UnsafePointer<timeval>? {
        // The few durations a request uses (idle, upstream_header) come up again and
        // again: a look at the last two found before hashing.
        if milliseconds == recentTimeouts.0.milliseconds, let queue = recentTimeouts.0.queue { return queue }
        if milliseconds == recentTimeouts.1.milliseconds, let queue = recentTimeouts.1.queue {
            recentTimeouts = (recentTimeouts.1, recentTimeouts.0)
            return queue
        }
        let found = lookUpCommonTimeout(milliseconds: milliseconds)
        if let found {
            recentTimeouts.1 = recentTimeouts.0
            recentTimeouts.0 = (milliseconds, found)
        }
        return found
    }

    /// The two common-timeout queues used last, most recent first.
    private var recentTimeouts: (
        (milliseconds: Int, queue: UnsafePointer<timeval>?), (milliseconds: Int, queue: UnsafePointer<timeval>?)
    ) = ((-1, nil), (-1, nil))

    private func lookUpCommonTimeout(milliseconds: Int) -> UnsafePointer<timeval>? {
        if let existing = commonTimeouts[milliseconds] { return existing }
        guard commonTimeouts.count < Self.maxCommonTimeouts else { return nil }
        var duration = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        guard let queue = event_base_init_common_timeout(base, &duration) else { return nil }
        commonTimeouts[milliseconds] = queue
        return queue
    }

    static let maxCommonTimeouts = 128

    /// Adds `event` with a timeout of `milliseconds`: through a common-timeout queue when
    /// `shared` (configured durations, repeated by many events), else a plain one.
    func add(_ event: OpaquePointer, milliseconds: Int, shared: Bool) {
        let milliseconds = max(milliseconds, 0)
        if shared, let queue = commonTimeout(milliseconds: milliseconds) {
            event_add(event, queue)
        } else {
            var duration = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
            event_add(event, &duration)
        }
    }

    private func didWake() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(wakePipe[0], &scratch, scratch.count) > 0 {}
        let work = posted.withLock { pending -> [@Sendable () -> Void] in
            let taken = pending
            pending.removeAll()
            return taken
        }
        for item in work { item() }
    }

    /// Releases what `deferRelease` queued. Called by the loop's own thread after `run()`
    /// returned, while shutting down.
    public func releaseDeferred() {
        assertInLoop()
        didReachReleasePoint()
    }

    private func didReachReleasePoint() {
        while !pendingRelease.isEmpty {
            let released = pendingRelease
            pendingRelease.removeAll()
            _ = released
        }
    }
}
