#if canImport(Glibc)
import Glibc
#endif
import CLibevent

// Threads of hoptrace's own (workers, the span pipeline, export senders, the resolver,
// the local servers), started and named in one place.

/// Names the calling thread, for `top -H` and profilers (the first 15 bytes count).
public func nameCurrentThread(_ name: String) {
    hoptrace_set_thread_name(name)
}

/// Starts a detached-until-joined POSIX thread running `body`.
public func spawnThread(name: String, _ body: @escaping () -> Void) -> pthread_t {
    final class Box {
        let body: () -> Void
        let name: String
        init(_ body: @escaping () -> Void, name: String) {
            self.body = body
            self.name = name
        }
    }
    let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        nameCurrentThread(box.name)
        box.body()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
