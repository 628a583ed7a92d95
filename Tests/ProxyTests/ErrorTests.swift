import Foundation
import Testing

@Suite struct ErrorTests {
    @Test func refusedUpstreamGives502() throws {
        let proxy = try ProxyHarness(upstreamPort: TestSocket.closedPort())
        let response = proxy.get("/")
        #expect(response?.status == 502)
        #expect(response?.text.contains("could not connect") == true)
    }

    @Test func connectFailureIsRetriedOnTheNextServer() throws {
        let stub = StubUpstream(body: "second")
        let proxy = try ProxyHarness("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(TestSocket.closedPort())", "127.0.0.1:\(stub.port)"] }
            """)
        for _ in 0..<4 { #expect(proxy.get("/")?.text == "second") }
    }

    /// An upstream that takes the request and says nothing is answered for: 504, once
    /// `upstream_header` passes, while the upstream still holds the request.
    @Test func silentUpstreamGives504() throws {
        // The upstream reads the request and stays silent until the test is over (30 s at
        // most): an answer within the client's read deadline (10 s) can only come from
        // the proxy's own timer.
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let stub = StubUpstream { _, _ in
            _ = testOver.wait(timeout: .now() + 30)
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { upstream_header: 300ms }")
        let response = proxy.get("/")
        #expect(response?.status == 504)
        #expect(stub.requests.count == 1)
    }

    @Test func malformedUpstreamResponseGives502() throws {
        let stub = StubUpstream { _, client in
            client.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.status == 502)
    }

    @Test(arguments: ["HTTP/1.1 200 OK\nContent-Length: 0\n\n", "HTTP/1.1 200 OK\r\nX: a\u{0}b\r\nContent-Length: 0\r\n\r\n"])
    func upstreamHeadWithBareLineFeedOrNulGives502(_ head: String) throws {
        let stub = StubUpstream { _, client in
            client.send(head)
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.status == 502)
    }

    @Test func upstreamClosingBeforeAnyByteGives502() throws {
        let stub = StubUpstream { _, _ in .close }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.status == 502)
    }

    @Test func upstreamCutMidBodyPassesWhatArrivedThenCloses() throws {
        let stub = StubUpstream { _, client in
            client.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            client.send([UInt8](repeating: 0x61, count: 40_010))
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = connection.reader.read()
        #expect(response?.status == 200)
        #expect(response?.body.count == 40_010)
        #expect(response?.closed == true)
    }

    @Test func smugglingAttemptGets400AndNothingReachesUpstream() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGGET /glued HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = connection.reader.read()
        #expect(response?.status == 400)
        #expect(response?.header("connection") == "close")
        #expect(connection.reader.isClosedByPeer())
        #expect(stub.requests.isEmpty)
    }

    @Test func oversizedHeaderGets431() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = proxy.get("/", headers: ["Host: a", "X-Big: " + String(repeating: "v", count: 100 * 1024)])
        #expect(response?.status == 431)
        #expect(stub.requests.isEmpty)
    }

    @Test func tooManyHeaderFieldsGet431() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "limits: { max_header_count: 10 }")
        let response = proxy.get("/", headers: ["Host: a"] + (0..<20).map { "X-\($0): y" })
        #expect(response?.status == 431)
    }

    @Test func declaredBodyAboveTheCapGets413BeforeReadingIt() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "limits: { max_body_bytes: 1000 }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n")
        #expect(connection.reader.read()?.status == 413)
        #expect(stub.requests.isEmpty)
    }

    /// `request_header` bounds the whole head, not each read: a client that trickles
    /// its head, a line at a time, is answered 408 while it is still trickling.
    @Test func slowlorisIsCutAtTheWholeHeadDeadline() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { request_header: 500ms }")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.1\r\n")
        // One header line every 100 ms, for up to 10 s, until the proxy answers: each line
        // would reset a per-read timer, never this one. The 100 ms between lines is the
        // slowloris itself, spent waiting for the answer.
        var lines = 0
        while lines < 100, !connection.hasSomethingToRead(withinMilliseconds: 100) {
            connection.send("X-\(lines): y\r\n")
            lines += 1
        }
        #expect(lines < 100, "the client trickled its head for 10 s and was never cut")
        let answered = connection.reader.read()
        #expect(answered?.status == 408)
        #expect(answered?.header("connection") == "close")
        #expect(connection.reader.isClosedByPeer())
        #expect(stub.requests.isEmpty)
    }

    @Test func http2RequestGets505() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/2.0\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.status == 505)
    }
}

@Suite struct RetryTests {
    final class Counter: @unchecked Sendable {
        var requestsPerConnection: [Int32: Int] = [:]
        let lock = NSLock()
        func next(_ fd: Int32) -> Int {
            lock.lock()
            defer { lock.unlock() }
            requestsPerConnection[fd, default: 0] += 1
            return requestsPerConnection[fd]!
        }
    }

    /// A stub whose connections die on their second request, before responding.
    static func stubThatDropsSecondRequests() -> StubUpstream {
        let counter = Counter()
        return StubUpstream { _, client in
            if counter.next(client.fd) == 2 { return .close }
            client.respond(body: "ok")
            return .keepReading
        }
    }

    @Test func idempotentRequestIsRetriedWhenAReusedConnectionDiesBeforeResponding() throws {
        let stub = Self.stubThatDropsSecondRequests()
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.text == "ok")
        #expect(proxy.get("/")?.text == "ok")
        #expect(stub.acceptedConnections == 2)
    }

    @Test func nonIdempotentRequestIsNotRetriedOnAReusedConnection() throws {
        let stub = Self.stubThatDropsSecondRequests()
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.text == "ok")
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
        #expect(connection.reader.read()?.status == 502)
        #expect(stub.acceptedConnections == 1)
    }
}
