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

    @Test func silentUpstreamGives504() throws {
        // The upstream reads the request and stays silent until the test is over.
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let stub = StubUpstream { _, _ in
            _ = testOver.wait(timeout: .now() + 10)
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { upstream_header: 300ms }")
        let started = Date()
        #expect(proxy.get("/")?.status == 504)
        #expect(Date().timeIntervalSince(started) < 1.5)
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

    @Test func slowlorisIsCutAtTheWholeHeadDeadline() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port, extra: "timeouts: { request_header: 500ms }")
        let connection = proxy.connect()
        defer { connection.close() }
        let started = Date()
        connection.send("GET / HTTP/1.1\r\n")
        // One header line every 200 ms: each byte would reset a per-read timer, not this one.
        var answered: ResponseReader.Response?
        for index in 0..<10 {
            usleep(200_000)
            connection.send("X-\(index): y\r\n")
            if Date().timeIntervalSince(started) > 0.8 { break }
        }
        answered = connection.reader.read()
        #expect(answered?.status == 408)
        #expect(Date().timeIntervalSince(started) < 2.5)
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
