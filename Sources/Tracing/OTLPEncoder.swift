import W3CTraceContext

/// Encodes an OTLP `ExportTraceServiceRequest` (opentelemetry-proto,
/// `collector/trace/v1`) in protocol buffers, for `Content-Type: application/x-protobuf`.
///
/// Spans are encoded one at a time, as they arrive, by `OTLPSpanWriter` into
/// `EncodedSpans`; a request wraps any run of them in the resource and scope, which are
/// encoded once (`Preamble`).
public enum OTLPEncoder {
    /// A whole request for `spans`.
    public static func protobuf(_ spans: [SpanRecord], resource: TraceResource) -> [UInt8] {
        var writer = OTLPSpanWriter()
        for span in spans { span.write(to: &writer) }
        return request(writer.spans.prefix(writer.spans.count), preamble: Preamble(resource))
    }

    /// The resource and the instrumentation scope, encoded once per exporter.
    public struct Preamble: Sendable {
        /// `ResourceSpans.resource` (field 1), tag and length included.
        let resource: [UInt8]
        /// `ScopeSpans.scope` (field 1), tag and length included.
        let scope: [UInt8]

        /// The most a request's bytes before its spans take (`OTLPEncoder.headerLength`):
        /// the resource, the scope, two tags and two lengths.
        var maximumHeaderLength: Int { resource.count + scope.count + 2 * (1 + 10) }

        public init(_ resource: TraceResource) {
            var writer = ProtobufWriter()
            // ResourceSpans.resource = 1 { attributes = 1 }
            writer.messageField(1, lengthBytes: 2) { message in
                for attribute in resource.attributes {
                    OTLPSpanWriter.writeKeyValue(&message, 1, attribute.key, attribute.value)
                }
            }
            self.resource = writer.bytes
            writer.removeAll()
            // ScopeSpans.scope = 1 { name = 1, version = 2 }
            writer.messageField(1) { scope in
                scope.stringField(1, TracingScope.name)
                scope.stringField(2, TracingScope.version)
            }
            self.scope = writer.bytes
        }
    }

    /// A request with one `ResourceSpans` holding one `ScopeSpans` holding `spans`
    /// (`ScopeSpans.spans` fields, as `EncodedSpans` holds them).
    public static func request(_ spans: ArraySlice<UInt8>, preamble: Preamble) -> [UInt8] {
        spans.withUnsafeBytes { request($0, preamble: preamble) }
    }

    static func request(_ spans: UnsafeRawBufferPointer, preamble: Preamble) -> [UInt8] {
        let headerLength = headerLength(spans: spans.count, preamble: preamble)
        return [UInt8](unsafeUninitializedCapacity: headerLength + spans.count) { buffer, initialized in
            var cursor = ProtobufCursor(UnsafeMutableRawPointer(buffer.baseAddress!))
            writeHeader(spans: spans.count, preamble: preamble, to: &cursor)
            cursor.bytes(spans)
            initialized = cursor.offset
        }
    }

    /// How long a request's bytes before its spans are (`spans` bytes of them).
    static func headerLength(spans: Int, preamble: Preamble) -> Int {
        let scopeSpansLength = preamble.scope.count + spans
        let resourceSpansLength = preamble.resource.count + ProtobufWriter.lengthDelimitedSize(2, scopeSpansLength)
        return ProtobufWriter.lengthDelimitedSize(1, resourceSpansLength) - spans
    }

    /// A request's bytes before its spans: the resource spans' tag and length, the
    /// resource, the scope spans' tag and length, the scope.
    static func writeHeader(spans: Int, preamble: Preamble, to cursor: inout ProtobufCursor) {
        let scopeSpansLength = preamble.scope.count + spans
        let resourceSpansLength = preamble.resource.count + ProtobufWriter.lengthDelimitedSize(2, scopeSpansLength)
        // ExportTraceServiceRequest.resource_spans = 1
        cursor.tag(1, .lengthDelimited)
        cursor.varint(resourceSpansLength)
        preamble.resource.withUnsafeBytes { cursor.bytes($0) }
        // ResourceSpans.scope_spans = 2
        cursor.tag(2, .lengthDelimited)
        cursor.varint(scopeSpansLength)
        preamble.scope.withUnsafeBytes { cursor.bytes($0) }
    }
}
