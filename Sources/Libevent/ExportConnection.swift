#if canImport(Glibc)
import Glibc
#endif
import CLibevent
import Synchronization

/// A client connection for exporting telemetry: TCP, or TLS through OpenSSL with the
/// system trust store, SNI and hostname verification. Blocking with deadlines: it is used
/// only on the span pipeline's own thread, never on a worker loop. One owner of the
/// socket and the `SSL` object, freed in `deinit`.
public final class ExportConnection {
    private var descriptor: Int32 = -1
    private var ssl: OpaquePointer?
    private let interrupted: (@Sendable () -> Bool)?

    /// The TLS client context: verification on, trust from the system's store. Created
    /// once and kept for the life of the process (its address, behind a lock).
    private static let sharedContext = Mutex<UInt>(0)

    private static func tlsContext() throws(SystemError) -> OpaquePointer {
        let result = sharedContext.withLock { address -> Result<UInt, SystemError> in
            if address != 0 { return .success(address) }
            guard let context = SSL_CTX_new(TLS_client_method()) else { return .failure(SystemError("SSL_CTX_new", code: EPROTO)) }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                SSL_CTX_free(context)
                return .failure(SystemError("loading the system trust store", code: EPROTO))
            }
            address = UInt(bitPattern: Int(bitPattern: UnsafeMutableRawPointer(context)))
            return .success(address)
        }
        let address = try result.get()
        return OpaquePointer(bitPattern: address)!
    }

    /// Connects (and completes the TLS handshake) before `deadline` (monotonic ns). Each
    /// address the name resolves to is tried in turn (`localhost` may be `::1` first).
    ///
    /// `interrupted` is asked between waits (at least every 100 ms): when it says true,
    /// the wait in progress fails at once, whatever the deadline.
    public init(
        host: String, port: Int, useTLS: Bool, deadline: UInt64, interrupted: (@Sendable () -> Bool)? = nil
    ) throws(SystemError) {
        self.interrupted = interrupted
        let addresses: [SocketAddress]
        do throws(AddressError) {
            addresses = try SocketAddress.resolve(host: host, port: port)
        } catch {
            throw SystemError("resolving \(host): \(error.message)", code: EHOSTUNREACH)
        }
        var failure: SystemError?
        for address in addresses {
            do throws(SystemError) {
                try connect(to: address, deadline: deadline)
                failure = nil
                break
            } catch {
                failure = error
                if descriptor >= 0 { close(descriptor) }
                descriptor = -1
                if error.code == ETIMEDOUT { break }  // the deadline is spent
            }
        }
        if let failure { throw failure }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if useTLS { try handshake(host: host, deadline: deadline) }
    }

    private func connect(to address: SocketAddress, deadline: UInt64) throws(SystemError) {
        descriptor = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try check(descriptor, "socket")
        let result = try address.withSockaddr { (pointer, length) throws(SystemError) -> Int32 in
            Glibc.connect(descriptor, pointer, length)
        }
        if result < 0 {
            guard hoptrace_errno() == EINPROGRESS else { throw SystemError("connect to \(address)") }
            try wait(for: Int16(POLLOUT), until: deadline, what: "connecting to \(address)")
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { throw SystemError("connect to \(address)", code: error) }
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        if descriptor >= 0 { close(descriptor) }
    }

    private func handshake(host: String, deadline: UInt64) throws(SystemError) {
        guard let ssl = SSL_new(try Self.tlsContext()) else { throw SystemError("SSL_new", code: EPROTO) }
        self.ssl = ssl
        SSL_set_fd(ssl, descriptor)
        _ = hoptrace_ssl_set_sni(ssl, host)
        guard SSL_set1_host(ssl, host) == 1 else { throw SystemError("setting the TLS host name", code: EPROTO) }
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { return }
            try waitForTLS(result, until: deadline, what: "TLS handshake with \(host)")
        }
    }

    /// Writes everything before `deadline`.
    public func write(_ bytes: [UInt8], deadline: UInt64) throws(SystemError) {
        let outcome = bytes.withUnsafeBytes { raw -> Result<Void, SystemError> in
            do throws(SystemError) { return .success(try write(raw, deadline: deadline)) } catch { return .failure(error) }
        }
        try outcome.get()
    }

    /// Writes everything before `deadline`, from memory the caller holds.
    public func write(_ raw: UnsafeRawBufferPointer, deadline: UInt64) throws(SystemError) {
        var offset = 0
        while offset < raw.count {
            let start = raw.baseAddress! + offset
            let written: Int
            if let ssl {
                written = Int(SSL_write(ssl, start, Int32(min(raw.count - offset, Int(Int32.max)))))
            } else {
                written = send(descriptor, start, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
                continue
            }
            if let ssl {
                try waitForTLS(Int32(written), until: deadline, what: "sending")
                _ = ssl
            } else {
                let code = hoptrace_errno()
                guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else { throw SystemError("sending", code: code) }
                try wait(for: Int16(POLLOUT), until: deadline, what: "sending")
            }
        }
    }

    /// Reads some bytes (at most `maximum`) before `deadline`; an empty result is the
    /// end of the stream.
    public func read(maximum: Int, deadline: UInt64) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count: Int = buffer.withUnsafeMutableBytes { raw in
                if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
                return recv(descriptor, raw.baseAddress, raw.count, 0)
            }
            if count > 0 { return Array(buffer[0..<count]) }
            if let ssl {
                let error = SSL_get_error(ssl, Int32(count))
                if error == SSL_ERROR_ZERO_RETURN { return [] }
                try waitForTLS(Int32(count), until: deadline, what: "receiving")
            } else {
                if count == 0 { return [] }
                let code = hoptrace_errno()
                guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else { throw SystemError("receiving", code: code) }
                try wait(for: Int16(POLLIN), until: deadline, what: "receiving")
            }
        }
    }

    private func waitForTLS(_ result: Int32, until deadline: UInt64, what: String) throws(SystemError) {
        guard let ssl else { return }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: try wait(for: Int16(POLLIN), until: deadline, what: what)
        case SSL_ERROR_WANT_WRITE: try wait(for: Int16(POLLOUT), until: deadline, what: what)
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                throw SystemError("\(what): certificate not trusted (\(reason))", code: EPROTO)
            }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(ERR_get_error(), &text, text.count)
            throw SystemError("\(what): \(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))", code: EPROTO)
        }
    }

    private func wait(for events: Int16, until deadline: UInt64, what: String) throws(SystemError) {
        while true {
            let now = Self.monotonicNanoseconds()
            guard now < deadline else { throw SystemError("\(what): timed out", code: ETIMEDOUT) }
            if let interrupted, interrupted() { throw SystemError("\(what): interrupted", code: ECANCELED) }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let milliseconds = Int32(min((deadline - now) / 1_000_000 + 1, interrupted == nil ? UInt64(Int32.max) : 100))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0, hoptrace_errno() != EINTR { throw SystemError("\(what): poll") }
        }
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
