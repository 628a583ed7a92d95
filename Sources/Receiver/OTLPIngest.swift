import Libevent
import LocalServer
import Tracing

/// What the OTLP/HTTP receiver answers, as the OpenTelemetry protocol specification
/// says (OTLP/HTTP: request, response, failures), and what it does with accepted spans.
/// No sockets: a request in, a response and the spans to keep out, so every rule is
/// tested as a plain function.
public struct OTLPIngest: Sendable {
    public struct Settings: Sendable, Equatable {
        /// The largest body, as sent and again after gunzip. Default 16 MiB.
        public var maxBodyBytes = 16 * 1024 * 1024
        /// Send accepted requests on to the configured OTLP exporter too.
        public var forward = false

        public init(maxBodyBytes: Int = 16 * 1024 * 1024, forward: Bool = false) {
            self.maxBodyBytes = maxBodyBytes
            self.forward = forward
        }
    }

    /// What came of a request.
    public struct Outcome: Sendable {
        public var response: LocalResponse
        /// The spans read (those kept and those refused, by reason); nil when the
        /// body was not read as spans.
        public var spans: ReceivedSpans?
    }

    public static let paths: [String: OTLPSignal] = ["/v1/traces": .traces, "/v1/metrics": .metrics, "/v1/logs": .logs]

    public var settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Checks what the head says, before a body is read: path, method, content type,
    /// content coding. Nil when the body should be read.
    public func check(_ request: LocalRequest) -> LocalResponse? {
        guard Self.paths[request.path] != nil else {
            return .text(404, "hoptrace's OTLP receiver takes POST /v1/traces (and answers /v1/metrics and /v1/logs), not \(request.path)")
        }
        guard request.head.methodKind == .post else {
            return .text(405, "\(request.path) takes POST only", headers: [.init("Allow", "POST")])
        }
        guard Self.encoding(request) != nil else {
            let given = request.header("content-type") ?? "none"
            return .text(415, "Content-Type must be application/x-protobuf or application/json, not \(given)")
        }
        if let coding = request.header("content-encoding"), !Self.supportedCodings.contains(coding.lowercased().trimmingCharacters(in: " \t")) {
            return .text(415, "Content-Encoding \(coding) is not supported: send gzip or none")
        }
        return nil
    }

    /// Answers a whole request.
    public func handle(_ request: LocalRequest) -> Outcome {
        if let refused = check(request) { return Outcome(response: refused) }
        let signal = Self.paths[request.path]!
        let encoding = Self.encoding(request)!
        var body = request.body
        if request.header("content-encoding")?.lowercased().trimmingCharacters(in: " \t") == "gzip" {
            switch Gzip.decompress(body, limit: settings.maxBodyBytes) {
            case .success(let plain): body = plain
            case .failure(.tooLarge(let limit)):
                return Outcome(response: Self.failure(413, code: 8, "the body is larger than \(limit) bytes once decompressed", encoding))
            case .failure(.malformed):
                return Outcome(response: Self.failure(400, code: 3, "the body is not valid gzip", encoding))
            }
        }
        switch signal {
        case .traces:
            return traces(body, encoding)
        case .metrics, .logs:
            // SDKs export every signal by default: a partial success tells them, without
            // an error or a retry, that these were not kept.
            let count: Int
            do throws(OTLPDecodingError) {
                count = try OTLPServiceMessages.itemCount(signal, body, encoding: encoding)
            } catch {
                return Outcome(response: Self.failure(400, code: 3, "the body is not an OTLP \(signal.rawValue) request: \(error)", encoding))
            }
            let message = "hoptrace keeps traces only: \(signal.rawValue) are not stored (set OTEL_\(signal.rawValue.uppercased())_EXPORTER=none in this service to stop sending them)"
            let body = OTLPServiceMessages.exportResponse(signal, rejected: count, message: message, encoding: encoding)
            return Outcome(response: LocalResponse(status: 200, contentType: encoding.contentType, body: body))
        }
    }

    private func traces(_ body: [UInt8], _ encoding: OTLPEncoding) -> Outcome {
        let received: ReceivedSpans
        do throws(OTLPDecodingError) {
            received = encoding == .json ? try ReceivedSpans.read(json: body) : try ReceivedSpans.read(protobuf: body)
        } catch {
            return Outcome(response: Self.failure(400, code: 3, "the body is not an OTLP ExportTraceServiceRequest: \(error)", encoding))
        }
        return Outcome(response: Self.accepted(rejected: received.rejected, encoding), spans: received)
    }

    /// 200 with `partial_success` naming every reason spans were refused, or empty.
    public static func accepted(rejected: [SpanRejection: Int], _ encoding: OTLPEncoding) -> LocalResponse {
        let count = rejected.values.reduce(0, +)
        let message = SpanRejection.allCases.compactMap { reason in
            rejected[reason].map { "\($0) \($0 == 1 ? "span" : "spans"): \(reason.rawValue)" }
        }.joined(separator: "; ")
        let body = OTLPServiceMessages.exportResponse(.traces, rejected: count, message: message, encoding: encoding)
        return LocalResponse(status: 200, contentType: encoding.contentType, body: body)
    }

    /// A failure answer: `google.rpc.Status` in the request's encoding.
    public static func failure(_ status: Int, code: Int32, _ message: String, _ encoding: OTLPEncoding, headers: [LocalResponse.Header] = []) -> LocalResponse {
        LocalResponse(status: status, contentType: encoding.contentType,
                      body: OTLPServiceMessages.status(code: code, message: message, encoding: encoding), headers: headers)
    }

    static let supportedCodings: Set<String> = ["gzip", "identity"]

    /// The body's encoding from its `Content-Type` (parameters ignored).
    static func encoding(_ request: LocalRequest) -> OTLPEncoding? {
        guard let type = request.header("content-type") else { return nil }
        let media = type.split(separator: ";", maxSplits: 1).first.map { String($0).lowercased().trimmingCharacters(in: " \t") } ?? ""
        switch media {
        case "application/x-protobuf", "application/protobuf": return .protobuf
        case "application/json": return .json
        default: return nil
        }
    }
}
