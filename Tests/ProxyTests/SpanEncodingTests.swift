import HTTP1
import ProxyCore
import Libevent
@testable import Proxy
import Testing
@testable import Tracing
import W3CTraceContext

/// Spans are encoded to OTLP protobuf straight from what the request path left
/// (`PendingSpan`), skipping records. Those bytes must be exactly the bytes of the
/// span's record, whose encoding the Tracing tests decode field by field.
@Suite struct SpanEncodingTests {
    static func head(_ text: String) throws -> RequestHead {
        try RequestHeadParser().parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    /// `/api/*`, its prefix stripped upstream (`url.full` shows what is left).
    static let api = UpstreamTargetTests.route("/api", prefix: true, strip: true)
    static let server = UpstreamServer(configured: "backend.internal:4567", address: try! SocketAddress.resolve("127.0.0.1:4567")[0])
    static let peer = Peer(try! SocketAddress.resolve("10.1.2.3:40000")[0]).spanAttributes
    static let traceID = TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
    static let sampled = TraceDecision(
        traceID: traceID, parentSpanID: SpanID(bytes: (2, 2, 2, 2, 2, 2, 2, 2)), sampled: true, randomTraceID: false,
        traceState: "vendor=1")

    static func span(
        _ role: PendingSpan.Role, head: RequestHead, status: Int, error: ProxyError? = nil, route: CompiledRoute? = api,
        trace: TraceDecision = sampled
    ) -> PendingSpan {
        let exchange = Exchange(
            head: head, route: route, limits: HTTPLimits(), trace: trace, serverSpanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)))
        return PendingSpan(
            role: role, spanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)), parentSpanID: trace.parentSpanID,
            startNanoseconds: 1_000, endNanoseconds: 9_000, exchange: exchange, status: status, error: error, bytesIn: 12,
            bytesOut: 3456, peerAttributes: peer)
    }

    /// The second attempt, on a new connection, with both its events.
    static func attempt(number: Int = 2, reused: Bool = false, connected: UInt64? = 2_000, firstByte: UInt64? = 5_000) -> UpstreamAttempt {
        UpstreamAttempt(
            spanID: SpanID(bytes: (3, 3, 3, 3, 3, 3, 3, 3)), server: server, number: number, startNanoseconds: 1_500,
            reused: reused, connectedNanoseconds: connected, firstByteNanoseconds: firstByte)
    }

    static func cases() throws -> [(String, any DescribedSpan)] {
        let plain = try head("GET /api/activities/home?page=2 HTTP/1.1\nHost: shop.example:8080\nUser-Agent: curl/8\nX-Request-Id: abc\n\n")
        let secret = try head("POST /api/login?user=a&token=s3cret HTTP/1.1\nHost: [::1]:8443\n\n")
        let longAgent = try head("GET / HTTP/1.1\nHost: shop.example\nUser-Agent: \(String(repeating: "€", count: 2000))\n\n")
        let longTarget = try head("GET /api/\(String(repeating: "x", count: 5000)) HTTP/1.1\nHost: shop.example\n\n")
        let refused = ProxyError(.connectRefused, message: "connection refused")
        var captured = span(.server, head: plain, status: 200)
        captured.capture = HeaderCapture(request: ["x-request-id"], response: [])
        return [
            ("server, query kept", span(.server, head: plain, status: 200)),
            ("server, credentials redacted, IPv6 host", span(.server, head: secret, status: 401)),
            ("server, value cut at a character boundary", span(.server, head: longAgent, status: 200, route: nil)),
            ("server, captured header", captured),
            ("server, 502", span(.server, head: plain, status: 502, error: refused)),
            ("client, events", span(.client(attempt()), head: plain, status: 200)),
            ("client, reused connection", span(.client(attempt(reused: true)), head: plain, status: 200)),
            ("client, credentials redacted", span(.client(attempt()), head: secret, status: 503)),
            ("client, target longer than a value may be", span(.client(attempt()), head: longTarget, status: 200)),
            ("client, refused", span(.client(attempt()), head: plain, status: 0, error: refused)),
            ("rejection", RejectionSpan(
                traceID: traceID, spanID: SpanID(bytes: (1, 1, 1, 1, 1, 1, 1, 1)), flags: .sampled, timeNanoseconds: 1_000,
                error: ProxyError(.malformedRequest(.invalidRequestLine), message: "bad"), peerAttributes: peer)),
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

    /// Span names are made once per route for each method `SpanText.knownMethods` lists,
    /// found by `knownMethodIndex`: the two must agree.
    @Test func eachKnownMethodFindsItsOwnSpanName() {
        for (index, known) in SpanText.knownMethods.enumerated() {
            #expect(SpanText.knownMethodIndex(known.method) == index)
            #expect(Self.api.spanNames[index] == "\(known.name) /api/*")
        }
        #expect(SpanText.knownMethodIndex(.other) == nil)
    }

    @Test func theRecordCarriesTheReferenceAttributes() throws {
        let server = try Self.cases()[1].1.makeRecord()
        let values = Dictionary(server.attributes.map { ($0.key, $0.value) }) { first, _ in first }
        #expect(values["url.query"] == .string("user=a&token=REDACTED"))
        #expect(values["server.address"] == .string("::1"))
        #expect(values["server.port"] == .int(8443))
        #expect(values["http.response.status_code"] == .int(401))
        let client = try Self.cases()[7].1.makeRecord()
        #expect(client.attributes.contains(.string("url.full", "http://backend.internal:4567/login?user=a&token=REDACTED")))
        #expect(client.attributes.contains(.string("server.address", "backend.internal")))
        #expect(client.attributes.contains(.int("http.request.resend_count", 1)))
    }
}

/// The exact bytes each span encodes to: a faster encoder must write the very same
/// bytes, not merely bytes that decode alike. Pinned again when the proxy began writing
/// some attributes encoded once (the protocol version with `url.scheme`, `http.route`,
/// the peer's three): the SERVER spans' attributes changed order, not content; the
/// CLIENT spans whose content did not change kept their bytes. The cases are `SpanEncodingTests.cases()` and a few more edges: no parent and no
/// tracestate, HTTP/1.0, a span longer than 16 KiB (a three-byte length), a tunnel.
@Suite struct PinnedSpanEncodingTests {
    /// FNV-1a (64 bits): enough to tell any change in a span's bytes.
    static func digest(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    static func moreCases() throws -> [(String, any DescribedSpan)] {
        let bare = try SpanEncodingTests.head("HEAD /health HTTP/1.0\nHost: x\n\n")
        let newTrace = TraceDecision(
            traceID: SpanEncodingTests.traceID, parentSpanID: nil, sampled: false, randomTraceID: false, traceState: nil)
        let root = SpanEncodingTests.span(.server, head: bare, status: 204, route: nil, trace: newTrace)
        let big = String(repeating: "v", count: 4000)
        let many = try SpanEncodingTests.head("GET /big HTTP/1.1\nHost: h\nA: \(big)\nB: \(big)\nC: \(big)\nD: \(big)\nE: \(big)\n\n")
        var long = SpanEncodingTests.span(.server, head: many, status: 200)
        long.capture = HeaderCapture(request: ["a", "b", "c", "d", "e"], response: ["server"])
        long.response = CapturedResponse(try ResponseHeadParser().parse(Array("HTTP/1.1 200 OK\r\nServer: up\r\n\r\n".utf8), requestMethod: .get))
        var tunnel = SpanEncodingTests.span(.server, head: bare, status: 101)
        tunnel.tunnelEnd = .idleTimeout
        let fresh = SpanEncodingTests.attempt(number: 1, connected: nil, firstByte: nil)
        return [
            ("server, root span, HTTP/1.0, bare host", root),
            ("server, longer than 16 KiB", long),
            ("server, tunnel", tunnel),
            ("client, 504 answered, no events", SpanEncodingTests.span(.client(fresh), head: bare, status: 504)),
        ]
    }

    static let pinned: [String: (count: Int, digest: UInt64)] = [
        "server, query kept": (535, 0x0199_98a0_920e_50db),
        "server, credentials redacted, IPv6 host": (500, 0xc438_3719_5c1a_5d22),
        "server, value cut at a character boundary": (4534, 0x1277_afde_3071_7dd8),
        "server, captured header": (578, 0xd1ca_453b_17f5_cc8f),
        "server, 502": (595, 0x5c67_9b51_3521_6f38),
        "client, events": (441, 0xd049_53ae_fcb5_b27b),
        "client, reused connection": (475, 0x4d27_62d3_8804_bcc6),
        "client, credentials redacted": (496, 0x4649_69b7_5b6d_c282),
        "client, target longer than a value may be": (4489, 0xbec3_d1ac_9994_e577),
        "client, refused": (467, 0xf425_52ad_0d6c_abf2),
        "rejection": (225, 0x4705_c3c9_740c_0f39),
        "server, root span, HTTP/1.0, bare host": (386, 0x0097_cbe5_836d_cbe7),
        "server, longer than 16 KiB": (20630, 0xb49c_f6d9_fe4a_8942),
        "server, tunnel": (482, 0x7da6_9a54_1987_2f53),
        "client, 504 answered, no events": (372, 0x95aa_11e8_1ee8_e797),
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
        #expect(request.count == 35311)
        #expect(Self.digest(request) == 0xfc1e_bb8e_0a85_f1b1)
    }
}
