/// What the store knows of a span without reading its bytes: enough to join it to its
/// trace, place it in the tree, and summarise and filter the trace.
public struct SpanFacts: Sendable, Equatable {
    public var traceID: TraceKey
    public var spanID: UInt64
    /// 0: the span has no parent.
    public var parentSpanID: UInt64
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    /// `Span.SpanKind`: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    public var kind: UInt8
    /// `Status.StatusCode`: 0 unset, 1 ok, 2 error.
    public var statusCode: UInt8
    /// An event named `exception` (semantic conventions): an error even with status unset.
    public var hasException: Bool
    /// `http.response.status_code` (or the older `http.status_code`); 0 when absent.
    public var httpStatus: UInt16
    /// `http.request.resend_count`: above 0 on a retried attempt.
    public var resendCount: UInt8

    public static let server: UInt8 = 2
    public static let client: UInt8 = 3

    public init(
        traceID: TraceKey, spanID: UInt64, parentSpanID: UInt64, startNanoseconds: UInt64, endNanoseconds: UInt64,
        kind: UInt8, statusCode: UInt8 = 0, hasException: Bool = false, httpStatus: UInt16 = 0, resendCount: UInt8 = 0
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        self.kind = kind
        self.statusCode = statusCode
        self.hasException = hasException
        self.httpStatus = httpStatus
        self.resendCount = resendCount
    }

    /// Error status or an `exception` event.
    public var isError: Bool { statusCode == 2 || hasException }

    /// Reads the facts of an OTLP `Span` message (already validated). Nil, with the
    /// reason, when its ids cannot be stored: a trace id that is not 16 bytes or is all
    /// zeros, a span id that is not 8 bytes or is all zeros, a parent id of another length.
    static func read(_ bytes: [UInt8], _ range: Range<Int>) -> Result<SpanFacts, SpanRejection> {
        var facts = SpanFacts(traceID: TraceKey(high: 0, low: 0), spanID: 0, parentSpanID: 0, startNanoseconds: 0, endNanoseconds: 0, kind: 0)
        var traceIDLength = 0
        var spanIDLength = 0
        var parentLength = 0
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            switch (field, value) {
            case (1, .bytes(let id)):
                traceIDLength = id.count
                if id.count == 16 { facts.traceID = TraceKey(bytes[id]) }
            case (2, .bytes(let id)):
                spanIDLength = id.count
                if id.count == 8 { facts.spanID = Self.uint64(bytes[id]) }
            case (4, .bytes(let id)):
                parentLength = id.count
                if id.count == 8 { facts.parentSpanID = Self.uint64(bytes[id]) }
            case (6, .varint(let kind)): facts.kind = UInt8(truncatingIfNeeded: min(kind, 255))
            case (7, .fixed64(let time)): facts.startNanoseconds = time
            case (8, .fixed64(let time)): facts.endNanoseconds = time
            case (9, .bytes(let keyValue)): readAttribute(bytes, keyValue, into: &facts)
            case (11, .bytes(let event)):
                if Self.string(bytes, in: event, field: 2).elementsEqual("exception".utf8) { facts.hasException = true }
            case (15, .bytes(let status)):
                var statusReader = ProtobufReader(bytes, range: status)
                while let (statusField, statusValue) = (try? statusReader.next()) ?? nil {
                    if statusField == 3, case .varint(let code) = statusValue { facts.statusCode = UInt8(truncatingIfNeeded: min(code, 255)) }
                }
            default: break
            }
        }
        guard traceIDLength == 16, !facts.traceID.isZero else { return .failure(.invalidTraceID) }
        guard spanIDLength == 8, facts.spanID != 0 else { return .failure(.invalidSpanID) }
        guard parentLength == 0 || parentLength == 8 else { return .failure(.invalidParentSpanID) }
        if facts.endNanoseconds < facts.startNanoseconds { facts.endNanoseconds = facts.startNanoseconds }
        return .success(facts)
    }

    private static func readAttribute(_ bytes: [UInt8], _ keyValue: Range<Int>, into facts: inout SpanFacts) {
        let key = string(bytes, in: keyValue, field: 1)
        let isStatus = key.elementsEqual("http.response.status_code".utf8) || key.elementsEqual("http.status_code".utf8)
        let isResend = key.elementsEqual("http.request.resend_count".utf8)
        guard isStatus || isResend, let value = integer(bytes, inKeyValue: keyValue) else { return }
        if isStatus { facts.httpStatus = UInt16(clamping: max(0, value)) } else { facts.resendCount = UInt8(clamping: max(0, value)) }
    }

    /// The bytes of string field `field` of the message at `range` (empty when absent).
    static func string(_ bytes: [UInt8], in range: Range<Int>, field wanted: Int) -> ArraySlice<UInt8> {
        var reader = ProtobufReader(bytes, range: range)
        var found: ArraySlice<UInt8> = []
        while let (field, value) = (try? reader.next()) ?? nil {
            if field == wanted, case .bytes(let text) = value { found = bytes[text] }
        }
        return found
    }

    /// The integer of a `KeyValue` whose value is an `int_value` (or a decimal string).
    private static func integer(_ bytes: [UInt8], inKeyValue keyValue: Range<Int>) -> Int64? {
        var reader = ProtobufReader(bytes, range: keyValue)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard field == 2, case .bytes(let any) = value else { continue }
            var anyReader = ProtobufReader(bytes, range: any)
            while let (anyField, anyValue) = (try? anyReader.next()) ?? nil {
                if anyField == 3, case .varint(let number) = anyValue { return Int64(bitPattern: number) }
                if anyField == 1, case .bytes(let text) = anyValue { return Int64(String(decoding: bytes[text], as: UTF8.self)) }
            }
        }
        return nil
    }

    /// Bytes read as a big-endian integer (ids are 8 bytes).
    static func uint64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The same for bytes in memory: eight of them in one load.
    static func uint64(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        guard raw.count == 8 else { return raw.reduce(0) { $0 << 8 | UInt64($1) } }
        return UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
    }
}

