import W3CTraceContext

#if canImport(Glibc)
import Glibc
#endif

/// Passes a span on to the OTLP writer and notes its facts on the way, so that the
/// proxy's spans are described once and both encoded and indexed.
///
/// Not generic over the writer it wraps: a generic struct of this module is not
/// specialized where the pipeline uses it (another module), and every attribute would go
/// through witness tables.
public struct FactsRecordingWriter: SpanWriter, Sendable {
    public var inner: OTLPSpanWriter
    public private(set) var facts: [SpanFacts] = []
    private var current: SpanFacts?

    public init(_ inner: OTLPSpanWriter) {
        self.inner = inner
    }

    public mutating func begin(_ identity: SpanIdentity, name: String, traceState: String?) {
        current = SpanFacts(
            traceID: TraceKey(identity.traceID), spanID: Self.integer(identity.spanID),
            parentSpanID: identity.parentSpanID.map(Self.integer) ?? 0, startNanoseconds: identity.startNanoseconds,
            endNanoseconds: max(identity.endNanoseconds, identity.startNanoseconds), kind: UInt8(identity.kind.rawValue))
        inner.begin(identity, name: name, traceState: traceState)
    }

    public mutating func attribute(_ key: String, _ value: SpanAttribute.Value) {
        if case .int(let number) = value, key.utf8.count == 25 {
            // Both names are 25 bytes long: most keys are told apart by their length alone.
            if key == "http.response.status_code" {
                current?.httpStatus = UInt16(clamping: max(0, number))
            } else if key == "http.request.resend_count" {
                current?.resendCount = UInt8(clamping: max(0, number))
            }
        }
        inner.attribute(key, value)
    }

    public mutating func attribute(_ key: StaticString, _ value: String) {
        inner.attribute(key, value)
    }

    public mutating func attribute(_ key: StaticString, _ value: Int) {
        if key.utf8CodeUnitCount == 25 {
            if Self.same(key, "http.response.status_code") {
                current?.httpStatus = UInt16(clamping: max(0, value))
            } else if Self.same(key, "http.request.resend_count") {
                current?.resendCount = UInt8(clamping: max(0, value))
            }
        }
        inner.attribute(key, value)
    }

    public mutating func attribute(_ key: StaticString, bytes value: UnsafeRawBufferPointer) {
        inner.attribute(key, bytes: value)
    }

    public mutating func attribute(named key: String, bytes value: UnsafeRawBufferPointer) {
        inner.attribute(named: key, bytes: value)
    }

    /// No fact comes from these (`EncodedAttributes` carries no status or resend count).
    public mutating func attributes(_ encoded: EncodedAttributes) {
        inner.attributes(encoded)
    }

    public mutating func attribute(_ key: StaticString, _ first: String, utf8 second: ArraySlice<UInt8>) {
        inner.attribute(key, first, utf8: second)
    }

    /// True when two literals spell the same name (`memcmp`: a generic `elementsEqual`
    /// took some 700 instructions for a 25-byte name).
    private static func same(_ key: StaticString, _ name: StaticString) -> Bool {
        guard key.hasPointerRepresentation, name.hasPointerRepresentation else { return key.description == name.description }
        return key.utf8CodeUnitCount == name.utf8CodeUnitCount
            && (key.utf8Start == name.utf8Start || memcmp(key.utf8Start, name.utf8Start, key.utf8CodeUnitCount) == 0)
    }

    public mutating func event(_ event: SpanEvent) {
        if event.name == "exception" { current?.hasException = true }
        inner.event(event)
    }

    public mutating func event(_ event: EncodedEvent, timeNanoseconds: UInt64) {
        if event.isException { current?.hasException = true }
        inner.event(event, timeNanoseconds: timeNanoseconds)
    }

    public mutating func link(_ link: SpanLink) {
        inner.link(link)
    }

    public mutating func end(status: SpanRecord.Status) {
        switch status {
        case .unset: break
        case .ok: current?.statusCode = 1
        case .error: current?.statusCode = 2
        }
        if let current { facts.append(current) }
        current = nil
        inner.end(status: status)
    }

    private static func integer(_ id: SpanID) -> UInt64 {
        withUnsafeBytes(of: id.bytes) { SpanFacts.uint64($0) }
    }
}
