import Testing

@Suite struct ReloadTests {
    @Test func reloadAppliesNewRoutesToNewRequests() throws {
        let first = StubUpstream(body: "first")
        let second = StubUpstream(body: "second")
        let proxy = try ProxyHarness(upstreamPort: first.port)
        #expect(proxy.get("/")?.text == "first")
        try proxy.reload("""
            routes:
              - { name: all, path_prefix: /, upstream: next }
            upstreams:
              next: { servers: ["127.0.0.1:\(second.port)"] }
            """)
        // The worker swaps the snapshot on its next loop turn; a new request sees it.
        var answer: String?
        for _ in 0..<50 {
            answer = proxy.get("/")?.text
            if answer == "second" { break }
        }
        #expect(answer == "second")
    }
}
