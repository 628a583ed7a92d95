import Foundation
import Testing
import Tracing
import W3CTraceContext

@Suite struct OTLPEncoderTests {
    static let traceID = TraceID(bytes: (0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c))
    static let server = SpanRecord(
        traceID: traceID, spanID: SpanID(bytes: (1, 2, 3, 4, 5, 6, 7, 8)), parentSpanID: SpanID(bytes: (9, 9, 9, 9, 9, 9, 9, 9)),
        traceState: "a=1", flags: .sampled, kind: .server, name: "GET api",
        startNanoseconds: 1_700_000_000_000_000_000, endNanoseconds: 1_700_000_000_002_500_000,
        status: .error("upstream refused"),
        attributes: [.string("http.request.method", "GET"), .int("http.response.status_code", 502), .bool("x.flag", true), .string("empty", "")],
        events: [SpanEvent(name: "first response byte", timeNanoseconds: 1_700_000_000_001_000_000, attributes: [.int("n", -1)])])
    static let resource = TraceResource(attributes: [.string("service.name", "edge-proxy")])

    @Test func protobufDecodesFieldByField() throws {
        let bytes = OTLPEncoder.protobuf([Self.server], resource: Self.resource)
        let request = try #require(ProtobufMessage(bytes))
        let resourceSpans = try #require(request.message(1))
        let resource = try #require(resourceSpans.message(1))
        #expect(resource.keyValues(1)["service.name"]?.string(1) == "edge-proxy")
        let scopeSpans = try #require(resourceSpans.message(2))
        #expect(scopeSpans.message(1)?.string(1) == "hoptrace")
        let span = try #require(scopeSpans.messages(2).first)
        #expect(span.bytes(1) == [0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c])
        #expect(span.bytes(2) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(span.string(3) == "a=1")
        #expect(span.bytes(4) == [9, 9, 9, 9, 9, 9, 9, 9])
        #expect(span.string(5) == "GET api")
        #expect(span.varint(6) == 2)
        #expect(span.fixed64(7) == 1_700_000_000_000_000_000)
        #expect(span.fixed64(8) == 1_700_000_000_002_500_000)
        let attributes = span.keyValues(9)
        #expect(attributes["http.request.method"]?.string(1) == "GET")
        #expect(attributes["http.response.status_code"]?.varint(3) == 502)
        #expect(attributes["x.flag"]?.varint(2) == 1)
        #expect(attributes["empty"]?.string(1) == "")
        let event = try #require(span.messages(11).first)
        #expect(event.string(2) == "first response byte")
        #expect(event.fixed64(1) == 1_700_000_000_001_000_000)
        #expect(event.keyValues(3)["n"]?.varint(3) == UInt64(bitPattern: -1))
        #expect(span.message(15)?.varint(3) == 2)
        #expect(span.message(15)?.string(2) == "upstream refused")
        #expect(span.fixed32(16) == 1)
    }

    @Test func unsetStatusAndNoParentAreOmitted() throws {
        var root = Self.server
        root.parentSpanID = nil
        root.status = .unset
        let request = try #require(ProtobufMessage(OTLPEncoder.protobuf([root], resource: Self.resource)))
        let span = try #require(request.message(1)?.message(2)?.messages(2).first)
        #expect(span.bytes(4) == nil)
        #expect(span.message(15) == nil)
    }

    @Test func jsonUsesHexIdsStringIntegersAndNumericEnums() throws {
        let bytes = OTLPJSONEncoder.encode([Self.server], resource: Self.resource)
        let root = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let resourceSpans = try #require((root["resourceSpans"] as? [[String: Any]])?.first)
        let scopeSpans = try #require((resourceSpans["scopeSpans"] as? [[String: Any]])?.first)
        let span = try #require((scopeSpans["spans"] as? [[String: Any]])?.first)
        #expect(span["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(span["spanId"] as? String == "0102030405060708")
        #expect(span["parentSpanId"] as? String == "0909090909090909")
        #expect(span["kind"] as? Int == 2)
        #expect(span["startTimeUnixNano"] as? String == "1700000000000000000")
        let attributes = try #require(span["attributes"] as? [[String: Any]])
        let status = attributes.first { $0["key"] as? String == "http.response.status_code" }?["value"] as? [String: Any]
        #expect(status?["intValue"] as? String == "502")
        #expect((span["status"] as? [String: Any])?["code"] as? Int == 2)
    }

    @Test func longStringAttributesAreCapped() {
        let attribute = SpanAttribute.string("user_agent.original", String(repeating: "x", count: 10_000))
        guard case .string(let value) = attribute.value else { Issue.record("not a string"); return }
        #expect(value.utf8.count == SpanAttribute.maxStringLength)
    }
}
