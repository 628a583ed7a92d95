#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// An IPv4 or IPv6 socket address, resolved once (at configuration load).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    private var storage: sockaddr_storage
    public let length: socklen_t

    init(copying pointer: UnsafePointer<sockaddr>, length: socklen_t) {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Int(length)))
        }
        self.storage = storage
        self.length = length
    }

    /// Resolves `host` (a name or a literal) and `port` with getaddrinfo. Blocking: call it
    /// while loading configuration, never on a worker loop.
    /// With `numericOnly`, only a literal address is accepted (no lookup).
    public static func resolve(host: String, port: Int, numericOnly: Bool = false) throws(AddressError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = numericOnly ? AI_NUMERICHOST : AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw AddressError(message: "cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var result: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                let resolved = SocketAddress(copying: address, length: entry.pointee.ai_addrlen)
                if !result.contains(resolved) { result.append(resolved) }
            }
            cursor = entry.pointee.ai_next
        }
        guard !result.isEmpty else { throw AddressError(message: "no address for '\(host)'") }
        return result
    }

    /// Parses `host:port` or `[v6]:port` and resolves it.
    public static func resolve(_ text: String) throws(AddressError) -> [SocketAddress] {
        let (host, port) = try split(text)
        return try resolve(host: host, port: port)
    }

    /// Splits `host:port` / `[v6]:port` without resolving.
    public static func split(_ text: String) throws(AddressError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw AddressError(message: "'\(text)' is not host:port")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw AddressError(message: "'\(text)' has no valid port (0-65535)")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw AddressError(message: "'\(text)' has no host") }
        return (host, port)
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// The numeric host, without port or brackets.
    public var host: String {
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                getnameinfo(address, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
                return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// The IP address as 4 (IPv4) or 16 (IPv6) bytes, network order.
    public var ipBytes: [UInt8] {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET6 ? Array(raw[8..<24]) : Array(raw[4..<8])
        }
    }

    public var port: Int {
        var storage = self.storage
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
        }
    }

    public var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        var storage = self.storage
        return try withUnsafePointer(to: &storage) { (pointer) throws(SystemError) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(SystemError) -> R in
                try body(address, length)
            }
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.length == rhs.length && withUnsafeBytes(of: lhs.storage) { left in
            withUnsafeBytes(of: rhs.storage) { right in
                memcmp(left.baseAddress!, right.baseAddress!, Int(lhs.length)) == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<Int(length)])) }
    }
}

/// A host:port that could not be understood or resolved.
public struct AddressError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
