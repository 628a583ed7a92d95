import HTTP1
import ProxyCore
import Testing

/// What the exchange machine is told of a parsed request head: the facts its retry,
/// keep-alive, 100-continue and upgrade rules read.
@Suite struct RequestFactsTests {
    static let heads: [(String, ExchangeMachine.Request)] = [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: true)),
        ("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: true)),
        ("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: true)),
        ("POST / HTTP/1.1\r\nHost: a\r\n\r\n", .init(idempotent: false, hasBody: false, keepAlive: true)),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", .init(idempotent: false, hasBody: false, keepAlive: true)),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", .init(idempotent: false, hasBody: true, keepAlive: true)),
        ("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", .init(idempotent: true, hasBody: true, keepAlive: true)),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: false)),
        ("GET / HTTP/1.0\r\nHost: a\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: false)),
        ("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: false)),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            .init(idempotent: false, hasBody: true, keepAlive: true, expectsContinue: true)
        ),
        (
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            .init(idempotent: true, hasBody: false, keepAlive: true, wantsUpgrade: true)
        ),
        // h2c is never tunnelled.
        (
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            .init(idempotent: true, hasBody: false, keepAlive: true)
        ),
        // Upgrade without `Connection: upgrade` asks for nothing.
        ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", .init(idempotent: true, hasBody: false, keepAlive: true)),
    ]

    @Test(arguments: heads)
    func requestFactsComeFromTheHead(_ text: String, _ expected: ExchangeMachine.Request) throws {
        let head = try RequestHeadParser().parse(Array(text))
        #expect(ExchangeMachine.Request(head) == expected)
    }
}
