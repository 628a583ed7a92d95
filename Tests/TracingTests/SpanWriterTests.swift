import Testing
@testable import Tracing
import W3CTraceContext

/// The OTLP span writer at the edges: long values, long spans, cutting a run of encoded
/// spans, and agreement with the record writer.
@Suite struct SpanWriterTests {
    static let resource = TraceResource(attributes: [.string("service.name", "edge-proxy")])

    static func span(_ number: UInt8, attributes: [SpanAttribute] = []) -> SpanRecord {
        SpanRecord(
            traceID: TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
            spanID: SpanID(bytes: (0, 0, 0, 0, 0, 0, 0, number)), parentSpanID: nil, flags: .sampled, kind: .client,
            name: "span \(number)", startNanoseconds: 1, endNanoseconds: 2, attributes: attributes)
    }

    static func decodedSpans(_ request: [UInt8]) -> [ProtobufMessage] {
        ProtobufMessage(request)?.message(1)?.message(2)?.messages(2) ?? []
    }

    @Test func valuesOfEveryLengthWidthDecode() throws {
        // Lengths that need one, two and three varint bytes, in attributes and in the span.
        let short = String(repeating: "a", count: 100)
        let medium = String(repeating: "b", count: 300)
        let long = String(repeating: "c", count: SpanAttribute.maxStringLength)
        var attributes: [SpanAttribute] = [.string("short", short), .string("medium", medium)]
        for index in 0..<5 { attributes.append(.string("long.\(index)", long)) }
        let request = OTLPEncoder.protobuf([Self.span(1, attributes: attributes), Self.span(2)], resource: Self.resource)
        let spans = Self.decodedSpans(request)
        try #require(spans.count == 2)
        let decoded = spans[0].keyValues(9)
        #expect(decoded["short"]?.string(1) == short)
        #expect(decoded["medium"]?.string(1) == medium)
        for index in 0..<5 { #expect(decoded["long.\(index)"]?.string(1) == long) }
        #expect(spans[1].string(5) == "span 2")
    }

    @Test func longMultiByteValuesAreCutAtACharacterBoundary() throws {
        let euros = String(repeating: "€", count: 2000)  // 6000 bytes, 3 per character
        let expected = String(repeating: "€", count: SpanAttribute.maxStringLength / 3)
        guard case .string(let recorded) = SpanAttribute.string("x", euros).value else { Issue.record("not a string"); return }
        #expect(recorded == expected)

        var writer = OTLPSpanWriter()
        writer.begin(
            SpanIdentity(
                traceID: Self.span(1).traceID, spanID: Self.span(1).spanID, parentSpanID: nil, flags: .sampled,
                kind: .server, startNanoseconds: 1, endNanoseconds: 2),
            name: "cut", traceState: nil)
        Array(euros.utf8).withUnsafeBytes { writer.attribute("bytes", bytes: $0) }
        writer.attribute("string", .string(euros))
        writer.attribute("parts", "http://upstream", utf8: Array(euros.utf8)[...])
        writer.end(status: .unset)
        let span = try #require(Self.decodedSpans(OTLPEncoder.request(writer.spans.prefix(1), preamble: .init(Self.resource))).first)
        #expect(span.keyValues(9)["bytes"]?.string(1) == expected)
        #expect(span.keyValues(9)["string"]?.string(1) == expected)
        let parts = try #require(span.keyValues(9)["parts"]?.string(1))
        #expect(parts.hasPrefix("http://upstream€"))
        #expect(parts.utf8.count <= SpanAttribute.maxStringLength)
    }

    @Test func encodedSpansCanBeTakenFromTheFrontAnyNumberAtATime() {
        var writer = OTLPSpanWriter()
        for number: UInt8 in 1...5 { Self.span(number).write(to: &writer) }
        var spans = writer.spans
        #expect(spans.count == 5)
        spans.removeFirst(2)
        #expect(Self.decodedSpans(OTLPEncoder.request(spans.prefix(2), preamble: .init(Self.resource))).map { $0.string(5) } == ["span 3", "span 4"])
        spans.removeFirst(1)
        #expect(Self.decodedSpans(OTLPEncoder.request(spans.prefix(spans.count), preamble: .init(Self.resource))).map { $0.string(5) } == ["span 4", "span 5"])
        spans.removeFirst(2)
        #expect(spans.isEmpty)
        #expect(spans.prefix(0).isEmpty)
    }

    @Test func spansWrittenAfterOthersWereTakenStillDecode() {
        var writer = OTLPSpanWriter()
        for number: UInt8 in 1...4 { Self.span(number).write(to: &writer) }
        var remaining = writer.spans
        remaining.removeFirst(3)
        var more = OTLPSpanWriter()
        for number: UInt8 in 5...6 { Self.span(number).write(to: &more) }
        // One run of encoded spans is a valid request whatever was cut before it.
        let request = OTLPEncoder.request(remaining.prefix(1) + more.spans.prefix(2), preamble: .init(Self.resource))
        #expect(Self.decodedSpans(request).map { $0.string(5) } == ["span 4", "span 5", "span 6"])
    }

    /// A request taken in place (room kept ahead of the spans, their storage handed over)
    /// is byte for byte the request built by copying them, and what stays goes on.
    @Test(arguments: [(4, 4), (5, 3), (5, 1)])
    func requestsTakenInPlaceAreTheRequestsBuiltByCopying(total: Int, first: Int) {
        let preamble = OTLPEncoder.Preamble(Self.resource)
        var inPlace = OTLPSpanWriter(headroom: preamble.maximumHeaderLength)
        var copied = OTLPSpanWriter()
        for number in 1...UInt8(total) {
            Self.span(number).write(to: &inPlace)
            Self.span(number).write(to: &copied)
        }
        // All, more going than staying (handed over), more staying than going (copied).
        let taken = inPlace.spans.takeRequest(first, preamble: preamble)
        #expect(taken.array == OTLPEncoder.request(copied.spans.prefix(first), preamble: preamble))
        copied.spans.removeFirst(first)
        #expect(inPlace.spans.count == copied.spans.count)
        Self.span(9).write(to: &inPlace)
        Self.span(9).write(to: &copied)
        let next = inPlace.spans.takeRequest(inPlace.spans.count, preamble: preamble)
        #expect(next.array == OTLPEncoder.request(copied.spans.prefix(copied.spans.count), preamble: preamble))
        #expect(Self.decodedSpans(next.array).count == total - first + 1)
        #expect(inPlace.spans.isEmpty)
    }

    @Test func theRecordWriterRebuildsTheRecord() {
        let original = Self.span(7, attributes: [.string("a", "b"), .int("n", 3), .bool("f", false)])
        var writer = SpanRecordWriter()
        original.write(to: &writer)
        #expect(writer.records == [original])
    }

    /// Records with every value type, events with and without attributes, each status and
    /// a span under 128 bytes (a one-byte length), encoded to the bytes pinned before the
    /// encoder was rewritten for speed.
    @Test func recordsEncodeToThePinnedBytes() {
        var tiny = Self.span(1)
        tiny.name = ""
        var full = Self.span(2, attributes: [
            .string("s", "text"), .int("n", -7), .int("big", 1 << 40), .bool("yes", true), .bool("no", false),
            SpanAttribute("d", .double(-2.5)), .string("empty", ""),
        ])
        full.parentSpanID = SpanID(bytes: (9, 9, 9, 9, 9, 9, 9, 9))
        full.traceState = "a=1,b=2"
        full.status = .error("boom")
        full.events = [
            SpanEvent(name: "plain", timeNanoseconds: 5),
            SpanEvent(name: "with attributes", timeNanoseconds: 6, attributes: [.bool("reused", true), .int("n", 300)]),
            SpanEvent(name: String(repeating: "e", count: 200), timeNanoseconds: 7),
        ]
        var ok = Self.span(3)
        ok.status = .ok
        ok.kind = .internal
        let request = OTLPEncoder.protobuf([tiny, full, ok], resource: Self.resource)
        let digest = request.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
        #expect(request.count == 657)
        #expect(digest == 0x5a57_4c13_1315_29d7, "0x\(String(digest, radix: 16))")
    }
}
