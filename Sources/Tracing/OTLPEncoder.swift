import W3CTraceContext

/// Encodes spans as an OTLP `ExportTraceServiceRequest`
/// (opentelemetry-proto, `collector/trace/v1`), directly from span records.
public enum OTLPEncoder {
    /// Protocol buffers, for `Content-Type: application/x-protobuf`.
    public static func protobuf(_ spans: [SpanRecord], resource: TraceResource) -> [UInt8] {
        var request = ProtobufWriter()
        // ExportTraceServiceRequest.resource_spans = 1
        request.messageField(1) { resourceSpans in
            // ResourceSpans.resource = 1 { attributes = 1 }
            resourceSpans.messageField(1) { message in
                for attribute in resource.attributes { message.messageField(1) { writeKeyValue(&$0, attribute) } }
            }
            // ResourceSpans.scope_spans = 2
            resourceSpans.messageField(2) { scopeSpans in
                // ScopeSpans.scope = 1 { name = 1, version = 2 }
                scopeSpans.messageField(1) { scope in
                    scope.stringField(1, TracingScope.name)
                    scope.stringField(2, TracingScope.version)
                }
                for span in spans { scopeSpans.messageField(2) { writeSpan(&$0, span) } }
            }
        }
        return request.bytes
    }

    private static func writeSpan(_ message: inout ProtobufWriter, _ span: SpanRecord) {
        message.bytesField(1, idBytes(span.traceID.bytes))
        message.bytesField(2, idBytes(span.spanID.bytes))
        if let state = span.traceState { message.stringField(3, state) }
        if let parent = span.parentSpanID { message.bytesField(4, idBytes(parent.bytes)) }
        message.stringField(5, span.name)
        message.varintField(6, UInt64(span.kind.rawValue))
        message.fixed64Field(7, span.startNanoseconds)
        message.fixed64Field(8, span.endNanoseconds)
        for attribute in span.attributes { message.messageField(9) { writeKeyValue(&$0, attribute) } }
        for event in span.events {
            message.messageField(11) { eventMessage in
                eventMessage.fixed64Field(1, event.timeNanoseconds)
                eventMessage.stringField(2, event.name)
                for attribute in event.attributes { eventMessage.messageField(3) { writeKeyValue(&$0, attribute) } }
            }
        }
        // Status { message = 2, code = 3 }: written only for errors (unset is the default).
        if case .error(let text) = span.status {
            message.messageField(15) { status in
                status.stringField(2, text)
                status.varintField(3, 2)
            }
        }
        // flags = 16: the W3C trace flags in the low byte.
        message.fixed32Field(16, UInt32(span.flags.rawValue))
    }

    private static func writeKeyValue(_ message: inout ProtobufWriter, _ attribute: SpanAttribute) {
        message.stringField(1, attribute.key)
        message.messageField(2) { value in
            switch attribute.value {
            case .string(let text): value.stringField(1, text, evenIfEmpty: true)
            case .bool(let flag): value.boolField(2, flag)
            case .int(let number): value.int64Field(3, number)
            case .double(let number): value.doubleField(4, number)
            }
        }
    }

    static func idBytes<T>(_ tuple: T) -> [UInt8] {
        withUnsafeBytes(of: tuple) { Array($0) }
    }
}
