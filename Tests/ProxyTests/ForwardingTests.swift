import Foundation
import Testing

@Suite struct ForwardingTests {
    @Test func upstreamConnectionIsReusedAcrossRequests() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        for _ in 0..<5 {
            connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(connection.reader.read()?.text == "ok")
        }
        connection.close()
        for _ in 0..<3 { #expect(proxy.get("/")?.text == "ok") }
        #expect(stub.acceptedConnections == 1)
    }

    @Test func warmUpstreamConnectionsAreKeptAcrossAReload() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.text == "ok")
        // The reload makes new server objects for the same address; a new route shows when
        // the worker has it.
        try proxy.reload("""
            routes:
              - { name: other, path: /other, upstream: backend }
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """)
        #expect(waitUntil { proxy.get("/other")?.status == 200 })
        #expect(proxy.get("/")?.text == "ok")
        #expect(stub.acceptedConnections == 1)
    }

    @Test func upstreamConnectionIsNotReusedAfterConnectionClose() throws {
        let stub = StubUpstream { _, client in
            client.respond(headers: ["Connection: close"], body: "bye")
            return .close
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        #expect(proxy.get("/")?.text == "bye")
        #expect(proxy.get("/")?.text == "bye")
        #expect(stub.acceptedConnections == 2)
    }

    @Test func hopByHopHeadersAreRemovedAndForwardingHeadersAdded() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let response = proxy.get("/", headers: [
            "Host: shop.example", "Connection: keep-alive, X-Secret, X-Forwarded-For", "Keep-Alive: timeout=5",
            "X-Secret: 1", "X-Forwarded-For: 1.2.3.4", "TE: trailers", "Proxy-Connection: keep-alive", "X-Kept: yes",
        ])
        #expect(response?.status == 200)
        let request = try #require(stub.requests.first)
        #expect(request.header("host") == "shop.example")
        #expect(request.header("x-secret") == nil)
        #expect(request.header("keep-alive") == nil)
        #expect(request.header("te") == nil)
        #expect(request.header("proxy-connection") == nil)
        #expect(request.header("connection") == nil)
        #expect(request.header("x-kept") == "yes")
        #expect(request.header("x-forwarded-for")?.hasSuffix("127.0.0.1") == true)
        #expect(request.header("x-forwarded-proto") == "http")
        #expect(request.header("x-forwarded-host") == "shop.example")
        #expect(request.head.hasPrefix("GET / HTTP/1.1\r\n"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let stub = StubUpstream { request, client in
            // The first answer is slow: order must still hold.
            if request.target == "/one" { usleep(200_000) }
            client.respond(body: request.target)
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\nGET /three HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.text == "/one")
        #expect(connection.reader.read()?.text == "/two")
        #expect(connection.reader.read()?.text == "/three")
    }

    @Test func http10ClientIsClosedAfterItsResponse() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
        let response = connection.reader.read()
        #expect(response?.text == "ok")
        #expect(response?.header("connection") == "close")
        #expect(connection.reader.isClosedByPeer())
    }

    @Test func clientConnectionCloseIsHonoured() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(connection.reader.read()?.header("connection") == "close")
        #expect(connection.reader.isClosedByPeer())
    }

    @Test func expectContinueIsAnsweredAndTheConnectionStaysInSync() throws {
        let stub = StubUpstream { request, client in
            client.respond(body: "got \(request.body.count)")
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(connection.reader.read(keepInterim: true)?.status == 100)
        connection.send("hello")
        #expect(connection.reader.read()?.text == "got 5")
        // Body sent at once, without waiting for 100, then another request.
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.text == "got 3")
        #expect(connection.reader.read()?.text == "got 0")
        #expect(stub.requests.allSatisfy { $0.header("expect") == nil })
    }

    @Test func unsupportedExpectationGets417() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 1\r\n\r\nx")
        #expect(connection.reader.read()?.status == 417)
        #expect(stub.requests.isEmpty)
    }

    @Test func headAndNoContentResponsesCarryNoBody() throws {
        let stub = StubUpstream { request, client in
            if request.method == "HEAD" {
                client.send("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
            } else {
                client.send("HTTP/1.1 204 No Content\r\n\r\n")
            }
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = connection.reader.read(method: "HEAD")
        #expect(head?.header("content-length") == "1234")
        connection.send("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.status == 204)
        connection.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(connection.reader.read()?.status == 204)
        #expect(stub.acceptedConnections == 1)
    }

    @Test func chunkedRequestIsForwardedCanonically() throws {
        let stub = StubUpstream { request, client in
            client.respond(body: String(decoding: request.body, as: UTF8.self))
            return .keepReading
        }
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n")
        #expect(connection.reader.read()?.text == "hello")
        #expect(stub.requests.first?.header("transfer-encoding") == "chunked")
        #expect(stub.requests.first?.header("content-length") == nil)
    }
}

@Suite struct PipeliningTests {
    @Test func thousandsOfPipelinedLocallyAnsweredRequestsAreAllAnsweredInOrder() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness("""
            routes:
              - { name: api, path_prefix: /api, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(stub.port)"] }
            """)
        let connection = proxy.connect()
        defer { connection.close() }
        let count = 3000
        var batch = ""
        for index in 0..<count { batch += "GET /missing/\(index) HTTP/1.1\r\nHost: a\r\n\r\n" }
        // Sent from another thread: the answers must be read while the batch goes out.
        let fd = connection.fd
        let bytes = Array(batch.utf8)
        Thread.detachNewThread { TestSocket.send(fd, bytes) }
        var answered = 0
        while answered < count, let response = connection.reader.read(), response.status == 404 {
            answered += 1
        }
        #expect(answered == count)
    }

    @Test func http10RequestWithoutHostGetsTheUpstreamAsHost() throws {
        let stub = StubUpstream(body: "ok")
        let proxy = try ProxyHarness(upstreamPort: stub.port)
        let connection = proxy.connect()
        defer { connection.close() }
        connection.send("GET / HTTP/1.0\r\n\r\n")
        #expect(connection.reader.read()?.text == "ok")
        #expect(stub.requests.first?.header("host") == "127.0.0.1:\(stub.port)")
    }
}
