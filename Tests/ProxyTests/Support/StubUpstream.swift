import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 server on 127.0.0.1:0 standing in for an upstream. It reads each
/// request (Content-Length or chunked body), records it, and lets the test's handler
/// answer through the connection. Counts accepted connections.
final class StubUpstream: @unchecked Sendable {
    struct Request: Sendable {
        var head: String
        var body: [UInt8]
        var method: String { String(head.split(separator: " ").first ?? "") }
        var target: String { String(head.split(separator: " ").dropFirst().first ?? "") }
        var headerLines: [String] { head.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty } }
        func header(_ name: String) -> String? {
            headerLines.first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
        func headers(_ name: String) -> [String] {
            headerLines.filter { $0.lowercased().hasPrefix(name.lowercased() + ":") }
        }
    }

    /// What the handler can do with a connection.
    final class Client: @unchecked Sendable {
        let fd: Int32
        /// Bytes sent so far by `send` (for backpressure tests).
        let sentBytes = Atomic<Int>(0)
        init(fd: Int32) { self.fd = fd }

        func send(_ text: String) { send(Array(text.utf8)) }

        @discardableResult
        func send(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let chunk = min(65536, bytes.count - offset)
                let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, chunk, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return false }
                offset += sent
                sentBytes.add(sent, ordering: .relaxed)
            }
            return true
        }

        func respond(status: Int = 200, headers: [String] = [], body: String = "") {
            var head = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n"
            for header in headers { head += header + "\r\n" }
            send(head + "\r\n" + body)
        }

        /// Closes the socket (the stub stops serving this connection).
        func close() { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    enum Next {
        /// Read the next request on this connection.
        case keepReading
        /// Stop serving this connection and close it.
        case close
        /// Hand the raw socket to the handler's tunnel loop: echo until the peer closes.
        case echo
    }

    let port: Int
    private let listenFD: Int32
    private let handler: @Sendable (Request, Client) -> Next
    private let state = Mutex<(accepted: Int, requests: [Request], clients: [Int32], stopped: Bool)>((0, [], [], false))

    /// Listens on `port`, or on a free port when it is 0.
    init(port: Int = 0, handler: @escaping @Sendable (Request, Client) -> Next) {
        (listenFD, self.port) = TestSocket.listen(port: port)
        self.handler = handler
        let fd = listenFD
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                let stopped = state.withLock { state -> Bool in
                    state.accepted += 1
                    state.clients.append(client)
                    return state.stopped
                }
                if stopped { Glibc.close(client); return }
                TestSocket.setTimeout(client, seconds: 20)
                Thread.detachNewThread { [self] in serve(client) }
            }
        }
    }

    /// A stub answering every request with 200 and `body`, keeping connections alive.
    convenience init(body: String) {
        self.init { _, client in
            client.respond(body: body)
            return .keepReading
        }
    }

    var acceptedConnections: Int { state.withLock { $0.accepted } }
    var requests: [Request] { state.withLock { $0.requests } }

    func stop() {
        let clients = state.withLock { state -> [Int32] in
            state.stopped = true
            return state.clients
        }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        for client in clients { shutdown(client, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func serve(_ fd: Int32) {
        let client = Client(fd: fd)
        let reader = RequestReader(fd: fd)
        defer { Glibc.close(fd) }
        while let request = reader.read() {
            state.withLock { $0.requests.append(request) }
            switch handler(request, client) {
            case .keepReading: continue
            case .close: return
            case .echo:
                var pending = reader.takeBuffered()
                while true {
                    if !pending.isEmpty, !client.send(pending) { return }
                    var chunk = [UInt8](repeating: 0, count: 65536)
                    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { return }
                    pending = Array(chunk[0..<count])
                }
            }
        }
    }
}

/// Reads requests for the stub (lenient: the proxy is the strict one).
final class RequestReader {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    func takeBuffered() -> [UInt8] {
        defer { buffer.removeAll() }
        return buffer
    }

    private func line() -> String? {
        while true {
            if let index = buffer.firstIndex(of: 0x0A) {
                let text = String(decoding: buffer[0..<index], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                buffer.removeFirst(index + 1)
                return text
            }
            if !fill() { return nil }
        }
    }

    private func take(_ count: Int) -> [UInt8]? {
        while buffer.count < count { if !fill() { return nil } }
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return taken
    }

    func read() -> StubUpstream.Request? {
        var lines: [String] = []
        while let line = line() {
            if line.isEmpty {
                if lines.isEmpty { continue }
                break
            }
            lines.append(line)
        }
        guard !lines.isEmpty else { return nil }
        var request = StubUpstream.Request(head: lines.joined(separator: "\r\n") + "\r\n", body: [])
        if request.header("transfer-encoding")?.lowercased() == "chunked" {
            while let sizeLine = line(), let size = Int(sizeLine, radix: 16) {
                if size == 0 {
                    while let trailer = line(), !trailer.isEmpty {}
                    break
                }
                guard let data = take(size) else { return nil }
                request.body += data
                _ = line()
            }
        } else if let length = request.header("content-length").flatMap({ Int($0) }), length > 0 {
            guard let body = take(length) else { return nil }
            request.body = body
        }
        return request
    }
}
