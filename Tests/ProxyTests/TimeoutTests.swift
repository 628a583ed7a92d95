import Foundation
import Synchronization
import Testing
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// The timeouts as the README states them: each deadline cuts only the side that stalls,
/// never a healthy exchange. Short timeouts; the assertions are about outcomes.
@Suite struct TimeoutTests {
    /// An upstream that reads the request, waits `delay`, then answers 200 "late".
    static func slowUpstream(delay: TimeInterval) -> StubUpstream {
        StubUpstream { _, client in
            Thread.sleep(forTimeInterval: delay)
            client.respond(body: "late")
            return .keepReading
        }
    }

    @Test func postWithABodyIsAnsweredWhenTheUpstreamTakesLongerThanIdle() throws {
        let stub = Self.slowUpstream(delay: 0.8)
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 300ms, upstream_header: 10s }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let response = connection.reader.read()
        #expect(response?.status == 200)
        #expect(response?.text == "late")
    }

    @Test func chunkedPutIsAnsweredWhenTheUpstreamTakesLongerThanIdle() throws {
        let stub = Self.slowUpstream(delay: 0.8)
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 300ms, upstream_header: 10s }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("PUT /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        #expect(connection.reader.read()?.status == 200)
        #expect(stub.requests.first?.body == Array("{}".utf8))
    }

    @Test func largeUploadToASlowReadingUpstreamIsNotCut() throws {
        // The upstream takes 64 KiB every 50 ms: 2 MiB lasts about 1.6 s, idle is 400 ms.
        let (listener, port) = TestSocket.listen()
        defer { close(listener) }
        let received = Atomic<Int>(0)
        let upload = StreamingTests.pattern(2 * 1024 * 1024)
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            TestSocket.setTimeout(fd, seconds: 10)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var total = 0
            var headEnd: Int?
            var seen: [UInt8] = []
            while headEnd == nil || total - headEnd! < upload.count {
                usleep(50_000)
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                if headEnd == nil {
                    seen += buffer[0..<count]
                    if let range = seen.firstRange(of: Array("\r\n\r\n".utf8)) { headEnd = range.upperBound }
                }
                total += count
            }
            received.store(total - headEnd!, ordering: .relaxed)
            _ = TestSocket.send(fd, Array("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone".utf8))
        }
        let proxy = try ProxyHarness(upstreamPort: port, extra: "timeouts: { idle: 400ms, upstream_header: 10s }")
        let connection = proxy.connect()
        defer { connection.close() }
        let fd = connection.fd
        Thread.detachNewThread {
            TestSocket.send(fd, Array("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(upload.count)\r\n\r\n".utf8))
            TestSocket.send(fd, upload)
        }
        let response = connection.reader.read()
        #expect(response?.status == 200)
        #expect(received.load(ordering: .relaxed) == upload.count)
    }

    @Test func anUploadLongerThanUpstreamHeaderIsNotCut() throws {
        // 20 bytes, one every 100 ms: 2 s of upload against a 500 ms response deadline,
        // which only starts once the last byte is written upstream.
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 2s, upstream_header: 500ms }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n")
        for byte in Array("abcdefghijklmnopqrst".utf8) {
            usleep(100_000)
            connection.send([byte])
        }
        #expect(connection.reader.read()?.status == 200)
        #expect(stub.requests.first?.body == Array("abcdefghijklmnopqrst".utf8))
    }

    @Test func theResponseDeadlineStillCutsASilentUpstreamAfterTheUpload() throws {
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        // Silent until the test is over (30 s at most): a 504 within the client's read
        // deadline (10 s) comes from the proxy's timer.
        let stub = StubUpstream { _, _ in
            _ = testOver.wait(timeout: .now() + 30)
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 5s, upstream_header: 300ms }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
        #expect(connection.reader.read()?.status == 504)
        #expect(stub.requests.first?.body == Array("{}".utf8))
    }

    @Test func aClientThatStopsSendingItsBodyGets408AndTheAttemptIsCut() throws {
        let (tracing, store) = ProxyTracingTests.setup()
        let stub = StubUpstream(body: "never")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 300ms }", tracing: tracing)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /x HTTP/1.1\r\nHost: t\r\ntraceparent: \(ProxyTracingTests.incoming)\r\nContent-Length: 10\r\n\r\nabc")
        let response = connection.reader.read()
        #expect(response?.status == 408)
        #expect(response?.header("connection") == "close")
        #expect(connection.reader.peerEnd() == .closed)
        #expect(stub.requests.isEmpty)
        let spans = ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let server = spans.first { $0.kind == .server }
        #expect(ProxyTracingTests.attribute(server, "error.type") == .string("request_body_timeout"))
        // The client was at fault: the upstream attempt is not marked as failing.
        let client = spans.first { $0.kind == .client }
        #expect(ProxyTracingTests.attribute(client, "error.type") == nil)
    }

    @Test func anUpstreamThatStopsReadingTheBodyGets504() throws {
        // Accepts and never reads: the kernel buffers fill, then nothing moves for `idle`.
        let (listener, port) = TestSocket.listen()
        defer { close(listener) }
        let accepted = Atomic<Int32>(-1)
        Thread.detachNewThread { accepted.store(accept(listener, nil, nil), ordering: .relaxed) }
        defer { let fd = accepted.load(ordering: .relaxed); if fd >= 0 { close(fd) } }
        let (tracing, store) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(upstreamPort: port, extra: "timeouts: { idle: 400ms }", tracing: tracing)
        // The body is made before connecting: making 32 MiB takes a debug build many
        // seconds on a loaded machine, and a connection silent that long meets the
        // proxy's request_header deadline (30 s) before its request is sent.
        let body = StreamingTests.pattern(32 * 1024 * 1024)
        let connection = proxy.connect()
        defer { connection.close() }
        let fd = connection.fd
        Thread.detachNewThread {
            TestSocket.send(fd, Array("POST /x HTTP/1.1\r\nHost: t\r\ntraceparent: \(ProxyTracingTests.incoming)\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
            TestSocket.send(fd, body)
        }
        #expect(connection.reader.read()?.status == 504)
        let spans = ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let client = spans.first { $0.kind == .client }
        #expect(ProxyTracingTests.attribute(client, "error.type") == .string("upstream_write_timeout"))
    }

    static func webSocketStub() -> StubUpstream {
        StubUpstream { _, client in
            client.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            return .echo
        }
    }

    static let upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\ntraceparent: \(ProxyTracingTests.incoming)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"

    @Test func anIdleTunnelIsClosedAfterTheTunnelTimeoutAndTheSpanSaysWhy() throws {
        let stub = Self.webSocketStub()
        let (tracing, store) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 10s, tunnel: 300ms }", tracing: tracing)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send(Self.upgrade)
        #expect(connection.reader.read()?.status == 101)
        #expect(connection.reader.peerEnd() == .closed)
        let spans = ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let server = spans.first { $0.kind == .server }
        #expect(ProxyTracingTests.attribute(server, "hoptrace.tunnel.end_reason") == .string("idle_timeout"))
        #expect(server?.status == .unset)
    }

    @Test func aTunnelWithTrafficOutlivesItsTimeout() throws {
        let stub = Self.webSocketStub()
        let (tracing, store) = ProxyTracingTests.setup()
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { idle: 100ms, tunnel: 1s }", tracing: tracing)
        let connection = proxy.connect()
        connection.send(Self.upgrade)
        #expect(connection.reader.read()?.status == 101)
        // A byte every 200 ms (deliberate quiet periods: each longer than `idle`, a fifth
        // of `tunnel`) for 2 s: well past both.
        for index in 0..<10 {
            usleep(200_000)
            connection.send([UInt8(65 + index)])
            #expect(connection.reader.readExactly(1) == [UInt8(65 + index)])
        }
        connection.close()
        let spans = ProxyTracingTests.spans(store, trace: "0af7651916cd43dd8448eb211c80319c", count: 2)
        let server = spans.first { $0.kind == .server }
        #expect(ProxyTracingTests.attribute(server, "hoptrace.tunnel.end_reason") == .string("client_closed"))
    }

    @Test func aClientThatHasGoneBeforeItsRequestIsSentIsNotForwarded() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        // The request and the FIN leave in one segment (TCP_CORK), so the proxy sees both at once.
        let gone = proxy.connect()
        var one: Int32 = 1
        setsockopt(gone.fd, Int32(IPPROTO_TCP), TCP_CORK, &one, socklen_t(MemoryLayout<Int32>.size))
        gone.send("GET /gone HTTP/1.1\r\nHost: t\r\n\r\n")
        shutdown(gone.fd, Int32(SHUT_WR))
        #expect(gone.reader.isClosedByPeer())
        gone.close()
        // A request after it is served, and is the only one the upstream saw.
        #expect(proxy.get("/after")?.status == 200)
        #expect(stub.requests.map(\.target) == ["/after"])
    }
}
