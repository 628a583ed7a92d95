import HTTP1
import ProxyCore
import Libevent
@testable import Proxy
import Testing
import Tracing
import W3CTraceContext

/// Spans are encoded to OTLP protobuf straight from what the request path left
/// (`PendingSpan`), skipping records. Those bytes must be exactly the bytes of the
/// span's record, whose encoding the Tracing tests decode field by field.
@Suite struct SpanEncodingTests {
    static func head(_ text: String) throws -> RequestHead {
        try RequestHeadParser().parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    static func span(_ role: PendingSpan.Role, head: RequestHead?, status: Int, error: ProxyError? = nil) throws -> PendingSpan {
        PendingSpan(
            role: role, traceID: TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
            spanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)), parentSpanID: SpanID(bytes: (2, 2, 2, 2, 2, 2, 2, 2)),
            traceState: "vendor=1", flags: .sampled, startNanoseconds: 1_000, endNanoseconds: 9_000, head: head,
            routeTemplate: head == nil ? nil : "/api/*", status: status, error: error, bytesIn: 12, bytesOut: 3456,
            peer: Peer(try SocketAddress.resolve("10.1.2.3:40000")[0]))
    }

    static func upstream(_ target: String) throws -> PendingSpan.ClientDetails {
        PendingSpan.ClientDetails(
            server: UpstreamServer(configured: "backend.internal:4567", address: try SocketAddress.resolve("127.0.0.1:4567")[0]),
            route: nil, upstreamTarget: Array(target.utf8), resendCount: 1,
            reused: false, connectedNanoseconds: 2_000, firstByteNanoseconds: 5_000)
    }

    static func cases() throws -> [(String, PendingSpan)] {
        let plain = try head("GET /api/activities/home?page=2 HTTP/1.1\nHost: shop.example:8080\nUser-Agent: curl/8\nX-Request-Id: abc\n\n")
        let secret = try head("POST /api/login?user=a&token=s3cret HTTP/1.1\nHost: [::1]:8443\n\n")
        let longAgent = try head("GET / HTTP/1.1\nHost: shop.example\nUser-Agent: \(String(repeating: "€", count: 2000))\n\n")
        let refused = ProxyError(.connectRefused, message: "connection refused")
        var captured = try span(.server, head: plain, status: 200)
        captured.capture = HeaderCapture(request: ["x-request-id"], response: [])
        var reused = try upstream("/activities/home")
        reused.reused = true
        return [
            ("server, query kept", try span(.server, head: plain, status: 200)),
            ("server, credentials redacted, IPv6 host", try span(.server, head: secret, status: 401)),
            ("server, value cut at a character boundary", try span(.server, head: longAgent, status: 200)),
            ("server, captured header", captured),
            ("server, 502", try span(.server, head: plain, status: 502, error: refused)),
            ("client, events", try span(.client(try upstream("/activities/home?page=2")), head: plain, status: 200)),
            ("client, reused connection", try span(.client(reused), head: plain, status: 200)),
            ("client, credentials redacted", try span(.client(try upstream("/login?token=s3cret")), head: secret, status: 503)),
            ("client, target longer than a value may be", try span(.client(try upstream("/" + String(repeating: "x", count: 5000))), head: plain, status: 200)),
            ("client, refused", try span(.client(try upstream("/")), head: plain, status: 0, error: refused)),
            ("rejection", try span(.rejection, head: nil, status: 400, error: ProxyError(.malformedRequest(.invalidRequestLine), message: "bad"))),
        ]
    }

    @Test func protobufWrittenStraightFromASpanIsTheProtobufOfItsRecord() throws {
        for (name, span) in try Self.cases() {
            var direct = OTLPSpanWriter()
            span.write(to: &direct)
            var viaRecord = OTLPSpanWriter()
            span.makeRecord().write(to: &viaRecord)
            let (written, expected) = (direct.spans.bytes, viaRecord.spans.bytes)
            let difference = zip(written, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(written.count, expected.count)
            #expect(written == expected, "\(name): \(written.count) bytes against \(expected.count), first difference at \(difference)")
        }
    }

    @Test func theRecordCarriesTheReferenceAttributes() throws {
        let server = try Self.cases()[1].1.makeRecord()
        let values = Dictionary(server.attributes.map { ($0.key, $0.value) }) { first, _ in first }
        #expect(values["url.query"] == .string("user=a&token=REDACTED"))
        #expect(values["server.address"] == .string("::1"))
        #expect(values["server.port"] == .int(8443))
        #expect(values["http.response.status_code"] == .int(401))
        let client = try Self.cases()[7].1.makeRecord()
        #expect(client.attributes.contains(.string("url.full", "http://backend.internal:4567/login?token=REDACTED")))
        #expect(client.attributes.contains(.string("server.address", "backend.internal")))
        #expect(client.attributes.contains(.int("http.request.resend_count", 1)))
    }
}
