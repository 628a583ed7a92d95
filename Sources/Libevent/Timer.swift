#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// Told when a `Timer` made without an action fires (no closure to allocate: a timer
/// can be handed from one owner to the next).
public protocol TimerTarget: AnyObject {
    func timerFired(_ timer: Timer)
}

/// A one-shot timer on an event loop. Owned by the object it times; freed in `deinit`.
/// Loop thread only.
public final class Timer {
    private let loop: EventLoop
    private var event: OpaquePointer!
    private let action: (() -> Void)?
    /// Not retained: the target owns the timer, and clears this before letting it go.
    public unowned(unsafe) var target: TimerTarget?
    /// Scheduled and not yet fired or cancelled.
    private var isArmed = false

    /// `action` runs on the loop's thread when the timer fires. It usually captures its
    /// owner `unowned`: the owner outlives the timer it owns.
    public init(loop: EventLoop, action: @escaping () -> Void) {
        self.loop = loop
        self.action = action
        makeEvent()
    }

    /// A timer that tells its `target` when it fires.
    public init(loop: EventLoop) {
        self.loop = loop
        self.action = nil
        makeEvent()
    }

    private func makeEvent() {
        event = hoptrace_evtimer_new(loop.base, { _, _, context in
            Unmanaged<Timer>.fromOpaque(context!).takeUnretainedValue().didFire()
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        event_free(event)
    }

    /// (Re)starts the timer. A configured duration repeats a lot, so it goes through a
    /// common-timeout queue; a computed one (a remainder) passes `shared: false` (libevent
    /// has room for few such queues).
    public func schedule(milliseconds: Int, shared: Bool = true) {
        loop.assertInLoop()
        isArmed = true
        loop.add(event, milliseconds: milliseconds, shared: shared)
    }

    public func cancel() {
        // Not scheduled (never, or it fired): nothing to delete.
        guard isArmed else { return }
        isArmed = false
        event_del(event)
    }

    public var isScheduled: Bool { event_pending(event, Int16(EV_TIMEOUT), nil) != 0 }

    private func didFire() {
        isArmed = false
        if let action { action() } else { target?.timerFired(self) }
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
