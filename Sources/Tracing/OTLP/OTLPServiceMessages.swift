/// The three OTLP signals a receiver is asked to take.
public enum OTLPSignal: String, Sendable, CaseIterable {
    case traces
    case metrics
    case logs

    /// The name of the partial-success count of this signal's service response.
    var rejectedName: (json: String, what: String) {
        switch self {
        case .traces: return ("rejectedSpans", "spans")
        case .metrics: return ("rejectedDataPoints", "data points")
        case .logs: return ("rejectedLogRecords", "log records")
        }
    }
}

/// How a request body is encoded (its `Content-Type`); answers use the same.
public enum OTLPEncoding: Sendable, Equatable {
    case protobuf
    case json

    public var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
}

/// The messages an OTLP/HTTP receiver answers with (opentelemetry-proto
/// `collector/*/v1/*_service.proto`, and `google.rpc.Status` for failures).
public enum OTLPServiceMessages {
    /// `Export{Trace,Metrics,Logs}ServiceResponse`: empty on full success (partial
    /// success unset, as the specification asks); otherwise `partial_success` with the
    /// count refused and why.
    public static func exportResponse(_ signal: OTLPSignal, rejected: Int, message: String, encoding: OTLPEncoding) -> [UInt8] {
        guard rejected > 0 || !message.isEmpty else { return encoding == .json ? Array("{}".utf8) : [] }
        switch encoding {
        case .json:
            var out = JSONOutput()
            out.append("{\"partialSuccess\":{\"\(signal.rejectedName.json)\":\"\(rejected)\",\"errorMessage\":")
            out.string(message)
            out.append("}}")
            return out.bytes
        case .protobuf:
            var writer = ProtobufWriter()
            // partial_success = 1 { rejected_* = 1 (int64), error_message = 2 }
            writer.messageField(1) { partial in
                if rejected > 0 { partial.int64Field(1, Int64(rejected)) }
                partial.stringField(2, message)
            }
            return writer.finish()
        }
    }

    /// `google.rpc.Status { code = 1, message = 2 }` with a gRPC code (3 invalid
    /// argument, 8 resource exhausted, 14 unavailable).
    public static func status(code: Int32, message: String, encoding: OTLPEncoding) -> [UInt8] {
        switch encoding {
        case .json:
            var out = JSONOutput()
            out.append("{\"code\":\(code),\"message\":")
            out.string(message)
            out.append("}")
            return out.bytes
        case .protobuf:
            var writer = ProtobufWriter()
            writer.int64Field(1, Int64(code))
            writer.stringField(2, message)
            return writer.finish()
        }
    }

    /// How many data points (metrics) or log records (logs) a request holds, so that a
    /// receiver keeping only traces can say how many it refused. Throws when the body
    /// is not such a request.
    public static func itemCount(_ signal: OTLPSignal, _ body: [UInt8], encoding: OTLPEncoding) throws(OTLPDecodingError) -> Int {
        // Field paths from the request down to the repeated items.
        let protobufPath: [[Int]]
        let jsonPath: [[String]]
        switch signal {
        // JSON names in lowerCamelCase and, as protobuf's JSON parsers also take, snake_case.
        case .traces:
            protobufPath = [[1], [2], [2]]
            jsonPath = [["resourceSpans", "resource_spans"], ["scopeSpans", "scope_spans"], ["spans"]]
        case .metrics:
            // Metric: gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11; each holds data_points = 1.
            protobufPath = [[1], [2], [2], [5, 7, 9, 10, 11], [1]]
            jsonPath = [
                ["resourceMetrics", "resource_metrics"], ["scopeMetrics", "scope_metrics"], ["metrics"],
                ["gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary"],
                ["dataPoints", "data_points"],
            ]
        case .logs:
            protobufPath = [[1], [2], [2]]
            jsonPath = [["resourceLogs", "resource_logs"], ["scopeLogs", "scope_logs"], ["logRecords", "log_records"]]
        }
        switch encoding {
        case .protobuf:
            return try count(body, 0..<body.count, protobufPath[...])
        case .json:
            let document: JSONValue
            do { document = try JSONParser.parse(body) } catch { throw OTLPDecodingError(path: "", reason: error.description) }
            return try count(document, jsonPath[...])
        }
    }

    private static func count(_ bytes: [UInt8], _ range: Range<Int>, _ path: ArraySlice<[Int]>) throws(OTLPDecodingError) -> Int {
        guard let fields = path.first else { return 1 }
        var reader = ProtobufReader(bytes, range: range)
        var total = 0
        while true {
            let next: (field: Int, value: ProtobufReader.Value)?
            do { next = try reader.next() } catch { throw OTLPDecodingError(path: "", reason: "not protobuf: \(error)") }
            guard let (field, value) = next else { return total }
            guard fields.contains(field) else { continue }
            guard case .bytes(let inner) = value else { throw OTLPDecodingError(path: "", reason: "field \(field) has the wrong wire type") }
            total += try count(bytes, inner, path.dropFirst())
        }
    }

    private static func count(_ value: JSONValue, _ path: ArraySlice<[String]>) throws(OTLPDecodingError) -> Int {
        guard let names = path.first else { return 1 }
        guard case .object(let members) = value else { throw OTLPDecodingError(path: "", reason: "expected an object") }
        var total = 0
        for (key, member) in members where names.contains(key) {
            switch member {
            case .array(let elements):
                for element in elements { total += try count(element, path.dropFirst()) }
            case .object:
                total += try count(member, path.dropFirst())
            case .null:
                break
            default:
                throw OTLPDecodingError(path: key, reason: "expected an array or an object")
            }
        }
        return total
    }
}
