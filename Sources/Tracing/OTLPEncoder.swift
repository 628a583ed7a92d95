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
        let scopeSpansLength = preamble.scope.count + spans.count
        let resourceSpansLength = preamble.resource.count + 1 + ProtobufWriter.varintSize(UInt64(scopeSpansLength)) + scopeSpansLength
        var writer = ProtobufWriter(capacity: resourceSpansLength + 16)
        // ExportTraceServiceRequest.resource_spans = 1
        writer.tag(1, .lengthDelimited)
        writer.varint(UInt64(resourceSpansLength))
        writer.append(preamble.resource[...])
        // ResourceSpans.scope_spans = 2
        writer.tag(2, .lengthDelimited)
        writer.varint(UInt64(scopeSpansLength))
        writer.append(preamble.scope[...])
        writer.append(spans)
        return writer.finish()
    }
}

/// OTLP `Span` messages, each as a `ScopeSpans.spans` field (tag and length included),
/// back to back. `ends` marks where each span ends, so a batch can be cut at any span.
/// Spans taken from the front are only skipped; their room is reclaimed when everything
/// has been taken, or when what is left is smaller than what was taken.
public struct EncodedSpans: Sendable {
    /// The spans' bytes, written in place by `OTLPSpanWriter`.
    var writer = ProtobufWriter(capacity: 64 * 1024)
    /// Where each span ends in `writer`, from the first one not yet taken.
    private var ends: [Int] = []
    private var firstEnd = 0
    /// Where the first span not yet taken starts.
    private var start = 0

    public init() {}

    public var count: Int { ends.count - firstEnd }
    public var isEmpty: Bool { count == 0 }

    /// All the spans' bytes.
    public var bytes: [UInt8] { Array(prefix(count)) }

    /// The bytes of the first `count` spans.
    public func prefix(_ count: Int) -> ArraySlice<UInt8> {
        count == 0 ? [] : writer[start..<ends[firstEnd + count - 1]]
    }

    /// Forgets the first `count` spans.
    public mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        if count >= self.count {
            removeAll()
            return
        }
        start = ends[firstEnd + count - 1]
        firstEnd += count
        if start > writer.count - start {
            writer.removeFirst(start)
            ends.removeFirst(firstEnd)
            for index in ends.indices { ends[index] -= start }
            firstEnd = 0
            start = 0
        }
    }

    public mutating func removeAll() {
        writer.removeAll()
        ends.removeAll(keepingCapacity: true)
        firstEnd = 0
        start = 0
    }

    /// Appends copies of `other`'s spans.
    public mutating func append(contentsOf other: EncodedSpans) {
        guard !other.isEmpty else { return }
        let shift = writer.count - other.start
        writer.append(other.writer[other.start..<other.ends[other.ends.count - 1]])
        for index in other.firstEnd..<other.ends.count { ends.append(other.ends[index] + shift) }
    }

    mutating func markEnd() {
        ends.append(writer.count)
    }

    /// Calls `body` with each span's `Span` message (without its field tag and length).
    public func forEachSpanMessage(_ body: (ArraySlice<UInt8>) -> Void) {
        var spanStart = start
        for index in firstEnd..<ends.count {
            // One tag byte (field 2, length-delimited), then the length as a varint.
            let field = writer[spanStart..<ends[index]]
            var lengthEnd = field.startIndex + 1
            while field[lengthEnd] & 0x80 != 0 { lengthEnd += 1 }
            body(field[(lengthEnd + 1)...])
            spanStart = ends[index]
        }
    }
}

/// Encodes spans straight into OTLP protobuf (`EncodedSpans`), field by field as the
/// span describes itself: no record and no `String` per attribute.
public struct OTLPSpanWriter: SpanWriter {
    public internal(set) var spans = EncodedSpans()
    /// Where the open span's length goes.
    private var spanStart = 0
    private var flags: UInt32 = 0
    /// Spans are usually 128 bytes to 16 KiB long: a two-byte length.
    private static let spanLengthBytes = 2

    public init() {}

