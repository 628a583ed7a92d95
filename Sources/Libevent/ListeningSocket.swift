#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// Opens listening TCP sockets. Each worker gets its own socket on the same address
/// (SO_REUSEPORT), so the kernel spreads new connections across workers.
public enum ListeningSocket {
    /// Binds and listens; returns the non-blocking, close-on-exec descriptor.
    /// Throws with the errno text (for example "Address already in use").
    public static func open(_ address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try check(fd, "socket")
        do throws(SystemError) {
            var one: Int32 = 1
            try check(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)), "SO_REUSEADDR")
            if reusePort {
                try check(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)), "SO_REUSEPORT")
            }
            try address.withSockaddr { (pointer, length) throws(SystemError) in
                try check(bind(fd, pointer, length), "cannot listen on \(address)")
            }
            try check(listen(fd, backlog), "listen on \(address)")
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// The address a socket is bound to (to learn the port chosen for port 0).
    public static func localAddress(of fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try check(result, "getsockname")
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(copying: $0, length: length) }
        }
    }

    public static func closeDescriptor(_ fd: Int32) {
        close(fd)
    }
}

/// Accepts connections on a listening socket, on one loop. Owns the descriptor.
///
/// When accepting fails (out of descriptors: EMFILE, ENFILE, ENOBUFS), the socket stays
/// readable and libevent would retry at once, forever; instead the listener pauses for
/// `pauseAfterErrorMilliseconds` and tries again, as nginx does.
public final class Listener {
    private var listener: OpaquePointer!
    private let didAccept: (Int32, SocketAddress) -> Void
    private var resumeTimer: Timer?
    private var isDisabled = false
    public static let pauseAfterErrorMilliseconds = 100

    /// `didAccept` runs on the loop's thread with each new descriptor and its peer.
    public init(loop: EventLoop, descriptor: Int32, didAccept: @escaping (Int32, SocketAddress) -> Void) throws(SystemError) {
        self.didAccept = didAccept
        let flags = UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC)
        listener = evconnlistener_new(loop.base, { _, fd, address, length, context in
            let this = Unmanaged<Listener>.fromOpaque(context!).takeUnretainedValue()
            this.didAccept(fd, SocketAddress(copying: address!, length: socklen_t(length)))
        }, Unmanaged.passUnretained(self).toOpaque(), flags, -1, descriptor)
        guard listener != nil else {
            close(descriptor)
            throw SystemError("evconnlistener_new")
        }
        evconnlistener_set_error_cb(listener) { _, context in
            Unmanaged<Listener>.fromOpaque(context!).takeUnretainedValue().didFailToAccept()
        }
        resumeTimer = Timer(loop: loop) { [unowned self] in
            if !isDisabled { evconnlistener_enable(listener) }
        }
    }

    /// Stops accepting. Connections still queued in the kernel stay there until `deinit`.
    public func disable() {
        isDisabled = true
        resumeTimer?.cancel()
        evconnlistener_disable(listener)
    }

    private func didFailToAccept() {
        evconnlistener_disable(listener)
        resumeTimer?.schedule(milliseconds: Self.pauseAfterErrorMilliseconds)
    }

    deinit {
        resumeTimer?.cancel()
        evconnlistener_free(listener)
    }
}
