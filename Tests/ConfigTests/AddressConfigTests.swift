import Config
import Testing

/// Listening addresses and upstream servers: the forms users of other proxies type are
/// read as `host:port`; forms hoptrace would misread are refused with the reason.
@Suite struct AddressConfigTests {
    static func upstreams(_ server: String) -> String {
        """
        routes:
          - { name: web, path_prefix: /, upstream: backend }
        upstreams:
          backend: { servers: ["\(server)"] }
        """
    }

    static func problems(_ yaml: String) -> [String] {
        do {
            _ = try ConfigLoader.parse(yaml: yaml)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    // MARK: Listening addresses

    @Test func aListenAddressWithoutAHostMeansEveryIPv4Interface() throws {
        let configuration = try ConfigLoader.parse(yaml: """
            listen: ":8080"
            admin: ":9901"
            receiver: { listen: ":4318" }
            """ + "\n" + ConfigLoaderTests.minimal)
        #expect(configuration.listen == "0.0.0.0:8080")
        #expect(configuration.admin == "0.0.0.0:9901")
        #expect(configuration.receiver?.listen == "0.0.0.0:4318")
    }

    @Test(arguments: ["0.0.0.0:8080", "127.0.0.1:0", "[::]:8080", "[::1]:8080", "localhost:8080"])
    func aListenAddressWithAHostIsKeptAsWritten(_ address: String) throws {
        #expect(try ConfigLoader.parse(yaml: "listen: \"\(address)\"\n" + ConfigLoaderTests.minimal).listen == address)
    }

    @Test func portZeroStillMeansAnyFreePortWhenListening() throws {
        #expect(try ConfigLoader.parse(yaml: "listen: \":0\"\n" + ConfigLoaderTests.minimal).listen == "0.0.0.0:0")
    }

    @Test(arguments: ["8080", ":", "host:", "host:65536", "host:+80", "[::1]", "[]:80", "http://0.0.0.0:8080"])
    func aListenAddressThatIsNotHostPortIsRefused(_ address: String) {
        #expect(Self.problems("listen: \"\(address)\"\n" + ConfigLoaderTests.minimal) == [
            "listen (line 1): must be host:port, like 0.0.0.0:8080 or :8080, not '\(address)'",
        ])
    }

    @Test func anIPv6ListenAddressNeedsBrackets() {
        #expect(Self.problems("listen: \"::1:8080\"\n" + ConfigLoaderTests.minimal) == [
            "listen (line 1): an IPv6 address needs brackets, like [::]:8080, not '::1:8080'",
        ])
    }

    // MARK: Upstream servers

    @Test(arguments: [
        ("127.0.0.1:4567", "127.0.0.1:4567"),
        ("backend:4567", "backend:4567"),
        ("[::1]:4567", "[::1]:4567"),
        ("http://backend:4567", "backend:4567"),
        ("http://backend:4567/", "backend:4567"),
        ("HTTP://backend:4567", "backend:4567"),
        ("http://backend", "backend:80"),
        ("http://backend/", "backend:80"),
        ("http://[::1]", "[::1]:80"),
        ("http://[::1]:4567", "[::1]:4567"),
    ])
    func anUpstreamServerIsStoredAsHostPort(_ written: String, _ stored: String) throws {
        let configuration = try ConfigLoader.parse(yaml: Self.upstreams(written))
        #expect(configuration.upstreams["backend"]?.servers.map(\.address) == [stored])
    }

    @Test func anUpstreamServerOnPortZeroIsRefused() {
        #expect(Self.problems(Self.upstreams("127.0.0.1:0")) == [
            "upstreams.backend.servers[0] (line 4): port 0 is not a port an upstream can listen on: write the port the server serves on, not '127.0.0.1:0'",
        ])
        #expect(Self.problems(Self.upstreams("http://backend:0")).count == 1)
    }

    @Test(arguments: [":8080", "http://:8080", "http://"])
    func anUpstreamServerWithoutAHostIsRefused(_ written: String) {
        #expect(Self.problems(Self.upstreams(written)) == [
            "upstreams.backend.servers[0] (line 4): '\(written)' has no host: name the server, like 127.0.0.1:8080 or backend:8080",
        ])
    }

    @Test func anHTTPSUpstreamIsRefusedWithWhatToDoInstead() {
        #expect(Self.problems(Self.upstreams("https://backend:8443")) == [
            "upstreams.backend.servers[0] (line 4): https upstreams are not supported yet: hoptrace speaks plain HTTP to upstreams; terminate TLS elsewhere or use http://, not 'https://backend:8443'",
        ])
    }

    @Test func anUpstreamWithAPathIsRefusedBecauseRequestsKeepTheirOwnPath() {
        #expect(Self.problems(Self.upstreams("http://backend:4567/api")) == [
            "upstreams.backend.servers[0] (line 4): a path in an upstream server is not supported: requests keep their own path (a route's strip_prefix can remove a prefix); write http://backend:4567, not 'http://backend:4567/api'",
        ])
    }

    @Test(arguments: ["http://backend:4567?x=1", "http://backend:4567/?x=1", "http://backend:4567#top"])
    func anUpstreamWithAQueryOrFragmentIsRefused(_ written: String) {
        #expect(Self.problems(Self.upstreams(written)) == [
            "upstreams.backend.servers[0] (line 4): a query or fragment in an upstream server is not supported: write http://backend:4567, not '\(written)'",
        ])
    }

    @Test func anUpstreamWithCredentialsIsRefused() {
        #expect(Self.problems(Self.upstreams("http://user:secret@backend:4567")) == [
            "upstreams.backend.servers[0] (line 4): credentials in an upstream server (user@host) are not supported: hoptrace sends none upstream; remove them from 'http://user:secret@backend:4567'",
        ])
    }

    @Test func anUpstreamWithAnotherSchemeIsRefused() {
        #expect(Self.problems(Self.upstreams("ws://backend:4567")) == [
            "upstreams.backend.servers[0] (line 4): 'ws://' is not a scheme hoptrace sends to: write host:port or http://host:port, not 'ws://backend:4567'",
        ])
    }

    @Test(arguments: ["backend", "backend:", "backend:http", "backend:99999", "backend:4567/api"])
    func anUpstreamServerThatIsNotHostPortIsRefused(_ written: String) {
        #expect(Self.problems(Self.upstreams(written)) == [
            "upstreams.backend.servers[0] (line 4): must be host:port or http://host:port, like 127.0.0.1:4567, not '\(written)'",
        ])
    }

    @Test func anIPv6UpstreamNeedsBrackets() {
        #expect(Self.problems(Self.upstreams("::1:4567")) == [
            "upstreams.backend.servers[0] (line 4): an IPv6 address needs brackets, like [::1]:4567, not '::1:4567'",
        ])
    }
}
