import W3CTraceContext

/// Passes a span on to the OTLP writer and notes its facts on the way, so that the
/// proxy's spans are described once and both encoded and indexed.
///
/// Not generic over the writer it wraps: a generic struct of this module is not
/// specialized where the pipeline uses it (another module), and every attribute would go
/// through witness tables.
public struct FactsRecordingWriter: SpanWriter {
    public var inner: OTLPSpanWriter
    public private(set) var facts: [SpanFacts] = []
    private var current: SpanFacts?

    public init(_ inner: OTLPSpanWriter) {
        self.inner = inner
    }

    public mutating func begin(_ identity: SpanIdentity, name: SpanName, traceState: String?) {
        current = SpanFacts(
            traceID: TraceKey(identity.traceID), spanID: Self.integer(identity.spanID),
            parentSpanID: identity.parentSpanID.map(Self.integer) ?? 0, startNanoseconds: identity.startNanoseconds,
            endNanoseconds: max(identity.endNanoseconds, identity.startNanoseconds), kind: UInt8(identity.kind.rawValue))
        inner.begin(identity, name: name, traceState: traceState)
    }

    public mutating func attribute(_ key: String, _ value: SpanAttribute.Value) {
        if case .int(let number) = value { noteInteger(key, number) }
        inner.attribute(key, value)
    }

    public mutating func attribute(_ key: String, _ value: String) {
        inner.attribute(key, value)
    }

    public mutating func attribute(_ key: String, _ value: Int) {
        noteInteger(key, Int64(value))
        inner.attribute(key, value)
    }

    private mutating func noteInteger(_ key: String, _ number: Int64) {
        // Both names are 25 bytes long: most keys are told apart by their length alone.
        guard key.utf8.count == 25 else { return }
        if key == "http.response.status_code" {
            current?.httpStatus = UInt16(clamping: max(0, number))
        } else if key == "http.request.resend_count" {
            current?.resendCount = UInt8(clamping: max(0, number))
        }
    }

    public mutating func attribute(_ key: String, utf8 value: ArraySlice<UInt8>) {
        inner.attribute(key, utf8: value)
    }

    public mutating func attribute(_ key: String, _ first: String, utf8 second: ArraySlice<UInt8>) {
        inner.attribute(key, first, utf8: second)
    }

    public mutating func event(_ event: SpanEvent) {
        if event.name == "exception" { current?.hasException = true }
        inner.event(event)
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
