import HTTP1
import Testing

/// The cases of shared/reference/http1-strictness.md, as data.
struct StrictnessCase: CustomTestStringConvertible, Sendable {
    enum Expectation: Sendable, Equatable {
        /// Rejected with this status; nothing after it is parsed.
        case reject(Int)
        /// Accepted as `count` messages.
        case forward(Int)
    }

    var name: String
    var bytes: [UInt8]
    var expected: Expectation
    var limits: HTTPLimits = .default

    var testDescription: String { name }

    static func request(_ name: String, _ text: String, _ expected: Expectation) -> StrictnessCase {
        StrictnessCase(name: name, bytes: Array(text.utf8), expected: expected)
    }

    /// A POST with one extra field line.
    static func field(_ name: String, _ line: String, _ expected: Expectation, body: String = "") -> StrictnessCase {
        request(name, "POST / HTTP/1.1\r\nHost: a\r\n\(line)\r\n\r\n\(body)", expected)
    }

    static func chunked(_ name: String, _ body: String, _ expected: Expectation) -> StrictnessCase {
        request(name, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(body)", expected)
    }

    static let all: [StrictnessCase] = smuggling + contentLength + transferEncoding + chunks + trailers + lines + requestLines + hosts + misc

    static let smuggling: [StrictnessCase] = [
        request("CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", .reject(400)),
        request("TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", .reject(400)),
        request("two different Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 31\r\n\r\n", .reject(400)),
        request("TE in HTTP/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", .reject(400)),
        request("pipelined requests", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n", .forward(2)),
    ]

    static let contentLength: [StrictnessCase] = [
        field("CL list of different values", "Content-Length: 5, 10", .reject(400), body: "hello"),
        field("CL list of equal values collapses", "Content-Length: 5, 5", .forward(1), body: "hello"),
        field("CL with plus sign", "Content-Length: +5", .reject(400), body: "hello"),
        field("CL negative", "Content-Length: -1", .reject(400)),
        field("CL hex", "Content-Length: 0x5", .reject(400), body: "hello"),
        field("CL underscore", "Content-Length: 1_0", .reject(400)),
        field("CL decimal point", "Content-Length: 5.0", .reject(400), body: "hello"),
        field("CL inner space", "Content-Length: 1 0", .reject(400)),
        field("CL trailing letter", "Content-Length: 1Z", .reject(400)),
        field("CL of 23 nines", "Content-Length: 99999999999999999999999", .reject(400)),
        field("CL empty", "Content-Length: ", .reject(400)),
        field("CL leading zeros", "Content-Length: 005", .forward(1), body: "hello"),
    ]

    static let transferEncoding: [StrictnessCase] = [
        field("chunked twice in one field", "Transfer-Encoding: chunked, chunked", .reject(400), body: "0\r\n\r\n"),
        request("chunked in two TE lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .reject(400)),
        field("TE xchunked", "Transfer-Encoding: xchunked", .reject(400)),
        field("TE quoted chunked", "Transfer-Encoding: \"chunked\"", .reject(400)),
        field("TE identity", "Transfer-Encoding: identity", .reject(400)),
        field("TE chunked not last", "Transfer-Encoding: chunked, gzip", .reject(400)),
        field("TE gzip then chunked is not implemented", "Transfer-Encoding: gzip, chunked", .reject(501), body: "0\r\n\r\n"),
        field("TE chunked with a parameter", "Transfer-Encoding: chunked;q=1", .reject(400)),
        field("space before colon", "Transfer-Encoding : chunked", .reject(400), body: "0\r\n\r\n"),
        field("TE value case-insensitive", "Transfer-Encoding: Chunked", .forward(1), body: "0\r\n\r\n"),
        request("obs-fold", "POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .reject(400)),
    ]

    static let chunks: [StrictnessCase] = [
        chunked("chunk size 0x5", "0x5\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk size +5", "+5\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk size with leading space", " 5\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk size with trailing space", "5 \r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk size overflow", "FFFFFFFFFFFFFFFFF1\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk size empty", "\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk data longer than its size", "3\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("chunk data without CRLF", "5\r\nhello0\r\n\r\n", .reject(400)),
        chunked("chunk data with bare LF", "5\r\nhello\n0\r\n\r\n", .reject(400)),
        chunked("chunk extension removed", "5;name=value\r\nhello\r\n0\r\n\r\n", .forward(1)),
        chunked("chunk extension of 64 KiB", "5;" + String(repeating: "a", count: 65536) + "\r\nhello\r\n0\r\n\r\n", .reject(400)),
        chunked("trailer fields dropped", "5\r\nhello\r\n0\r\nContent-Length: 50\r\nHost: evil\r\n\r\n", .forward(1)),
        chunked("garbage chunk", "INVALID!!!\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
    ]

    /// A chunked request whose body ends with `trailer` (raw bytes) after its last chunk.
    static func trailer(_ name: String, _ trailer: [UInt8], _ expected: Expectation, limits: HTTPLimits = .default) -> StrictnessCase {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
        return StrictnessCase(name: name, bytes: Array(head.utf8) + trailer, expected: expected, limits: limits)
    }

    static func trailer(_ name: String, _ text: String, _ expected: Expectation, limits: HTTPLimits = .default) -> StrictnessCase {
        trailer(name, Array(text.utf8), expected, limits: limits)
    }

    /// Trailer field lines follow the head's field-line rules (RFC 9112 §7.1.2, §5).
    static let trailers: [StrictnessCase] = [
        trailer("empty trailer section", "\r\n", .forward(1)),
        trailer("one trailer field", "X-Checksum: abc\r\n\r\n", .forward(1)),
        trailer("several trailer fields", "X-Checksum: abc\r\nX-Empty:\r\nX-Tab:\tv\t w \r\n\r\n", .forward(1)),
        trailer("obs-text in a trailer value", Array("X-T: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8), .forward(1)),
        trailer("second zero line as a trailer", "0\r\n\r\n", .reject(400)),
        trailer("space before colon in a trailer", "X-T : 1\r\n\r\n", .reject(400)),
        trailer("HTAB in a trailer name", "X\tT: 1\r\n\r\n", .reject(400)),
        trailer("semicolon in a trailer name", "X;T: 1\r\n\r\n", .reject(400)),
        trailer("0x85 in a trailer name", Array("X".utf8) + [0x85] + Array("T: 1\r\n\r\n".utf8), .reject(400)),
        trailer("0xFF starting a trailer name", [0xFF] + Array("T: 1\r\n\r\n".utf8), .reject(400)),
        trailer("empty trailer name", ": 1\r\n\r\n", .reject(400)),
        trailer("trailer without colon", "NoColon\r\n\r\n", .reject(400)),
        trailer("trailer starting with whitespace", " X: 1\r\n\r\n", .reject(400)),
        trailer("obs-fold in trailers", "X: 1\r\n\tfolded\r\n\r\n", .reject(400)),
        trailer("NUL in a trailer value", "X: a\u{0}b\r\n\r\n", .reject(400)),
        trailer("DEL in a trailer value", "X: a\u{7F}b\r\n\r\n", .reject(400)),
        trailer("bare CR in a trailer value", "X: a\rb\r\n\r\n", .reject(400)),
        trailer("bare LF ending a trailer line", "X: 1\n\r\n", .reject(400)),
        trailer("bare LF ending the trailer section", "X: 1\r\n\n", .reject(400)),
        trailer("CR without LF ending the trailer section", "X: 1\r\n\rX", .reject(400)),
        trailer("trailer section at the byte limit", "X: 12345\r\nY: 1234\r\n\r\n", .forward(1), limits: HTTPLimits(maxTrailerBytes: 19)),
        trailer("trailer section over the byte limit", "X: 12345\r\nY: 12345\r\n\r\n", .reject(431), limits: HTTPLimits(maxTrailerBytes: 19)),
        trailer("trailer fields at the count limit", "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", .forward(1), limits: HTTPLimits(maxHeaderCount: 3)),
        trailer("trailer fields over the count limit", "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", .reject(431), limits: HTTPLimits(maxHeaderCount: 3)),
        trailer("trailer section of 32 KiB", String(repeating: "X: aaaaaaaaaa\r\n", count: 2200) + "\r\n", .reject(431)),
    ]

    static let lines: [StrictnessCase] = [
        request("bare LF", "GET / HTTP/1.1\nHost: a\n\n", .reject(400)),
        request("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", .reject(400)),
        request("leading CRLF", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .forward(1)),
        request("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", .reject(400)),
        request("field without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", .reject(400)),
        StrictnessCase(name: "NUL in a name", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX\u{0}Y: z\r\n\r\n".utf8), expected: .reject(400)),
        StrictnessCase(name: "0x85 in a name", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [0x85] + Array(": z\r\n\r\n".utf8), expected: .reject(400)),
        StrictnessCase(name: "NUL in a value", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nTest: a\u{0}b\r\n\r\n".utf8), expected: .reject(400)),
        request("whitespace line after request line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", .reject(400)),
    ]

    static let requestLines: [StrictnessCase] = [
        request("two spaces in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("tabs as separators", "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("version HTTP/1.32", "GET / HTTP/1.32\r\nHost: a\r\n\r\n", .reject(400)),
        request("version HTTP/01.01", "GET / HTTP/01.01\r\nHost: a\r\n\r\n", .reject(400)),
        request("version with space", "GET / HTTP/ 1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("HTTP/2.0 is not supported", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", .reject(505)),
        request("HTTP/0.9", "GET /\r\n\r\n", .reject(400)),
        StrictnessCase(name: "NUL in target", bytes: Array("GET /a\u{0}b HTTP/1.1\r\nHost: a\r\n\r\n".utf8), expected: .reject(400)),
        request("fragment in target", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("asterisk for OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", .forward(1)),
        request("relative target", "GET admin HTTP/1.1\r\nHost: a\r\n\r\n", .reject(400)),
        request("absolute-form target", "GET http://example.com/x?y HTTP/1.1\r\nHost: a\r\n\r\n", .forward(1)),
        request("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", .reject(405)),
    ]

    static let hosts: [StrictnessCase] = [
        request("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", .reject(400)),
        request("no Host in HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", .forward(1)),
        request("two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .reject(400)),
        request("Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", .reject(400)),
        request("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", .reject(400)),
        request("Host with port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", .forward(1)),
        request("Host IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", .forward(1)),
    ]

    static let misc: [StrictnessCase] = [
        request("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", .forward(1)),
        request("Expect 100-continue", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", .forward(1)),
        request("Expect something else", "POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 5\r\n\r\nhello", .reject(417)),
        request("h2c upgrade parsed as plain request", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", .forward(1)),
        StrictnessCase(name: "100 KiB header value", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 100 * 1024))\r\n\r\n".utf8), expected: .reject(431)),
        StrictnessCase(name: "10,000 fields", bytes: Array(("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 10_000) + "\r\n").utf8), expected: .reject(431)),
        StrictnessCase(name: "100 KiB target", bytes: Array("GET /\(String(repeating: "a", count: 100 * 1024)) HTTP/1.1\r\nHost: a\r\n\r\n".utf8), expected: .reject(414)),
        StrictnessCase(name: "declared body above the cap", bytes: Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n".utf8), expected: .reject(413), limits: HTTPLimits(maxBodyBytes: 1_000_000)),
    ]
}
