import Foundation

/// Waiting for something to happen, with a deadline, instead of sleeping and hoping it
/// did (CONVENTIONS rule 11). The deadline only bounds a wait that would otherwise hang:
/// no test asserts on how long anything took.

/// A value that other threads change and a test waits on: `wait(until:)` wakes on each
/// change (a condition variable), so it returns as soon as the condition holds.
///
/// `@unchecked Sendable`: `value` is only touched under `condition`'s lock.
final class Watched<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value

    init(_ value: Value) { self.value = value }

    var current: Value {
        condition.lock()
        defer { condition.unlock() }
        return value
    }

    func update(_ change: (inout Value) -> Void) {
        condition.lock()
        change(&value)
        condition.broadcast()
        condition.unlock()
    }

    /// True once `satisfied` holds; false when `seconds` pass first.
    func wait(seconds: Double = 5, until satisfied: (Value) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !satisfied(value) {
            if !condition.wait(until: deadline) { return satisfied(value) }
        }
        return true
    }
}

/// For state that nothing signals when it changes (a worker picking up re-resolved
/// addresses on its own loop turn, an atomic inside the exporter): re-checks `condition`
/// every 5 ms until it holds (true) or `seconds` pass (false). Prefer `Watched` whenever
/// the test can be told of the change.
func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while !condition() {
        if Date() >= deadline { return condition() }
        usleep(5_000)
    }
    return true
}

/// Runs `work` on a thread of its own; true when it returns within `seconds` (a call that
/// must not hang, bounded by a deadline on the wait rather than by measuring it).
func finishes(within seconds: Double, _ work: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        work()
        done.signal()
    }
    return done.wait(timeout: .now() + seconds) == .success
}
