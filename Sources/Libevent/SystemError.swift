#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// A failed system or libevent call: what was attempted and the errno text.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var code: Int32

    public init(_ operation: String, code: Int32 = hoptrace_errno()) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(code)))"
    }
}

/// The one place C return codes are checked: negative means failure, with errno set.
@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(SystemError) -> Int32 {
    if result < 0 { throw SystemError(operation()) }
    return result
}

/// Gives memory the allocator holds free back to the system (glibc's `malloc_trim`, every
/// arena). Takes a moment on a large heap: call it when a burst is over, not per request.
public func releaseFreeMemory() {
    hoptrace_malloc_trim()
}
