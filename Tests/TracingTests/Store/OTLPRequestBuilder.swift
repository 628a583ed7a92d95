@testable import Tracing

/// Builds OTLP `ExportTraceServiceRequest`s for tests, with any ids (wrong lengths
/// included), resources and attributes: what a sender might put on the wire.
struct OTLPRequestBuilder {
    struct Span {
        var traceID: [UInt8]
        var spanID: [UInt8]
        var parentSpanID: [UInt8] = []
        var name = "span"
        var kind: UInt64 = 1
        var start: UInt64 = 1_000
        var end: UInt64 = 2_000
        var attributes: [(String, SpanAttribute.Value)] = []
        var statusCode: UInt64 = 0
        var events: [String] = []
    }

    struct Group {
        var service: String?
        var resourceAttributes: [(String, SpanAttribute.Value)] = []
        var scope = "test-scope"
        var spans: [Span]
    }

    var groups: [Group] = []

    static func id(_ byte: UInt8, count: Int) -> [UInt8] {
        [UInt8](repeating: byte, count: count)
    }

    static func traceID(_ byte: UInt8) -> [UInt8] { id(byte, count: 16) }
    static func spanID(_ byte: UInt8) -> [UInt8] { id(byte, count: 8) }

    mutating func add(service: String?, _ spans: [Span]) {
        groups.append(Group(service: service, spans: spans))
    }

    var bytes: [UInt8] {
        var writer = ProtobufWriter()
        for group in groups {
            writer.messageField(1) { resourceSpans in
                resourceSpans.messageField(1) { resource in
                    if let service = group.service { OTLPSpanWriter.writeKeyValue(&resource, 1, "service.name", .string(service)) }
                    for (key, value) in group.resourceAttributes { OTLPSpanWriter.writeKeyValue(&resource, 1, key, value) }
                }
                resourceSpans.messageField(2) { scopeSpans in
                    scopeSpans.messageField(1) { $0.stringField(1, group.scope) }
                    for span in group.spans {
                        scopeSpans.messageField(2) { message in
                            span.traceID.withUnsafeBytes { message.bytesField(1, $0) }
                            span.spanID.withUnsafeBytes { message.bytesField(2, $0) }
                            if !span.parentSpanID.isEmpty { span.parentSpanID.withUnsafeBytes { message.bytesField(4, $0) } }
                            message.stringField(5, span.name)
                            message.varintField(6, span.kind)
                            message.fixed64Field(7, span.start)
                            message.fixed64Field(8, span.end)
                            for (key, value) in span.attributes { OTLPSpanWriter.writeKeyValue(&message, 9, key, value) }
                            for event in span.events {
                                message.messageField(11) { $0.fixed64Field(1, span.start); $0.stringField(2, event) }
                            }
                            if span.statusCode != 0 { message.messageField(15) { $0.varintField(3, span.statusCode) } }
                        }
                    }
                }
            }
        }
        return writer.finish()
    }

    /// A one-group request.
    static func request(service: String? = "backend", _ spans: [Span]) -> [UInt8] {
        var builder = OTLPRequestBuilder()
        builder.add(service: service, spans)
        return builder.bytes
    }
}
