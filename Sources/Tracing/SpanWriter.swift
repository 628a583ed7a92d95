import W3CTraceContext

/// What a span is besides its name, trace state, attributes, events and status: plain
/// values, copied for nothing. The name and the trace state hold references and are
/// given to `SpanWriter.begin` beside it: a struct holding them too was copied through
/// its value witnesses, retains and all, on the way to the writer.
public struct SpanIdentity: Sendable, Equatable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var parentSpanID: SpanID?
    public var flags: TraceFlags
    public var kind: SpanRecord.Kind
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, flags: TraceFlags, kind: SpanRecord.Kind,
        startNanoseconds: UInt64, endNanoseconds: UInt64
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.flags = flags
        self.kind = kind
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
    }
}

/// Receives one span, in order: `begin`, its attributes, its events, `end`.
///
/// A span describes itself once, to any writer: `OTLPSpanWriter` encodes it straight
/// into an OTLP protobuf export body (no record, no `String` per attribute);
/// `SpanRecordWriter` builds a `SpanRecord` (for the console and OTLP/JSON). String
/// values longer than `SpanAttribute.maxStringLength` bytes are cut at a character
/// boundary by every writer.
///
/// The proxy's own attributes are named by literals (`StaticString`), whose UTF-8 bytes
/// are static, and strings and integers have requirements of their own: the OTLP writer
/// copies name and value as they are, with nothing made or wrapped per attribute. By
/// default they become the general `attribute(_:_:)`, for names made at run time.
public protocol SpanWriter {
    mutating func begin(_ identity: SpanIdentity, name: String, traceState: String?)
    /// Any attribute, named at run time (a record's, a captured header's).
    mutating func attribute(_ key: String, _ value: SpanAttribute.Value)
    mutating func attribute(_ key: StaticString, _ value: String)
    mutating func attribute(_ key: StaticString, _ value: Int)
    /// A string attribute from UTF-8 bytes the caller already holds (a request head), in
    /// memory for the call only.
    mutating func attribute(_ key: StaticString, bytes value: UnsafeRawBufferPointer)
    /// The same, named at run time. A label of its own: with `_ key: String` beside the
    /// `StaticString` one, a literal name picked the `String` one (the default literal type).
    mutating func attribute(named key: String, bytes value: UnsafeRawBufferPointer)
    /// A string attribute of two parts (`url.full`: an origin and the target sent).
    mutating func attribute(_ key: StaticString, _ first: String, utf8 second: ArraySlice<UInt8>)
    /// Attributes encoded once for many spans (`EncodedAttributes`).
    mutating func attributes(_ encoded: EncodedAttributes)
    mutating func event(_ event: SpanEvent)
    /// An event encoded once for many spans (`EncodedEvent`), at `timeNanoseconds`.
    mutating func event(_ event: EncodedEvent, timeNanoseconds: UInt64)
    /// After the events.
    mutating func link(_ link: SpanLink)
    mutating func end(status: SpanRecord.Status)
}

extension SpanWriter {
    public mutating func attributes(_ encoded: EncodedAttributes) {
        for attribute in encoded.attributes { self.attribute(attribute.key, attribute.value) }
    }

    public mutating func attribute(_ key: StaticString, _ value: String) {
        attribute(key.description, .string(value))
    }

    public mutating func attribute(_ key: StaticString, _ value: Int) {
        attribute(key.description, .int(Int64(value)))
    }

    public mutating func attribute(_ key: StaticString, bytes value: UnsafeRawBufferPointer) {
        attribute(key.description, .string(String(decoding: AttributeLimit.capped(value), as: UTF8.self)))
    }

    public mutating func attribute(named key: String, bytes value: UnsafeRawBufferPointer) {
        attribute(key, .string(String(decoding: AttributeLimit.capped(value), as: UTF8.self)))
    }

    public mutating func event(_ event: EncodedEvent, timeNanoseconds: UInt64) {
        self.event(SpanEvent(name: event.name, timeNanoseconds: timeNanoseconds, attributes: event.attributes))
    }

    /// The parts joined into one string (what `SpanRecordWriter` keeps).
    public mutating func attribute(_ key: StaticString, _ first: String, utf8 second: ArraySlice<UInt8>) {
        attribute(key.description, .string(first + String(decoding: second, as: UTF8.self)))
    }
}

extension SpanRecord {
    /// The record described to a writer (how records are encoded).
    public func write<Writer: SpanWriter>(to writer: inout Writer) {
        writer.begin(
            SpanIdentity(
                traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, flags: flags, kind: kind,
                startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds),
            name: name, traceState: traceState)
        for attribute in attributes { writer.attribute(attribute.key, attribute.value) }
        for event in events { writer.event(event) }
        writer.end(status: status)
    }
}

/// Builds `SpanRecord`s from spans that describe themselves.
public struct SpanRecordWriter: SpanWriter, Sendable {
    public private(set) var records: [SpanRecord] = []
    private var identity: SpanIdentity?
    private var name = ""
    private var traceState: String?
    private var attributes: [SpanAttribute] = []
    private var events: [SpanEvent] = []
    private var links: [SpanLink] = []

    public init() {}

    public mutating func begin(_ identity: SpanIdentity, name: String, traceState: String?) {
        self.identity = identity
        self.name = name
        self.traceState = traceState
        attributes = []
        attributes.reserveCapacity(16)
        events = []
        links = []
    }

    public mutating func attribute(_ key: String, _ value: SpanAttribute.Value) {
        attributes.append(SpanAttribute(key, value))
    }

    public mutating func event(_ event: SpanEvent) {
        events.append(event)
    }

    public mutating func link(_ link: SpanLink) {
        links.append(link)
    }

    public mutating func end(status: SpanRecord.Status) {
        guard let identity else { return }
        records.append(SpanRecord(
            traceID: identity.traceID, spanID: identity.spanID, parentSpanID: identity.parentSpanID,
            traceState: traceState, flags: identity.flags, kind: identity.kind, name: name,
            startNanoseconds: identity.startNanoseconds, endNanoseconds: identity.endNanoseconds, status: status,
            attributes: attributes, events: events, links: links))
        self.identity = nil
    }
}

/// The attribute length limit, applied by every writer.
public enum AttributeLimit {
    /// The longest prefix of `value` within `SpanAttribute.maxStringLength` bytes that
    /// does not end inside a UTF-8 sequence.
    public static func capped(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        capped(value, limit: SpanAttribute.maxStringLength)
    }

    /// `capped` for bytes in memory; the usual short value goes through untouched.
    @inline(__always)
    static func capped(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard value.count > SpanAttribute.maxStringLength else { return value }
        return UnsafeRawBufferPointer(rebasing: capped(value, limit: SpanAttribute.maxStringLength))
    }

    static func capped<Bytes: Collection<UInt8>>(_ value: Bytes, limit: Int) -> Bytes.SubSequence where Bytes.Index == Int {
        guard value.count > limit else { return value[...] }
        var end = value.startIndex + limit
        // Back off continuation bytes (10xxxxxx) so that no sequence is split.
        while end > value.startIndex, value[end] & 0xC0 == 0x80 { end -= 1 }
        return value[value.startIndex..<end]
    }
}
