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
        spans.withUnsafeBytes { request($0, preamble: preamble) }
    }

    /// A request for the first `count` of `spans`, copied straight into it.
    public static func request(_ spans: EncodedSpans, count: Int, preamble: Preamble) -> [UInt8] {
        spans.withUnsafeBytes(ofFirst: count) { request($0, preamble: preamble) }
    }

    static func request(_ spans: UnsafeRawBufferPointer, preamble: Preamble) -> [UInt8] {
        let scopeSpansLength = preamble.scope.count + spans.count
        let resourceSpansLength = preamble.resource.count + ProtobufWriter.lengthDelimitedSize(2, scopeSpansLength)
        let length = ProtobufWriter.lengthDelimitedSize(1, resourceSpansLength)
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            var cursor = ProtobufCursor(UnsafeMutableRawPointer(buffer.baseAddress!))
            // ExportTraceServiceRequest.resource_spans = 1
            cursor.tag(1, .lengthDelimited)
            cursor.varint(resourceSpansLength)
            preamble.resource.withUnsafeBytes { cursor.bytes($0) }
            // ResourceSpans.scope_spans = 2
            cursor.tag(2, .lengthDelimited)
            cursor.varint(scopeSpansLength)
            preamble.scope.withUnsafeBytes { cursor.bytes($0) }
            cursor.bytes(spans)
            initialized = cursor.offset
        }
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

    /// The bytes of the first `count` spans (a copy).
    public func prefix(_ count: Int) -> ArraySlice<UInt8> {
        withUnsafeBytes(ofFirst: count) { Array($0)[...] }
    }

    /// How many bytes the first `count` spans take.
    public func byteCount(ofFirst count: Int) -> Int {
        count == 0 ? 0 : ends[firstEnd + count - 1] - start
    }

    /// Runs `body` with the bytes of the first `count` spans, in place.
    public func withUnsafeBytes<Result>(ofFirst count: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        writer.withUnsafeBytes(start..<(start + byteCount(ofFirst: count)), body)
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
        other.withUnsafeBytes(ofFirst: other.count) { writer.append($0) }
        for index in other.firstEnd..<other.ends.count { ends.append(other.ends[index] + shift) }
    }

    mutating func markEnd() {
        ends.append(writer.count)
    }

    /// Calls `body` with each span's `Span` message (without its field tag and length),
    /// in place.
    public func forEachSpanMessage(_ body: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeBytes(ofFirst: count) { all in
            var spanStart = 0
            for index in firstEnd..<ends.count {
                let spanEnd = ends[index] - start
                // One tag byte (field 2, length-delimited), then the length as a varint.
                var lengthEnd = spanStart + 1
                while all[lengthEnd] & 0x80 != 0 { lengthEnd += 1 }
                body(UnsafeRawBufferPointer(rebasing: all[(lengthEnd + 1)..<spanEnd]))
                spanStart = spanEnd
            }
        }
    }
}