/// Why a received span was not stored: reported to the sender in `partial_success`.
public enum SpanRejection: String, Sendable, Hashable, CaseIterable, Error {
    case invalidTraceID = "trace id is not 16 bytes, or is all zeros"
    case invalidSpanID = "span id is not 8 bytes, or is all zeros"
    case invalidParentSpanID = "parent span id is not 8 bytes"
    case traceFull = "the trace already has the most spans the store keeps per trace"
}

/// A trace id as the store keys it: two integers, hashed and compared fast.
public struct TraceKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ bytes: ArraySlice<UInt8>) {
        precondition(bytes.count == 16)
        high = SpanFacts.uint64(bytes.prefix(8))
        low = SpanFacts.uint64(bytes.suffix(8))
    }

    /// No copy: this runs for each of the proxy's spans on the span pipeline.
    public init(_ id: TraceIDBytes) {
        (high, low) = withUnsafeBytes(of: id) { raw in
            (SpanFacts.uint64(UnsafeRawBufferPointer(rebasing: raw.prefix(8))),
             SpanFacts.uint64(UnsafeRawBufferPointer(rebasing: raw.suffix(8))))
        }
    }

    /// 32 hex digits, either case.
    public init?(hex: String) {
        guard hex.utf8.count == 32, let bytes = HexDigits.decode(hex) else { return nil }
        self.init(bytes[...])
    }

    public var isZero: Bool { high == 0 && low == 0 }

    public var description: String {
        HexDigits.encode(withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) })
    }

    public static func < (left: TraceKey, right: TraceKey) -> Bool {
        (left.high, left.low) < (right.high, right.low)
    }
}

/// The 16 bytes of a W3C trace id.
public typealias TraceIDBytes = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
