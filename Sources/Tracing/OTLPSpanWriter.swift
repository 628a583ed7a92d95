/// Encodes spans straight into OTLP protobuf (`EncodedSpans`), field by field as the
/// span describes itself: no record, no `String` per attribute or name.
///
/// This runs on a worker's thread for every span, so each call writes its
/// fields in one go (`ProtobufWriter.write(reserving:_:)`), lengths worked out first;
/// only the span and its events are nested messages whose length is filled in at the
/// end. The bytes are the minimal encoding, the same whichever way a span is described
/// (`SpanEncodingTests` pins them).
public struct OTLPSpanWriter: SpanWriter, Sendable {
    public internal(set) var spans: EncodedSpans
    /// Where the open span's length goes.
    private var spanStart = 0
    private var flags: UInt32 = 0
    /// Spans are usually 128 bytes to 16 KiB long: a two-byte length.
    private static let spanLengthBytes = 2

    public init() {
        self.init(headroom: 0)
    }

    /// `headroom`: room kept ahead of the spans for an export request's resource and
    /// scope (`EncodedSpans.takeRequest`).
    /// `capacity`: the bytes expected (the storage grows by doubling beyond it).
    public init(headroom: Int, capacity: Int = EncodedSpans.initialCapacity) {
        spans = EncodedSpans(headroom: headroom, capacity: capacity)
    }

    public mutating func begin(_ identity: SpanIdentity, name: String, traceState: String?) {
        flags = UInt32(identity.flags.rawValue)
        // ScopeSpans.spans = 2 (a one-byte tag, then the length, filled in by `end`);
        // Span.trace_id = 1, span_id = 2.
        spanStart = spans.writer.count + 1
        spans.writer.write(reserving: 1 + Self.spanLengthBytes + 2 + 16 + 2 + 8) { cursor in
            cursor.tag(2, .lengthDelimited)
            cursor.skip(Self.spanLengthBytes)
            cursor.tag(1, .lengthDelimited)
            cursor.byte(16)
            cursor.raw(identity.traceID.bytes)
            cursor.tag(2, .lengthDelimited)
            cursor.byte(8)
            cursor.raw(identity.spanID.bytes)
        }
        if let traceState { spans.writer.stringField(3, traceState) }
        ProtobufWriter.withUTF8(name) { writeDescription(identity, name: $0) }
    }

    /// Span.parent_span_id = 4, name = 5, kind = 6, start_time_unix_nano = 7,
    /// end_time_unix_nano = 8.
    private mutating func writeDescription(_ identity: SpanIdentity, name: UnsafeRawBufferPointer) {
        let kind = UInt64(identity.kind.rawValue)
        spans.writer.write(reserving: 10 + ProtobufWriter.lengthDelimitedSize(5, name.count) + 2 + 18) { cursor in
            if let parent = identity.parentSpanID {
                cursor.tag(4, .lengthDelimited)
                cursor.byte(8)
                cursor.raw(parent.bytes)
            }
            if !name.isEmpty {  // proto3: an empty string is not written
                cursor.tag(5, .lengthDelimited)
                cursor.varint(name.count)
                cursor.bytes(name)
            }
            if kind != 0 {
                cursor.tag(6, .varint)
                cursor.varint(kind)
            }
            cursor.tag(7, .fixed64)
            cursor.fixed64(identity.startNanoseconds)
            cursor.tag(8, .fixed64)
            cursor.fixed64(identity.endNanoseconds)
        }
    }

    // MARK: Attributes (Span.attributes = 9)

    public mutating func attribute(_ key: String, _ value: SpanAttribute.Value) {
        Self.writeKeyValue(&spans.writer, 9, key, value)
    }

    public mutating func attribute(_ key: StaticString, _ value: String) {
        guard let name = Self.utf8(key) else { return attribute(key.description, .string(value)) }
        ProtobufWriter.withUTF8(value) { spans.writer.keyValueField(9, key: name, string: AttributeLimit.capped($0)) }
    }

    /// Their bytes, encoded once, copied in one piece.
    public mutating func attributes(_ encoded: EncodedAttributes) {
        spans.writer.append(encoded.protobuf[...])
    }

    public mutating func attribute(_ key: StaticString, _ value: Int) {
        guard let name = Self.utf8(key) else { return attribute(key.description, .int(Int64(value))) }
        spans.writer.keyValueField(9, key: name, int: Int64(value))
    }

    public mutating func attribute(_ key: StaticString, bytes value: UnsafeRawBufferPointer) {
        guard let name = Self.utf8(key) else { return attribute(key.description, .string(String(decoding: value, as: UTF8.self))) }
        spans.writer.keyValueField(9, key: name, string: AttributeLimit.capped(value))
    }

    public mutating func attribute(named key: String, bytes value: UnsafeRawBufferPointer) {
        ProtobufWriter.withUTF8(key) { spans.writer.keyValueField(9, key: $0, string: AttributeLimit.capped(value)) }
    }

    public mutating func attribute(_ key: StaticString, _ first: String, utf8 second: ArraySlice<UInt8>) {
        guard let name = Self.utf8(key), first.utf8.count + second.count <= SpanAttribute.maxStringLength else {
            // Too long: cut as one (rare).
            return attribute(key.description, .string(first + String(decoding: second, as: UTF8.self)))
        }
        ProtobufWriter.withUTF8(first) { first in
            second.withUnsafeBytes { spans.writer.keyValueField(9, key: name, string: first, $0) }
        }
    }

