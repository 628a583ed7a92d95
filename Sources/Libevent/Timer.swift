#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// A one-shot timer on an event loop. Owned by the object it times; freed in `deinit`.
/// Loop thread only.
public final class Timer {
    private let loop: EventLoop
    private var event: OpaquePointer!
    private let action: () -> Void
    private var scheduledMilliseconds = -1

    /// `action` runs on the loop's thread when the timer fires. It usually captures its
    /// owner `unowned`: the owner outlives the timer it owns.
    public init(loop: EventLoop, action: @escaping () -> Void) {
        self.loop = loop
        self.action = action
        event = hoptrace_evtimer_new(loop.base, { _, _, context in
            Unmanaged<Timer>.fromOpaque(context!).takeUnretainedValue().didFire()
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        event_free(event)
    }

    /// (Re)starts the timer. Durations repeat a lot, so they use common-timeout queues.
    public func schedule(milliseconds: Int) {
        loop.assertInLoop()
        scheduledMilliseconds = milliseconds
        event_add(event, loop.commonTimeout(milliseconds: max(milliseconds, 0)))
    }

    public func cancel() {
        event_del(event)
        scheduledMilliseconds = -1
    }

    public var isScheduled: Bool { event_pending(event, Int16(EV_TIMEOUT), nil) != 0 }

    private func didFire() {
        scheduledMilliseconds = -1
        action()
    }
}

/// A signal handler on an event loop (the main thread's). Persistent until freed.
public final class SignalWatcher {
    private var event: OpaquePointer!
    private let action: () -> Void

    public init(loop: EventLoop, signal: Int32, action: @escaping () -> Void) throws(SystemError) {
        self.action = action
        event = hoptrace_evsignal_new(loop.base, signal, { _, _, context in
            Unmanaged<SignalWatcher>.fromOpaque(context!).takeUnretainedValue().action()
        }, Unmanaged.passUnretained(self).toOpaque())
        try check(event_add(event, nil), "event_add(signal \(signal))")
    }

    deinit {
        event_free(event)
    }
}
