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

/// Names the calling thread, for `top -H` and profilers (the first 15 bytes count).
public func nameCurrentThread(_ name: String) {
    hoptrace_set_thread_name(name)
}
