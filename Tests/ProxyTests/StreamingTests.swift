import Foundation
import Synchronization
import Testing

@Suite struct StreamingTests {
    static let size = 24 * 1024 * 1024

    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
    }

    @Test func largeRequestBodyStreamsUpstreamIntact() throws {
        let stub = StubUpstream { request, client in
            client.respond(body: "\(request.body.count) \(request.body.checksum)")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let body = Self.pattern(Self.size)
        let connection = proxy.connect()
        defer { connection.close() }
        // The answer waits for the stub to checksum 24 MiB (a debug build, maybe a loaded
        // machine): the deadline on each read and send, there against a hang, is 30 s.
        TestSocket.setTimeout(connection.fd, seconds: 30)
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.count)\r\n\r\n")
        connection.send(body)
        #expect(connection.reader.read()?.text == "\(body.count) \(body.checksum)")
    }

    @Test func largeChunkedRequestBodyStreamsUpstreamIntact() throws {
        let stub = StubUpstream { request, client in
            client.respond(body: "\(request.body.count) \(request.body.checksum)")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let body = Self.pattern(4 * 1024 * 1024 + 17)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        var offset = 0
        while offset < body.count {
            let size = min(100_003, body.count - offset)
            connection.send(String(size, radix: 16) + "\r\n")
            connection.send(Array(body[offset..<(offset + size)]) + Array("\r\n".utf8))
            offset += size
        }
        connection.send("0\r\n\r\n")
        #expect(connection.reader.read()?.text == "\(body.count) \(body.checksum)")
    }

    @Test func largeResponseBodyStreamsToTheClientIntact() throws {
        let body = Self.pattern(Self.size)
        let stub = StubUpstream { _, client in
            client.send("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n")
            client.send(body)
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = proxy.get("/download")
        #expect(response?.body.count == body.count)
        #expect(response?.body.checksum == body.checksum)
    }

    @Test func chunkedResponseIsReframedForHTTP11AndUnchunkedForHTTP10() throws {
        let stub = StubUpstream { _, client in
            client.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = proxy.get("/")
        #expect(response?.header("transfer-encoding") == "chunked")
        #expect(response?.text == "hello world")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.0\r\nHost: a\r\n\r\n")
        let old = connection.reader.read()
        #expect(old?.header("transfer-encoding") == nil)
        #expect(old?.text == "hello world")
    }

    @Test func slowReadingClientPausesTheUpstreamInsteadOfBuffering() throws {
        let total = 256 * 1024 * 1024
        let upstreamSending = Watched(SendProgress())
        let stub = StubUpstream { _, client in
            // The stub notes when a send has moved nothing for 500 ms (the proxy stopped
            // reading from it), then goes on sending for when the client reads again.
            TestSocket.setSendTimeout(client.fd, milliseconds: 500)
            client.send("HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\n\r\n")
            TestSocket.sendUntilBlocked(
                client.fd, total: total, block: [UInt8](repeating: 0x62, count: 1024 * 1024), report: upstreamSending, resume: true)
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        var size: Int32 = 64 * 1024
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        connection.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        // The client reads nothing: the upstream must end up unable to send.
        #expect(
            upstreamSending.wait(seconds: 20) { $0.blockedAt != nil || $0.ended },
            "the upstream was neither blocked nor done within 20 s")
        let progress = upstreamSending.current
        let blockedAt = try #require(progress.blockedAt, "the upstream sent all \(progress.sent) bytes to a client that reads nothing")
        // Kernel buffers on two sockets plus the proxy's bounded buffers: far below 256 MiB.
        #expect(blockedAt < 40 * 1024 * 1024, "the proxy buffered \(blockedAt) bytes for a client that does not read")
        // And the stream resumes when the client reads.
        let head = connection.reader.readExactly(64)
        #expect(head.starts(with: Array("HTTP/1.1 200".utf8)))
        // Read on until the upstream gets to send again (what the kernels hold in between
        // varies), within 64 MiB; each read is bounded by the socket's read deadline.
        var read = head.count
        while upstreamSending.current.sent <= blockedAt, read < 64 * 1024 * 1024 {
            let chunk = connection.reader.readExactly(256 * 1024)
            if chunk.isEmpty { break }
            read += chunk.count
        }
        #expect(upstreamSending.current.sent > blockedAt, "the upstream could not send again after the client read \(read) bytes")
    }

    @Test func webSocketEchoesThroughTheTunnelAfterA101() throws {
        let stub = StubUpstream { request, client in
            guard request.header("upgrade") == "websocket" else {
                client.respond(status: 400, body: "no upgrade")
                return .close
            }
            client.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            return .echo
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let response = connection.reader.read()
        #expect(response?.status == 101)
        #expect(response?.header("upgrade") == "websocket")
        let frame: [UInt8] = [0x81, 0x84, 1, 2, 3, 4] + Array("ping".utf8)
        connection.send(frame)
        #expect(connection.reader.readExactly(frame.count) == frame)
        let big = StreamingTests.pattern(2 * 1024 * 1024)
        connection.send(big)
        #expect(connection.reader.readExactly(big.count).checksum == big.checksum)
    }

    @Test func upgradeRequestAnsweredWithout101StaysHTTP() throws {
        let stub = StubUpstream { _, client in
            client.respond(body: "plain")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(connection.reader.read()?.text == "plain")
        connection.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.text == "plain")
    }

    @Test func h2cUpgradeIsForwardedAsAPlainRequest() throws {
        let stub = StubUpstream { _, client in
            client.respond(body: "plain")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = proxy.get("/", headers: ["Host: a", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"])
        #expect(response?.text == "plain")
        #expect(stub.requests.first?.header("upgrade") == nil)
        #expect(stub.requests.first?.header("http2-settings") == nil)
    }
}

@Suite struct UploadBackpressureTests {
    @Test func upstreamThatStopsReadingPausesTheClientInsteadOfBuffering() throws {
        let release = DispatchSemaphore(value: 0)
        // A raw upstream that accepts and never reads.
        let (listenFD, port) = TestSocket.listen()
        defer { close(listenFD) }
        Thread.detachNewThread {
            let fd = accept(listenFD, nil, nil)
            release.wait()
            if fd >= 0 { close(fd) }
        }
        let proxy = try ProxyHarness(upstreamPort: port)
        let connection = proxy.connect()
        defer {
            release.signal()
            connection.close()
        }
        var size: Int32 = 64 * 1024
        setsockopt(connection.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let total = 256 * 1024 * 1024
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(total)\r\n\r\n")
        // The client notes when a send has moved nothing for 500 ms: the proxy stopped
        // reading its body.
        let clientSending = Watched(SendProgress())
        let fd = connection.fd
        Thread.detachNewThread {
            TestSocket.setSendTimeout(fd, milliseconds: 500)
            TestSocket.sendUntilBlocked(fd, total: total, block: [UInt8](repeating: 0x75, count: 1024 * 1024), report: clientSending)
        }
        #expect(clientSending.wait(seconds: 20) { $0.ended }, "the client was neither blocked nor done within 20 s")
        let progress = clientSending.current
        let blockedAt = try #require(progress.blockedAt, "the proxy took all \(progress.sent) bytes of a body its upstream does not read")
        #expect(blockedAt < 40 * 1024 * 1024, "the proxy took \(blockedAt) bytes of a body its upstream does not read")
    }

    /// A keep-alive connection left idle is closed by the proxy, silently (end of stream,
    /// no response), and only after `idle`: a request half-way through it is served.
    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 2s }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.text == "ok")
        // A deliberate quiet period of half the idle timeout: the connection stays open.
        usleep(1_000_000)
        connection.send("GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.text == "ok", "a request half-way through the idle timeout was not served")
        // Now silent: the proxy closes, without a word, within the read deadline (10 s).
        #expect(connection.reader.peerEnd() == .closed)
        #expect(stub.requests.map(\.target) == ["/first", "/second"])
    }
}