    /// A literal's UTF-8 bytes, which are static; nil for a one-character literal, which
    /// Swift keeps as a scalar rather than bytes.
    @inline(__always)
    private static func utf8(_ literal: StaticString) -> UnsafeRawBufferPointer? {
        guard literal.hasPointerRepresentation else { return nil }
        return UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }

    /// A `KeyValue` as field `field` of the message being written, in one write whatever
    /// the value's type.
    static func writeKeyValue(_ message: inout ProtobufWriter, _ field: Int, _ key: String, _ value: SpanAttribute.Value) {
        ProtobufWriter.withUTF8(key) { key in
            switch value {
            case .string(let text):
                ProtobufWriter.withUTF8(text) { message.keyValueField(field, key: key, string: AttributeLimit.capped($0)) }
            case .int(let number): message.keyValueField(field, key: key, int: number)
            case .bool(let flag): message.keyValueField(field, key: key, bool: flag)
            case .double(let number): message.keyValueField(field, key: key, double: number)
            }
        }
    }

    // MARK: Events and the end

    public mutating func event(_ event: SpanEvent) {
        ProtobufWriter.withUTF8(event.name) {
            writeEvent(name: $0, timeNanoseconds: event.timeNanoseconds, attributes: event.attributes)
        }
    }

    /// Its bytes copied in one piece, the time written into them.
    public mutating func event(_ event: EncodedEvent, timeNanoseconds: UInt64) {
        let timeOffset = event.timeOffset
        event.protobuf.withUnsafeBytes { template in
            spans.writer.write(reserving: template.count) { cursor in
                cursor.bytes(template)
                cursor.put(fixed64: timeNanoseconds, at: timeOffset)
            }
        }
    }

    /// Span.events = 11 { time_unix_nano = 1, name = 2, attributes = 3 }. Without
    /// attributes its length is known and it is one write; attributes follow behind a
    /// one-byte length, widened at the end if need be.
    private mutating func writeEvent(name: UnsafeRawBufferPointer, timeNanoseconds: UInt64, attributes: [SpanAttribute]) {
        let known = 9 + (name.isEmpty ? 0 : ProtobufWriter.lengthDelimitedSize(2, name.count))
        let lengthAt = spans.writer.count + 1  // after the one-byte tag
        spans.writer.write(reserving: 1 + 10 + known) { cursor in
            cursor.tag(11, .lengthDelimited)
            if attributes.isEmpty { cursor.varint(known) } else { cursor.skip(1) }
            cursor.tag(1, .fixed64)
            cursor.fixed64(timeNanoseconds)
            if !name.isEmpty {
                cursor.tag(2, .lengthDelimited)
                cursor.varint(name.count)
                cursor.bytes(name)
            }
        }
        guard !attributes.isEmpty else { return }
        for attribute in attributes {
            Self.writeKeyValue(&spans.writer, 3, attribute.key, attribute.value)
        }
        spans.writer.endMessage(lengthAt, lengthBytes: 1)
    }

    /// Span.links = 13 { trace_id = 1, span_id = 2, trace_state = 3, attributes = 4,
    /// flags = 6 }. Rare (one per ignored incoming context): written plainly.
    public mutating func link(_ link: SpanLink) {
        let lengthAt = spans.writer.beginMessage(13, lengthBytes: 2)
        withUnsafeBytes(of: link.traceID.bytes) { spans.writer.bytesField(1, $0) }
        withUnsafeBytes(of: link.spanID.bytes) { spans.writer.bytesField(2, $0) }
        if let state = link.traceState { spans.writer.stringField(3, state) }
        for attribute in link.attributes {
            Self.writeKeyValue(&spans.writer, 4, attribute.key, attribute.value)
        }
        spans.writer.fixed32Field(6, UInt32(link.flags.rawValue))
        spans.writer.endMessage(lengthAt, lengthBytes: 2)
    }

    public mutating func end(status: SpanRecord.Status) {
        // Span.status = 15 { message = 2, code = 3 }: not written when unset (the default).
        switch status {
        case .unset: break
        case .ok: writeStatus(code: 1, message: UnsafeRawBufferPointer(start: nil, count: 0))
        case .error(let text): ProtobufWriter.withUTF8(text) { writeStatus(code: 2, message: $0) }
        }
        // Span.flags = 16: the W3C trace flags in the low byte.
        spans.writer.fixed32Field(16, flags)
        spans.writer.endMessage(spanStart, lengthBytes: Self.spanLengthBytes)
        spans.markEnd()
    }

    private mutating func writeStatus(code: UInt8, message: UnsafeRawBufferPointer) {
        let messageLength = message.isEmpty ? 0 : ProtobufWriter.lengthDelimitedSize(2, message.count)
        spans.writer.write(reserving: ProtobufWriter.lengthDelimitedSize(15, messageLength + 2)) { cursor in
            cursor.tag(15, .lengthDelimited)
            cursor.varint(messageLength + 2)
            if !message.isEmpty {
                cursor.tag(2, .lengthDelimited)
                cursor.varint(message.count)
                cursor.bytes(message)
            }
            cursor.tag(3, .varint)
            cursor.byte(code)
        }
    }
}
