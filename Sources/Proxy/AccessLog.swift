#if canImport(Glibc)
import Glibc
#endif
import Config
import Tracing

/// One line per request, text or JSON, written with a single `write(2)` so lines from
/// several workers never interleave. Thread-safe: it holds only a descriptor.
public final class AccessLog: Sendable {
    public struct Record {
        var startWallNanoseconds: Int64
        var client: String
        var method: String
        var target: String
        var version: String
        var status: Int
        var bytesIn: UInt64
        var bytesOut: UInt64
        var durationMicroseconds: Int64
        var route: String?
        var upstream: String?
        var error: String?
        var requestID: String?
        var traceID: String
        var spanID: String
    }

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let format: ProxyConfiguration.AccessLogFormat

    /// nil when logging is off. Throws a readable message when a file cannot be opened.
    public static func open(_ target: ProxyConfiguration.AccessLogTarget, format: ProxyConfiguration.AccessLogFormat) throws(ConfigProblems) -> AccessLog? {
        switch target {
        case .off:
            return nil
        case .stdout:
            return AccessLog(descriptor: 1, owns: false, format: format)
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw ConfigProblems([ConfigProblem(key: "access_log", line: nil, message: "cannot open '\(path)': \(String(cString: strerror(errno)))")])
            }
            return AccessLog(descriptor: fd, owns: true, format: format)
        }
    }

    private init(descriptor: Int32, owns: Bool, format: ProxyConfiguration.AccessLogFormat) {
        self.descriptor = descriptor
        self.ownsDescriptor = owns
        self.format = format
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    func write(_ record: Record) {
        var line = format == .json ? Self.json(record) : Self.text(record)
        line.append("\n")
        var utf8 = Array(line.utf8)
        var offset = 0
        while offset < utf8.count {
            let written = utf8.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
        utf8.removeAll()
    }

    static func text(_ record: Record) -> String {
        let duration = Double(record.durationMicroseconds) / 1000
        var line = "\(Timestamp.iso8601(nanoseconds: record.startWallNanoseconds)) \(record.client) \"\(record.method) \(sanitized(record.target)) HTTP/\(record.version)\" \(record.status) \(record.bytesIn) \(record.bytesOut) \(formatMilliseconds(duration))ms"
        line += " route=\(record.route ?? "-") upstream=\(record.upstream ?? "-")"
        if let error = record.error { line += " error=\(error)" }
        if let requestID = record.requestID { line += " request_id=\(sanitized(requestID))" }
        line += " trace_id=\(record.traceID) span_id=\(record.spanID)"
        return line
    }

    static func json(_ record: Record) -> String {
        var fields: [String] = [
            "\"time\":\"\(Timestamp.iso8601(nanoseconds: record.startWallNanoseconds))\"",
            "\"client\":\(quoted(record.client))",
            "\"method\":\(quoted(record.method))",
            "\"target\":\(quoted(record.target))",
            "\"protocol\":\"HTTP/\(record.version)\"",
            "\"status\":\(record.status)",
            "\"bytes_in\":\(record.bytesIn)",
            "\"bytes_out\":\(record.bytesOut)",
            "\"duration_ms\":\(formatMilliseconds(Double(record.durationMicroseconds) / 1000))",
            "\"route\":\(record.route.map(quoted) ?? "null")",
            "\"upstream\":\(record.upstream.map(quoted) ?? "null")",
        ]
        if let error = record.error { fields.append("\"error\":\(quoted(error))") }
        if let requestID = record.requestID { fields.append("\"request_id\":\(quoted(requestID))") }
        fields.append("\"trace_id\":\"\(record.traceID)\"")
        fields.append("\"span_id\":\"\(record.spanID)\"")
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func formatMilliseconds(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = thousandths % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(thousandths / 1000).\(padded)"
    }

    /// Control characters and quotes escaped, so a target cannot forge log lines.
    private static func sanitized(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" || scalar == "\\" {
                result += "\\x" + String(scalar.value, radix: 16)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
