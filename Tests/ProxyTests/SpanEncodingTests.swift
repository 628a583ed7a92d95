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

/// The exact bytes each span encodes to, pinned before the encoder was rewritten for
/// speed: a faster encoder must write the very same bytes, not merely bytes that decode
/// alike. The cases are `SpanEncodingTests.cases()` and a few more edges: no parent and no
/// tracestate, HTTP/1.0, a span longer than 16 KiB (a three-byte length), a tunnel.
@Suite struct PinnedSpanEncodingTests {
    /// FNV-1a (64 bits): enough to tell any change in a span's bytes.
    static func digest(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    static func moreCases() throws -> [(String, PendingSpan)] {
        let bare = try SpanEncodingTests.head("HEAD /health HTTP/1.0\nHost: x\n\n")
        var root = try SpanEncodingTests.span(.server, head: bare, status: 204)
        root.parentSpanID = nil
        root.traceState = nil
        root.routeTemplate = nil
        root.flags = []
        let big = String(repeating: "v", count: 4000)
        let many = try SpanEncodingTests.head("GET /big HTTP/1.1\nHost: h\nA: \(big)\nB: \(big)\nC: \(big)\nD: \(big)\nE: \(big)\n\n")
        var long = try SpanEncodingTests.span(.server, head: many, status: 200)
        long.capture = HeaderCapture(request: ["a", "b", "c", "d", "e"], response: ["server"])
        long.response = CapturedResponse(try ResponseHeadParser().parse(Array("HTTP/1.1 200 OK\r\nServer: up\r\n\r\n".utf8), requestMethod: .get))
        var tunnel = try SpanEncodingTests.span(.server, head: bare, status: 101)
        tunnel.tunnelEnd = .idleTimeout
        var fresh = try SpanEncodingTests.upstream("/")
        fresh.resendCount = 0
        fresh.connectedNanoseconds = nil
        fresh.firstByteNanoseconds = nil
        return [
            ("server, root span, HTTP/1.0, bare host", root),
            ("server, longer than 16 KiB", long),
            ("server, tunnel", tunnel),
            ("client, 504 answered, no events", try SpanEncodingTests.span(.client(fresh), head: bare, status: 504)),
        ]
    }

    static let pinned: [String: (count: Int, digest: UInt64)] = [
        "server, query kept": (535, 0x2a0d_6bb5_b4e6_9c8b),
        "server, credentials redacted, IPv6 host": (500, 0xed66_3d3d_cc35_2902),
        "server, value cut at a character boundary": (4565, 0x80c3_0f10_5784_f93d),
        "server, captured header": (578, 0x8b1d_a626_e5ea_2f6f),
        "server, 502": (595, 0xb4b0_2315_eb91_6b78),
        "client, events": (441, 0xd049_53ae_fcb5_b27b),
        "client, reused connection": (468, 0x50cc_bbb1_1e73_8d13),
        "client, credentials redacted": (489, 0xb00d_09fb_af19_0691),
        "client, target longer than a value may be": (4489, 0xbec3_d1ac_9994_e577),
        "client, refused": (445, 0x5cd9_844a_4567_5408),
        "rejection": (245, 0x32f3_9f23_bae6_eb1d),
        "server, root span, HTTP/1.0, bare host": (386, 0x6ffe_dc5d_5881_c9c3),
        "server, longer than 16 KiB": (20630, 0x1413_3808_7fdb_3796),
        "server, tunnel": (482, 0x3b5c_2a52_d549_f42f),
        "client, 504 answered, no events": (369, 0x896b_790b_386f_dd43),
    ]

    @Test func everySpanEncodesToThePinnedBytes() throws {
        for (name, span) in try SpanEncodingTests.cases() + Self.moreCases() {
            var writer = OTLPSpanWriter()
            span.write(to: &writer)
            let bytes = writer.spans.bytes
            let expected = try #require(Self.pinned[name], "\(name): not pinned")
            #expect(bytes.count == expected.count, "\(name)")
            #expect(Self.digest(bytes) == expected.digest, "\(name): 0x\(String(Self.digest(bytes), radix: 16))")
        }
    }

    /// The store's writer notes facts on the way and leaves the bytes alone.
    @Test func theStoresWriterWritesTheSameBytes() throws {
        for (name, span) in try SpanEncodingTests.cases() + Self.moreCases() {
            var plain = OTLPSpanWriter()
            span.write(to: &plain)
            var noting = FactsRecordingWriter(OTLPSpanWriter())
            span.write(to: &noting)
            #expect(noting.inner.spans.bytes == plain.spans.bytes, "\(name)")
            #expect(noting.facts.count == 1)
        }
    }

    /// The facts the store indexes come from the attributes named by literals too.
    @Test func theStoresWriterNotesStatusAndResendCount() throws {
        let (_, span) = try #require(try SpanEncodingTests.cases().first { $0.0 == "client, credentials redacted" })
        var noting = FactsRecordingWriter(OTLPSpanWriter())
        span.write(to: &noting)
        #expect(noting.facts.first?.httpStatus == 503)
        #expect(noting.facts.first?.resendCount == 1)
        #expect(noting.facts.first?.statusCode == 2)
    }

    /// A whole export request: the resource (every value type) and scope, then the spans.
    @Test func aRequestEncodesToThePinnedBytes() throws {
        var writer = OTLPSpanWriter()
        for (_, span) in try SpanEncodingTests.cases() + Self.moreCases() { span.write(to: &writer) }
        let resource = TraceResource(attributes: [
            .string("service.name", "edge"), .int("process.pid", 4242), .bool("debug", false),
            SpanAttribute("ratio", .double(0.25)),
        ])
        let request = OTLPEncoder.request(writer.spans.prefix(writer.spans.count), preamble: .init(resource))
        #expect(request.count == 35323)
        #expect(Self.digest(request) == 0xbcda_46d0_68ce_a632)
    }
}
