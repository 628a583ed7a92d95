import Testing
@testable import Tracing

/// Reading an OTLP protobuf request: what is kept, what is refused and why.
@Suite struct ReceivedSpansTests {
    typealias Builder = OTLPRequestBuilder

    @Test func groupsSpansByResourceAndReadsTheirFacts() throws {
        var builder = Builder()
        var server = Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(1))
        server.kind = 2
        server.attributes = [("http.response.status_code", .int(500))]
        server.statusCode = 2
        var inner = Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(2), parentSpanID: Builder.spanID(1))
        inner.events = ["exception"]
        builder.add(service: "api", [server, inner])
        builder.add(service: nil, [Builder.Span(traceID: Builder.traceID(2), spanID: Builder.spanID(3))])
        let received = try ReceivedSpans.read(protobuf: builder.bytes)
        #expect(received.groups.map(\.source.serviceName) == ["api", "unknown_service"])
        let facts = received.groups[0].spans.map(\.facts)
        #expect(facts[0].httpStatus == 500)
        #expect(facts[0].isError)
        #expect(facts[1].parentSpanID == 0x0101_0101_0101_0101)
        #expect(facts[1].hasException)
        #expect(received.rejectedCount == 0)
    }

    @Test func spansWithUnusableIdsAreCountedByReason() throws {
        let spans = [
            Builder.Span(traceID: Builder.id(1, count: 15), spanID: Builder.spanID(1)),
            Builder.Span(traceID: Builder.id(0, count: 16), spanID: Builder.spanID(1)),
            Builder.Span(traceID: Builder.traceID(1), spanID: Builder.id(1, count: 16)),
            Builder.Span(traceID: Builder.traceID(1), spanID: Builder.id(0, count: 8)),
            Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(1), parentSpanID: Builder.id(1, count: 4)),
            Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(2)),
        ]
        let received = try ReceivedSpans.read(protobuf: Builder.request(spans))
        #expect(received.acceptedCount == 1)
        #expect(received.rejected == [.invalidTraceID: 2, .invalidSpanID: 2, .invalidParentSpanID: 1])
    }

    @Test func anEmptyRequestIsAccepted() throws {
        #expect(try ReceivedSpans.read(protobuf: []).acceptedCount == 0)
    }

    @Test func brokenProtobufIsAnError() throws {
        let whole = Builder.request([Builder.Span(traceID: Builder.traceID(1), spanID: Builder.spanID(1))])
        #expect(throws: OTLPDecodingError.self) { try ReceivedSpans.read(protobuf: Array(whole.dropLast(3))) }
        // Field 1 (resource_spans) as a varint: the wrong wire type for a message.
        #expect(throws: OTLPDecodingError.self) { try ReceivedSpans.read(protobuf: [0x08, 0x01]) }
        // Group wire types are not protobuf 3.
        #expect(throws: OTLPDecodingError.self) { try ReceivedSpans.read(protobuf: [0x0B]) }
    }

    @Test func nestingBeyondTheLimitIsRefusedNotRecursedInto() throws {
        // An attribute whose value is an array holding an array holding … 10,000 deep.
        var any: [UInt8] = [0x0A, 0x00]  // AnyValue { string_value = "" }
        for _ in 0..<10_000 {
            let array = Self.field(1, any)           // ArrayValue { values = any }
            any = Self.field(5, array)               // AnyValue { array_value = array }
        }
        let keyValue = Self.field(1, Array("k".utf8)) + Self.field(2, any)
        let span = Self.field(1, Builder.traceID(1)) + Self.field(2, Builder.spanID(1)) + Self.field(9, keyValue)
        let request = Self.field(1, Self.field(2, Self.field(2, span)))
        #expect(throws: OTLPDecodingError.self) { try ReceivedSpans.read(protobuf: request) }
    }

    static func field(_ number: Int, _ content: [UInt8]) -> [UInt8] {
        var writer = ProtobufWriter()
        content.withUnsafeBytes { writer.bytesField(number, $0) }
        return writer.finish()
    }
}
