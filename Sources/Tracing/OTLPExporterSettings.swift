import HTTP1

/// The OTLP/HTTP exporter's settings, from the standard variables (OpenTelemetry
/// specification, "OTLP Exporter Configuration"); the per-signal `_TRACES_` variants win.
public struct OTLPExporterSettings: Sendable, Equatable {
    public var useTLS: Bool
    public var host: String
    public var port: Int
    public var path: String
    public var headers: [(String, String)]
    public var json: Bool
    public var gzip: Bool
    public var timeoutMilliseconds: Int
    public var maxQueueSize: Int
    public var maxExportBatchSize: Int
    public var scheduleDelayMilliseconds: Int
    /// Exports in flight at once, each on its own connection (`tracing.max_concurrent_exports`).
    public var maxConcurrentExports = 16
    /// One export's body at most, before gzip, when batches grow past the batch size.
    public var maxExportBytes = 4 * 1024 * 1024

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.useTLS == rhs.useTLS && lhs.host == rhs.host && lhs.port == rhs.port && lhs.path == rhs.path
            && lhs.headers.map { "\($0.0)=\($0.1)" } == rhs.headers.map { "\($0.0)=\($0.1)" } && lhs.json == rhs.json
            && lhs.gzip == rhs.gzip && lhs.timeoutMilliseconds == rhs.timeoutMilliseconds
            && lhs.maxQueueSize == rhs.maxQueueSize && lhs.maxExportBatchSize == rhs.maxExportBatchSize
            && lhs.scheduleDelayMilliseconds == rhs.scheduleDelayMilliseconds
            && lhs.maxConcurrentExports == rhs.maxConcurrentExports && lhs.maxExportBytes == rhs.maxExportBytes
    }

    /// `url` is the full traces URL (`TracingSettings` resolved it). Returns nil with a
    /// problem when the URL cannot be used; other bad values are reported and defaulted.
    public static func fromEnvironment(url: String, _ environment: [String: String]) -> (settings: OTLPExporterSettings?, problems: [String]) {
        var problems: [String] = []
        func value(_ name: String) -> (name: String, value: String)? {
            for key in ["OTEL_EXPORTER_OTLP_TRACES_\(name)", "OTEL_EXPORTER_OTLP_\(name)"] {
                if let text = environment[key], !text.isEmpty { return (key, text.trimmingCharacters(in: " \t")) }
            }
            return nil
        }
        func integer(_ key: String, _ fallback: Int, minimum: Int) -> Int {
            guard let text = environment[key], !text.isEmpty else { return fallback }
            guard let number = Int(text.trimmingCharacters(in: " \t")), number >= minimum else {
                problems.append("\(key)='\(text)' is not a whole number of at least \(minimum); using \(fallback)")
                return fallback
            }
            return number
        }

        guard let parsed = URLParts(url) else {
            problems.append("OTEL_EXPORTER_OTLP_ENDPOINT '\(url)' is not an http:// or https:// URL; spans are kept in memory instead")
            return (nil, problems)
        }
        var headers: [(String, String)] = []
        if let (key, list) = value("HEADERS") {
            for pair in list.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !String(parts[0]).trimmingCharacters(in: " \t").isEmpty else {
                    problems.append("\(key) has a malformed entry (expected key=value); it is ignored")
                    continue
                }
                let name = PercentDecoding.decode(String(parts[0]).trimmingCharacters(in: " \t"))
                let headerValue = PercentDecoding.decode(String(parts[1]).trimmingCharacters(in: " \t"))
                guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }),
                    headerValue.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
                else {
                    problems.append("\(key) has an entry that is not a valid HTTP header; it is ignored")
                    continue
                }
                headers.append((name, headerValue))
            }
        }
        var json = false
        if let (key, text) = value("PROTOCOL") {
            switch text {
            case "http/protobuf": json = false
            case "http/json": json = true
            default: problems.append("\(key)='\(text)' is not supported (http/protobuf or http/json); using http/protobuf")
            }
        }
        var gzip = false
        if let (key, text) = value("COMPRESSION") {
            switch text {
            case "gzip": gzip = true
            case "none": gzip = false
            default: problems.append("\(key)='\(text)' is not gzip or none; using none")
            }
        }
        var timeout = 10_000
        if let (key, text) = value("TIMEOUT") {
            if let number = Int(text), number > 0 { timeout = number } else {
                problems.append("\(key)='\(text)' is not a positive number of milliseconds; using 10000")
            }
        }
        let queue = integer("OTEL_BSP_MAX_QUEUE_SIZE", 2048, minimum: 1)
        var batch = integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, minimum: 1)
        if batch > queue {
            problems.append("OTEL_BSP_MAX_EXPORT_BATCH_SIZE is larger than OTEL_BSP_MAX_QUEUE_SIZE; using \(queue)")
            batch = queue
        }
        let delay = integer("OTEL_BSP_SCHEDULE_DELAY", 5000, minimum: 1)
        return (OTLPExporterSettings(
            useTLS: parsed.useTLS, host: parsed.host, port: parsed.port, path: parsed.path, headers: headers,
            json: json, gzip: gzip, timeoutMilliseconds: timeout, maxQueueSize: queue, maxExportBatchSize: batch,
            scheduleDelayMilliseconds: delay), problems)
    }
}

/// `http(s)://host[:port][/path]`, without Foundation.
struct URLParts {
    var useTLS: Bool
    var host: String
    var port: Int
    var path: String

    init?(_ url: String) {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            useTLS = true
            rest = url.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            useTLS = false
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@"), let split = Authority(splitting: authority.utf8) else { return nil }
        host = String(authority[split.hostname])
        if split.portText == nil {
            port = useTLS ? 443 : 80
        } else {
            guard let number = split.port(in: authority.utf8), number > 0 else { return nil }
            port = number
        }
        guard !host.isEmpty else { return nil }
    }
}
