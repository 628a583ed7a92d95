import HTTP1
import Testing

/// `host[:port]` and `[v6]:port` split by form: what routing, spans, configuration and
/// the exporter's endpoint all read.
@Suite struct AuthorityTests {
    /// One authority and its expected parts; a nil port text means no colon after the host.
    struct Split: CustomTestStringConvertible, Sendable {
        var text: String
        var host: String
        var hostname: String
        var portText: String?
        var port: Int?

        init(_ text: String, host: String, hostname: String? = nil, portText: String? = nil, port: Int? = nil) {
            self.text = text
            self.host = host
            self.hostname = hostname ?? host
            self.portText = portText
            self.port = port
        }

        var testDescription: String { "'\(text)'" }
    }

    static let splits: [Split] = [
        Split("example.com", host: "example.com"),
        Split("example.com:8080", host: "example.com", portText: "8080", port: 8080),
        Split("127.0.0.1:0", host: "127.0.0.1", portText: "0", port: 0),
        Split("127.0.0.1:65535", host: "127.0.0.1", portText: "65535", port: 65535),
        Split("host:080", host: "host", portText: "080", port: 80),
        Split(":8080", host: "", portText: "8080", port: 8080),
        Split("", host: ""),
        // An empty port (RFC 3986 §3.2.3 allows it): a colon, but no number.
        Split("example.com:", host: "example.com", portText: ""),
        Split("[::1]:", host: "[::1]", hostname: "::1", portText: ""),
        // IPv6 in brackets: the host keeps them, the hostname does not.
        Split("[::1]", host: "[::1]", hostname: "::1"),
        Split("[::1]:8443", host: "[::1]", hostname: "::1", portText: "8443", port: 8443),
        Split("[2001:db8::7]:80", host: "[2001:db8::7]", hostname: "2001:db8::7", portText: "80", port: 80),
        Split("[v1.fe80::a+en1]:80", host: "[v1.fe80::a+en1]", hostname: "v1.fe80::a+en1", portText: "80", port: 80),
        // Port text that is not a port: split all the same, no number.
        Split("host:65536", host: "host", portText: "65536"),
        Split("host:123456", host: "host", portText: "123456"),
        Split("host:+80", host: "host", portText: "+80"),
        Split("host:8o", host: "host", portText: "8o"),
        Split("host: 80", host: "host", portText: " 80"),
        Split("[::1]:-1", host: "[::1]", hostname: "::1", portText: "-1"),
    ]

    @Test(arguments: splits)
    func hostAndPortAreSplitByForm(_ item: Split) throws {
        let bytes = Array(item.text.utf8)
        let authority = try #require(Authority(splitting: bytes))
        #expect(String(decoding: bytes[authority.host], as: UTF8.self) == item.host)
        #expect(String(decoding: bytes[authority.hostname], as: UTF8.self) == item.hostname)
        #expect(authority.portText.map { String(decoding: bytes[$0], as: UTF8.self) } == item.portText)
        #expect(authority.port(in: bytes) == item.port)
    }

    @Test(arguments: splits)
    func aStringSplitsAsItsBytesDo(_ item: Split) throws {
        let text = item.text
        let authority = try #require(Authority(splitting: text.utf8))
        #expect(String(text[authority.host]) == item.host)
        #expect(String(text[authority.hostname]) == item.hostname)
        #expect(authority.port(in: text.utf8) == item.port)
    }

    @Test(arguments: [
        "[::1",  // a bracket that does not close
        "[::1:80",
        "[]:80",  // empty brackets
        "[]",
        "[::1]x",  // anything but a colon after the bracket
        "[::1]8080",
        "[::1] :80",
        "::1",  // IPv6 without brackets: which colon ends the host?
        "::1:8080",
        "a:b:80",
        "host::80",
    ])
    func garbageIsNotSplit(_ text: String) {
        #expect(Authority(splitting: Array(text.utf8)) == nil)
    }

    @Test func rangesIndexTheBytesThatWereSplitNotACopy() throws {
        let head = Array("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n".utf8)
        let start = try #require(head.firstIndex(of: UInt8(ascii: "[")))
        let end = try #require(head.lastIndex(of: UInt8(ascii: "\r")))
        let authority = try #require(Authority(splitting: head[start..<end]))
        #expect(authority.host == start..<(start + 5))
        #expect(String(decoding: head[authority.hostname], as: UTF8.self) == "::1")
        #expect(authority.port(in: head) == 8443)
    }
}
