import W3CTraceContext

/// Decides whether a trace is recorded, before any span exists
/// (`OTEL_TRACES_SAMPLER`, OpenTelemetry SDK specification).
public enum Sampler: Sendable, Equatable {
    case alwaysOn
    case alwaysOff
    /// Samples a fixed fraction of trace ids, the same decision for the same id everywhere.
    case traceIDRatio(Double)
    /// Follows a sampled parent's decision; `root` decides for traces that start here.
    indirect case parentBased(root: Sampler)

    /// The SDK default.
    public static let `default` = Sampler.parentBased(root: .alwaysOn)

    /// - Parameter parentSampled: the trusted parent's sampled flag, or nil when this
    ///   proxy starts the trace (or does not trust the parent's flag).
    public func shouldSample(traceID: TraceID, parentSampled: Bool?) -> Bool {
        switch self {
        case .alwaysOn:
            return true
        case .alwaysOff:
            return false
        case .traceIDRatio(let ratio):
            return Self.ratioAccepts(traceID, ratio)
        case .parentBased(let root):
            if let parentSampled { return parentSampled }
            return root.shouldSample(traceID: traceID, parentSampled: nil)
        }
    }

    /// Compares the trace id's last 8 bytes, as an unsigned number, to `ratio` of the
    /// range, so every service using the same rule agrees on the same trace.
    static func ratioAccepts(_ traceID: TraceID, _ ratio: Double) -> Bool {
        if ratio >= 1 { return true }
        if ratio <= 0 { return false }
        let bytes = traceID.hexBytes
        var low: UInt64 = 0
        // hexBytes are the 32 lowercase hex digits; the last 16 are the low 8 bytes.
        for digit in bytes[16..<32] {
            let value = digit <= 0x39 ? digit - 0x30 : digit - 0x61 + 10
            low = low << 4 | UInt64(value)
        }
        let bound = UInt64(ratio * 18_446_744_073_709_551_615.0)
        return low < bound
    }

    /// Reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. An unknown sampler or a
    /// bad argument is reported (with the variable's name) and the default used.
    public static func fromEnvironment(_ environment: [String: String]) -> (sampler: Sampler, problems: [String]) {
        var problems: [String] = []
        let name = environment["OTEL_TRACES_SAMPLER"]?.trimmingCharacters(in: " \t").lowercased() ?? ""
        var ratio = 1.0
        if let argument = environment["OTEL_TRACES_SAMPLER_ARG"], name.hasSuffix("traceidratio") {
            if let value = Double(argument.trimmingCharacters(in: " \t")), value >= 0, value <= 1 {
                ratio = value
            } else {
                problems.append("OTEL_TRACES_SAMPLER_ARG='\(argument)' is not a ratio from 0 to 1; using 1.0")
            }
        }
        switch name {
        case "": return (.default, problems)
        case "always_on": return (.alwaysOn, problems)
        case "always_off": return (.alwaysOff, problems)
        case "traceidratio": return (.traceIDRatio(ratio), problems)
        case "parentbased_always_on": return (.parentBased(root: .alwaysOn), problems)
        case "parentbased_always_off": return (.parentBased(root: .alwaysOff), problems)
        case "parentbased_traceidratio": return (.parentBased(root: .traceIDRatio(ratio)), problems)
        default:
            problems.append("OTEL_TRACES_SAMPLER='\(environment["OTEL_TRACES_SAMPLER"] ?? "")' is not a known sampler; using parentbased_always_on")
            return (.default, problems)
        }
    }
}

extension String {
    /// `self` without the leading and trailing characters listed (no Foundation).
    package func trimmingCharacters(in characters: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, characters.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, characters.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