    public mutating func begin(_ identity: SpanIdentity) {
        flags = UInt32(identity.flags.rawValue)
        // ScopeSpans.spans = 2
        spanStart = spans.writer.beginMessage(2, lengthBytes: Self.spanLengthBytes)
        withUnsafeBytes(of: identity.traceID.bytes) { spans.writer.bytesField(1, $0) }
        withUnsafeBytes(of: identity.spanID.bytes) { spans.writer.bytesField(2, $0) }
        if let state = identity.traceState { spans.writer.stringField(3, state) }
        if let parent = identity.parentSpanID { withUnsafeBytes(of: parent.bytes) { spans.writer.bytesField(4, $0) } }
        spans.writer.stringField(5, identity.name)
        spans.writer.varintField(6, UInt64(identity.kind.rawValue))
        spans.writer.fixed64Field(7, identity.startNanoseconds)
        spans.writer.fixed64Field(8, identity.endNanoseconds)
    }

    public mutating func attribute(_ key: String, _ value: SpanAttribute.Value) {
        // Span.attributes = 9
        Self.writeKeyValue(&spans.writer, 9, key, value)
    }

    public mutating func attribute(_ key: String, utf8 value: ArraySlice<UInt8>) {
        ProtobufWriter.withUTF8(key) { key in
            AttributeLimit.capped(value).withUnsafeBytes { spans.writer.keyValueField(9, key: key, string: $0) }
        }
    }

    public mutating func attribute(_ key: String, _ first: String, utf8 second: ArraySlice<UInt8>) {
        guard first.utf8.count + second.count <= SpanAttribute.maxStringLength else {
            attribute(key, .string(first + String(decoding: second, as: UTF8.self)))  // too long: cut as one (rare)
            return
        }
        ProtobufWriter.withUTF8(key) { key in
            ProtobufWriter.withUTF8(first) { first in
                second.withUnsafeBytes { spans.writer.keyValueField(9, key: key, string: first, $0) }
            }
        }
    }

    public mutating func event(_ event: SpanEvent) {
        // Span.events = 11 { time_unix_nano = 1, name = 2, attributes = 3 }
        spans.writer.messageField(11) { eventMessage in
            eventMessage.fixed64Field(1, event.timeNanoseconds)
            eventMessage.stringField(2, event.name)
            for attribute in event.attributes {
                Self.writeKeyValue(&eventMessage, 3, attribute.key, attribute.value)
            }
        }
    }

    public mutating func end(status: SpanRecord.Status) {
        // Status { message = 2, code = 3 }: not written when unset (the default).
        switch status {
        case .unset: break
        case .ok: spans.writer.messageField(15) { $0.varintField(3, 1) }
        case .error(let text):
            spans.writer.messageField(15) { status in
                status.stringField(2, text)
                status.varintField(3, 2)
            }
        }
        // flags = 16: the W3C trace flags in the low byte.
        spans.writer.fixed32Field(16, flags)
        spans.writer.endMessage(spanStart, lengthBytes: Self.spanLengthBytes)
        spans.markEnd()
    }

    /// A `KeyValue` as field `field`: strings and integers in one write, the rest
    /// (booleans, doubles: rare) as nested messages.
    static func writeKeyValue(_ message: inout ProtobufWriter, _ field: Int, _ key: String, _ value: SpanAttribute.Value) {
        ProtobufWriter.withUTF8(key) { key in
            switch value {
            case .string(let text):
                ProtobufWriter.withUTF8(text) { text in
                    let capped = UnsafeRawBufferPointer(rebasing: text[..<AttributeLimit.cappedCount(text)])
                    message.keyValueField(field, key: key, string: capped)
                }
            case .int(let number):
                message.keyValueField(field, key: key, int: number)
            case .bool, .double:
                message.messageField(field) { keyValue in
                    keyValue.utf8Field(1, key)
                    keyValue.messageField(2) { anyValue in
                        if case .bool(let flag) = value { anyValue.boolField(2, flag) }
                        if case .double(let number) = value { anyValue.doubleField(4, number) }
                    }
                }
            }
        }
    }
}
