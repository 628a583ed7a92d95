import W3CTraceContext

/// A validated `traceparent` (and `tracestate`) received with a request.
///
/// W3C Trace Context rules (Level 2, and `shared/reference/tracing.md`): exactly one
/// `traceparent` field; version `00` is exactly 55 lowercase-hex characters with `-`
/// delimiters; a higher version (not `ff`) is read by the `00` layout when at least 55
/// characters long and a `-` follows them; all-zero ids are invalid. Only the sampled
/// (0x01) and random (0x02) flags are kept. `tracestate` is validated as a whole: one
/// invalid member drops it, while `traceparent` is still honoured.
public struct IncomingTraceContext: Sendable, Equatable {
    public var traceID: TraceID
    public var parentSpanID: SpanID
    public var flags: TraceFlags
    /// The validated list, re-joined with `,`; nil when absent or invalid.
    public var traceState: String?
    /// False when the caller sent ids without a sampling decision (B3 without a sampling
    /// state): the sampler then decides as for a root.
    public var parentDecided = true

    public init(traceID: TraceID, parentSpanID: SpanID, flags: TraceFlags, traceState: String?) {
        self.traceID = traceID
        self.parentSpanID = parentSpanID
        self.flags = flags
        self.traceState = traceState
    }

    /// The random-trace-id flag of Trace Context Level 2.
    public static let randomFlag = TraceFlags(rawValue: 0x02)

    /// Parses the `traceparent` and `tracestate` field values of a request, in order of
    /// arrival. Returns nil when there is no valid parent: absent, malformed or repeated.
    public static func parse(traceparent: [String], tracestate: [String]) -> IncomingTraceContext? {
        guard traceparent.count == 1, let parent = parseTraceParent(traceparent[0]) else { return nil }
        let state = TraceStateValidator.validate(tracestate)
        return IncomingTraceContext(
            traceID: parent.traceID, parentSpanID: parent.spanID,
            flags: TraceFlags(rawValue: parent.flags.rawValue & 0x03), traceState: state)
    }

    static func parseTraceParent(_ value: String) -> TraceContext? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 55, isLowerHex(bytes[0]), isLowerHex(bytes[1]) else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        if version == "ff" { return nil }
        if version == "00" {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55, bytes[55] != UInt8(ascii: "-") {
            // A future version may append fields, always after a delimiter.
            return nil
        }
        for index in 3..<55 where index != 35 && index != 52 {
            guard isLowerHex(bytes[index]) else { return nil }
        }
        // Re-read by the version-00 layout; the package checks delimiters and zero ids.
        let layout = "00" + String(decoding: bytes[2..<55], as: UTF8.self)
        return try? TraceContext(traceParentHeaderValue: layout)
    }

    @inline(__always) static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }
}
