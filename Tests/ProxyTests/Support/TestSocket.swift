import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Blocking sockets on 127.0.0.1 for tests, with timeouts so a bug fails instead of hanging.
enum TestSocket {
    /// Listens on 127.0.0.1 on a port the kernel picks.
    /// Listens on 127.0.0.1:`port` (0: a free port the system picks).
    static func listen(port: Int = 0) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, length) } }
        Glibc.listen(fd, 128)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port that nothing listens on (bound, then closed).
    static func closedPort() -> Int {
        let (fd, port) = listen()
        close(fd)
        return port
    }

    static func connect(port: Int, timeoutSeconds: Int = 10) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        setTimeout(fd, seconds: timeoutSeconds)
        return fd
    }

    static func setTimeout(_ fd: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A `send` that moves no byte for `milliseconds` fails with EAGAIN: how a test sees
    /// that its peer has stopped taking data (the kernel buffers between them are full).
    static func setSendTimeout(_ fd: Int32, milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends `block` again and again until `total` bytes are sent, counting them in `sent`.
    /// Stops when a send moves nothing for the socket's send timeout (the peer stopped
    /// taking data: `.blocked`) or fails (`.failed`). With `resume`, a blocked sender
    /// reports it and goes on sending once the peer takes data again.
    static func sendUntilBlocked(
        _ fd: Int32, total: Int, block: [UInt8], report: Watched<SendProgress>, resume: Bool = false
    ) {
        var sent = 0
        while sent < total {
            let count = block.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, min($0.count, total - sent), Int32(MSG_NOSIGNAL)) }
            if count > 0 {
                sent += count
                report.update { $0.sent = sent }
                continue
            }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                report.update { if $0.blockedAt == nil { $0.blockedAt = sent } }
                if resume { continue }
            }
            report.update { $0.ended = true }
            return
        }
        report.update { $0.ended = true }
    }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }
}

/// What a sender saw of its peer (see `TestSocket.sendUntilBlocked`).
struct SendProgress: Sendable {
    /// Bytes sent so far.
    var sent = 0
    /// Bytes sent when a send first moved nothing for the send timeout, if it did.
    var blockedAt: Int?
    /// The sender stopped: everything sent, blocked (without `resume`) or failed.
    var ended = false
}

/// How a connection's peer ended it, as the next read sees it.
enum PeerEnd: Equatable, CustomStringConvertible {
    /// End of stream (the peer's FIN), with nothing more sent.
    case closed
    /// The peer reset the connection.
    case reset
    /// Nothing came within the socket's read timeout: the peer has not closed.
    case stillOpenAtDeadline
    /// The peer sent bytes first (how many were waiting or came).
    case sentBytes(Int)

    var description: String {
        switch self {
        case .closed: "closed by the peer (end of stream)"
        case .reset: "reset by the peer"
        case .stillOpenAtDeadline: "still open when the read deadline passed"
        case .sentBytes(let count): "the peer sent \(count) more bytes"
        }
    }
}

/// Reads HTTP/1.1 responses from a blocking socket.
final class ResponseReader {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// The connection closed right after this response (or in its body).
        var closed: Bool

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEndOfStream = false
    /// Why the last `fill` got nothing: end of stream, or the errno of a failed read
    /// (EAGAIN: the read timeout passed).
    private var lastEmptyRead: (endOfStream: Bool, error: Int32) = (false, 0)

    init(fd: Int32) {
        self.fd = fd
    }

    /// Reads more bytes; false at end of stream, error or timeout.
    @discardableResult
    func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 {
            lastEmptyRead = (count == 0, count == 0 ? 0 : errno)
            sawEndOfStream = true
            return false
        }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func line() -> String? {
        while true {
            if let index = buffer.firstIndex(of: 0x0A), index > 0, buffer[index - 1] == 0x0D {
                let text = String(decoding: buffer[0..<(index - 1)], as: UTF8.self)
                buffer.removeFirst(index + 1)
                return text
            }
            if !fill() { return nil }
        }
    }

    private func take(_ count: Int) -> [UInt8] {
        while buffer.count < count, fill() {}
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(taken.count)
        return taken
    }

    /// The next response; `method` HEAD means no body. Skips interim 1xx unless asked.
    func read(method: String = "GET", keepInterim: Bool = false) -> Response? {
        guard let statusLine = line() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [(String, String)] = []
        while let field = line(), !field.isEmpty {
            guard let colon = field.firstIndex(of: ":") else { return nil }
            headers.append((String(field[..<colon]), field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = Response(status: status, headers: headers, body: [], closed: false)
        if status >= 100 && status < 200 {
            return keepInterim || status == 101 ? response : read(method: method)
        }
        if method == "HEAD" || status == 204 || status == 304 { return response }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while let sizeLine = line(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) {
                if size == 0 {
                    while let trailer = line(), !trailer.isEmpty {}
                    return response
                }
                response.body += take(size)
                _ = line()
            }
            response.closed = true
            return response
        }
        if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = take(length)
            response.closed = response.body.count < length
            return response
        }
        while fill() {}
        response.body = buffer
        buffer.removeAll()
        response.closed = true
        return response
    }

    /// Waits, up to the socket's read timeout, for the peer to end the connection, and
    /// says how it did: `.closed` when it closed without sending anything more.
    func peerEnd() -> PeerEnd {
        if !buffer.isEmpty { return .sentBytes(buffer.count) }
        if fill() { return .sentBytes(buffer.count) }
        if lastEmptyRead.endOfStream { return .closed }
        return lastEmptyRead.error == ECONNRESET ? .reset : .stillOpenAtDeadline
    }

    /// True when the peer closes (or resets) without sending anything more, within the
    /// socket's read timeout; false when bytes come or the deadline passes first.
    func isClosedByPeer() -> Bool {
        let end = peerEnd()
        return end == .closed || end == .reset
    }

    /// Whatever arrives until the peer closes.
    func readToEnd() -> [UInt8] {
        while fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    func readExactly(_ count: Int) -> [UInt8] { take(count) }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }

    /// FNV-1a, to compare large bodies.
    var checksum: UInt64 {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in self { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return hash
    }
}
