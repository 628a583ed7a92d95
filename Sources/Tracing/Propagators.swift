import W3CTraceContext

/// The context formats of `OTEL_PROPAGATORS`. Extraction tries them in the order listed
/// and the first valid context wins; injection writes every one of them from the same
/// span context.
public enum Propagator: String, Sendable, Equatable, CaseIterable {
    /// W3C `traceparent` and `tracestate` (the default).
    case tracecontext
    /// W3C `baggage`: validated and forwarded; it carries no trace context.
    case baggage
    /// Zipkin's single `b3` field.
    case b3
    /// Zipkin's `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled` (and `X-B3-Flags`).
    case b3multi

    public static let defaults: [Propagator] = [.tracecontext]

    /// Reads `OTEL_PROPAGATORS` (comma-separated, case-insensitive). `none` adds nothing:
    /// alone, nothing is extracted or injected. Unknown names are reported and left out.
    public static func fromEnvironment(_ value: String?) -> (propagators: [Propagator], problems: [String]) {
        guard let value, !value.trimmingCharacters(in: " \t").isEmpty else { return (defaults, []) }
        var propagators: [Propagator] = []
        var problems: [String] = []
        for part in value.split(separator: ",") {
            let name = String(part).trimmingCharacters(in: " \t").lowercased()
            if name == "none" || name.isEmpty { continue }
            guard let propagator = Propagator(rawValue: name) else {
                problems.append(
                    "OTEL_PROPAGATORS has '\(name)', which hoptrace does not know (tracecontext, baggage, b3, b3multi, none); it is left out")
                continue
            }
            if !propagators.contains(propagator) { propagators.append(propagator) }
        }
        return (propagators, problems)
    }
}

/// Zipkin B3 context (github.com/openzipkin/b3-propagation), read into the same
/// `IncomingTraceContext` a `traceparent` gives. A 64-bit trace id is widened to 128 bits
/// with leading zeros, as the OpenTelemetry B3 propagator does. No sampling state means
/// the caller left the decision to us (`parentDecided` false); debug (`d`, `X-B3-Flags: 1`)
/// means sampled.
public enum B3Context {
    /// `b3: {trace id}-{span id}[-{sampling}[-{parent span id}]]`. A sampling state alone
    /// (`b3: 0`) carries no ids and gives no context.
    public static func parseSingle(_ value: String) -> IncomingTraceContext? {
        let parts = value.trimmingCharacters(in: " \t").split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 4, let traceID = traceID(parts[0]), let spanID = spanID(parts[1]) else {
            return nil
        }
        var sampled: Bool?
        if parts.count >= 3 {
            switch parts[2] {
            case "1", "d": sampled = true
            case "0": sampled = false
            default: return nil
            }
        }
        if parts.count == 4, self.spanID(parts[3]) == nil { return nil }
        return context(traceID, spanID, sampled: sampled)
    }

    /// `X-B3-TraceId` and `X-B3-SpanId` (each exactly once), `X-B3-Sampled` (`1`/`0`, or
    /// `true`/`false` from old clients) and `X-B3-Flags: 1` (debug) when present.
    public static func parseMulti(traceID traceIDs: [String], spanID spanIDs: [String], sampled: [String], flags: [String]) -> IncomingTraceContext? {
        guard traceIDs.count == 1, spanIDs.count == 1, sampled.count <= 1, flags.count <= 1,
            let traceID = traceID(Substring(traceIDs[0].trimmingCharacters(in: " \t"))),
            let spanID = spanID(Substring(spanIDs[0].trimmingCharacters(in: " \t")))
        else { return nil }
        var decision: Bool?
        if let value = sampled.first?.trimmingCharacters(in: " \t").lowercased() {
            switch value {
            case "1", "true": decision = true
            case "0", "false": decision = false
            default: return nil
            }
        }
        if flags.first?.trimmingCharacters(in: " \t") == "1" { decision = true }
        return context(traceID, spanID, sampled: decision)
    }

    private static func context(_ traceID: TraceID, _ spanID: SpanID, sampled: Bool?) -> IncomingTraceContext {
        var context = IncomingTraceContext(
            traceID: traceID, parentSpanID: spanID, flags: sampled == true ? .sampled : TraceFlags(), traceState: nil)
        context.parentDecided = sampled != nil
        return context
    }

    /// 16 or 32 lowercase hex digits, not all zero.
    static func traceID(_ text: Substring) -> TraceID? {
        guard text.utf8.count == 16 || text.utf8.count == 32, text.utf8.allSatisfy(IncomingTraceContext.isLowerHex) else {
            return nil
        }
        let hex = String(repeating: "0", count: 32 - text.utf8.count) + text
        guard let context = try? TraceContext(traceParentHeaderValue: "00-\(hex)-0000000000000001-00") else { return nil }
        return context.traceID
    }

    /// 16 lowercase hex digits, not all zero.
    static func spanID(_ text: Substring) -> SpanID? {
        guard text.utf8.count == 16, text.utf8.allSatisfy(IncomingTraceContext.isLowerHex) else { return nil }
        guard let context = try? TraceContext(traceParentHeaderValue: "00-00000000000000000000000000000001-\(text)-00") else {
            return nil
        }
        return context.spanID
    }
}

/// Validates W3C Baggage (https://www.w3.org/TR/baggage/): list-member 0*63( OWS ","
/// OWS list-member ), list-member = key OWS "=" OWS value *( OWS ";" OWS property ), key a
/// token, value baggage-octets or percent escapes, property `key` or `key=value`. Several
/// `baggage` fields are one list, joined in order. The whole list is dropped when any
/// member is malformed, or past the spec's limits (64 members, 8192 bytes): a partial
/// list member is never sent on.
public enum BaggageValidator {
    public static let maxMembers = 64
    public static let maxBytes = 8192

    /// The list re-joined with `,` (members trimmed), or nil when absent, empty or invalid.
    public static func validate(_ fields: [String]) -> String? {
        var members: [Substring] = []
        for field in fields {
            for rawMember in field.split(separator: ",", omittingEmptySubsequences: false) {
                let member = rawMember.trimmingOWS
                guard isValidMember(member) else { return nil }
                members.append(member)
                if members.count > maxMembers { return nil }
            }
        }
        guard !members.isEmpty else { return nil }
        let joined = members.joined(separator: ",")
        return joined.utf8.count <= maxBytes ? joined : nil
    }

    static func isValidMember(_ member: Substring) -> Bool {
        let parts = member.split(separator: ";", omittingEmptySubsequences: false)
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return false }
        guard isToken(first[..<equals].trimmingOWS), isValue(first[first.index(after: equals)...].trimmingOWS) else {
            return false
        }
        for property in parts.dropFirst() {
            if let equals = property.firstIndex(of: "=") {
                guard isToken(property[..<equals].trimmingOWS), isValue(property[property.index(after: equals)...].trimmingOWS) else {
                    return false
                }
            } else if !isToken(property.trimmingOWS) {
                return false
            }
        }
        return true
    }

    /// RFC 9110 token.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
            default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E; a `%` starts an
    /// escape of two hex digits.
    static func isValue(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return false }
                index += 3
                continue
            }
            switch byte {
            case 0x21, 0x23...0x2B, 0x2D...0x3A, 0x3C...0x5B, 0x5D...0x7E: index += 1
            default: return false
            }
        }
        return true
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }
}
