/// The explorer's filters, read from a URL query (`service=…&status=5xx&error=1`). The
/// list page keeps the same names in its own URL.
public struct TraceQuery: Sendable, Equatable {
    public var service: String?
    public var route: String?
    /// 2 for `2xx` … 5 for `5xx`: the entry span's response status class.
    public var statusClass: Int?
    public var errorOnly = false
    public var retriedOnly = false
    public var minDurationNanoseconds: UInt64?
    public var maxDurationNanoseconds: UInt64?
    /// `key=value`: some span (or its resource) has the attribute with that value text.
    public var attribute: (key: String, value: String)?
    /// A whole trace id or a prefix of it, lowercase hex.
    public var traceIDPrefix: String?
    /// The most summaries to return, newest first. Default 100, at most 2,000.
    public var limit = 100
    /// Answer "unchanged" when the store is still at this version.
    public var sinceVersion: UInt64?

    public static let maxLimit = 2_000

    public init() {}

    public static func == (left: TraceQuery, right: TraceQuery) -> Bool {
        left.service == right.service && left.route == right.route && left.statusClass == right.statusClass
            && left.errorOnly == right.errorOnly && left.retriedOnly == right.retriedOnly
            && left.minDurationNanoseconds == right.minDurationNanoseconds
            && left.maxDurationNanoseconds == right.maxDurationNanoseconds && left.attribute?.key == right.attribute?.key
            && left.attribute?.value == right.attribute?.value && left.traceIDPrefix == right.traceIDPrefix
            && left.limit == right.limit && left.sinceVersion == right.sinceVersion
    }

    /// Reads `name=value&…` (percent-encoded, `+` for space). Empty values mean "any".
    /// Throws a sentence naming the parameter for a value that cannot be right.
    public static func parse(_ query: String) throws(TraceQueryError) -> TraceQuery {
        var result = TraceQuery()
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if value.isEmpty { continue }
            switch name {
            case "service": result.service = value
            case "route": result.route = value
            case "status":
                let classes = ["2xx": 2, "3xx": 3, "4xx": 4, "5xx": 5]
                guard let statusClass = classes[value.lowercased()] else {
                    throw TraceQueryError("status must be 2xx, 3xx, 4xx or 5xx, not '\(value)'")
                }
                result.statusClass = statusClass
            case "error": result.errorOnly = try flag(name, value)
            case "retry": result.retriedOnly = try flag(name, value)
            case "min_ms": result.minDurationNanoseconds = try milliseconds(name, value)
            case "max_ms": result.maxDurationNanoseconds = try milliseconds(name, value)
            case "attr":
                guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                    throw TraceQueryError("attr must be key=value, like http.response.status_code=500")
                }
                result.attribute = (String(value[..<equals]), String(value[value.index(after: equals)...]))
            case "trace_id":
                let hex = value.lowercased()
                guard (4...32).contains(hex.utf8.count), hex.utf8.allSatisfy({ HexDigits.value($0) != nil }) else {
                    throw TraceQueryError("trace_id must be 4 to 32 hex digits, not '\(value)'")
                }
                result.traceIDPrefix = hex
            case "limit":
                guard let limit = Int(value), (1...maxLimit).contains(limit) else {
                    throw TraceQueryError("limit must be a number from 1 to \(maxLimit), not '\(value)'")
                }
                result.limit = limit
            case "since_version":
                guard let version = UInt64(value) else { throw TraceQueryError("since_version must be a whole number") }
                result.sinceVersion = version
            default:
                break  // unknown parameters are ignored, as a link from elsewhere may carry its own
            }
        }
        if let low = result.minDurationNanoseconds, let high = result.maxDurationNanoseconds, low > high {
            throw TraceQueryError("min_ms is above max_ms")
        }
        return result
    }

    /// True when `summary` (of `trace`) passes every filter but the attribute one.
    func matches(_ summary: TraceSummary) -> Bool {
        if let service, !summary.services.contains(service) { return false }
        if let route, summary.route != route { return false }
        if let statusClass, (summary.status ?? 0) / 100 != statusClass { return false }
        if errorOnly, !summary.error { return false }
        if retriedOnly, !summary.retried { return false }
        if let minDurationNanoseconds, summary.durationNanoseconds < minDurationNanoseconds { return false }
        if let maxDurationNanoseconds, summary.durationNanoseconds > maxDurationNanoseconds { return false }
        if let traceIDPrefix, !summary.traceID.description.hasPrefix(traceIDPrefix) { return false }
        return true
    }

    private static func flag(_ name: String, _ value: String) throws(TraceQueryError) -> Bool {
        switch value.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw TraceQueryError("\(name) must be 1 or 0, not '\(value)'")
        }
    }

    private static func milliseconds(_ name: String, _ value: String) throws(TraceQueryError) -> UInt64 {
        guard let number = Double(value), number.isFinite, number >= 0, number < 1e12 else {
            throw TraceQueryError("\(name) must be a number of milliseconds, not '\(value)'")
        }
        return UInt64(number * 1_000_000)
    }

    private static func decode(_ part: Substring) -> String {
        PercentDecoding.decode(String(part.map { $0 == "+" ? " " : $0 }))
    }
}

/// A filter value that cannot be right, said in one sentence (the explorer shows it).
public struct TraceQueryError: Error, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
