import HTTP1
import ProxyCore
import Libevent
import Tracing
import W3CTraceContext

/// Why `tracing.keep` recorded a span the head decision left unsampled (`sampling.reason`).
enum SamplingReason: String {
    case error
    case slow
}

/// A span that describes itself to a `SpanWriter`: attributes, events and status as
/// `tracing.md` lists them.
protocol DescribedSpan {
    func write<Writer: SpanWriter>(to writer: inout Writer)
}

extension DescribedSpan {
    /// A `SpanRecord` (for the console and OTLP/JSON, and tests).
    func makeRecord() -> SpanRecord {
        var writer = SpanRecordWriter()
        write(to: &writer)
        return writer.records[0]
    }
}

/// A finished span of a request as the request path leaves it: ids, times, the status,
/// and the exchange it belongs to (its head and route, shared, not copied). It describes
/// itself straight away, into the worker's `SpanBatch`.
struct PendingSpan: DescribedSpan {
    enum Role {
        /// The request as received.
        case server
        /// One upstream attempt: its server and the times noted on it (moved out of the
        /// exchange as it ended).
        case client(UpstreamAttempt)
    }

    var role: Role
    var spanID: SpanID
    var parentSpanID: SpanID?
    var startNanoseconds: UInt64
    var endNanoseconds: UInt64
    /// The exchange's fixed facts: its trace, and its head and route, which are the span's
    /// name and most of its attributes. Not optional: an optional reference was copied
    /// through value witnesses at each `if let`.
    var exchange: Exchange
    var status: Int
    var error: ProxyError?
    var bytesIn: UInt64
    var bytesOut: UInt64
    /// The client's address and port (`Peer.spanAttributes`).
    var peerAttributes: EncodedAttributes
    /// What to capture, and the response head to capture from (SERVER spans only).
    var capture: HeaderCapture? = nil
    var response: CapturedResponse? = nil
    /// Why the tunnel ended, for a request answered with 101.
    var tunnelEnd: TunnelEnd? = nil
    /// `sampling.reason` (`error`, `slow`): recorded by `tracing.keep` though the head
    /// decision was "not sampled".
    var samplingReason: SamplingReason? = nil
    /// `http.request.header.{request id field}` (SERVER spans, with `request_id:` on).
    var requestIDField: RequestID.Field? = nil

    /// The span name: `{method} {route}`, the method alone without a route; made once per
    /// route for the usual methods (`CompiledRoute.spanNames`), per span for others.
    var name: String {
        let head = exchange.head
        if let known = SpanText.knownMethodIndex(head.methodKind) {
            return exchange.route?.spanNames[known] ?? SpanText.knownMethods[known].name
        }
        let method = head.methodString
        return exchange.route.map { "\(method) \($0.template)" } ?? method
    }

    func write<Writer: SpanWriter>(to writer: inout Writer) {
        switch role {
        case .server:
            writer.begin(identity(.server), name: name, traceState: exchange.trace.traceState)
            writeServer(to: &writer)
        case .client(let attempt):
            writer.begin(identity(.client), name: name, traceState: exchange.trace.traceState)
            writeClient(attempt, to: &writer)
        }
    }

    private func identity(_ kind: SpanRecord.Kind) -> SpanIdentity {
        SpanIdentity(
            traceID: exchange.trace.traceID, spanID: spanID, parentSpanID: parentSpanID, flags: exchange.trace.flags,
            kind: kind, startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds)
    }

    /// SERVER: error status for 5xx and the proxy's own aborts (an upstream cut
    /// mid-body); 4xx leaves it unset.
    private func writeServer<Writer: SpanWriter>(to writer: inout Writer) {
        Self.writeRequest(exchange.head, to: &writer)
        if let route = exchange.route { writer.attributes(route.spanAttributes) }
        writer.attributes(peerAttributes)
        writer.attribute("http.request.body.size", Int(bytesIn))
        writer.attribute("http.response.body.size", Int(bytesOut))
        if status > 0 { writer.attribute("http.response.status_code", status) }
        if let capture { Self.writeCaptured(capture, request: exchange.head, response: response?.head, to: &writer) }
        if let requestIDField {
            exchange.withRequestID { id in
                if requestIDField.isDefault {
                    writer.attribute("http.request.header.x-request-id", bytes: id)
                } else {
                    writer.attribute(named: requestIDField.attributeKey, bytes: id)
                }
            }
        }
        if let tunnelEnd { writer.attribute("hoptrace.tunnel.end_reason", tunnelEnd.rawValue) }
        var spanStatus = SpanRecord.Status.unset
        if let error, error.status >= 500 || error.kind == .upstreamBodyTruncated || error.kind == .upstreamReset {
            writer.attribute("error.type", error.kind.rawValue)
            spanStatus = .error(error.message)
        } else if status >= 500 {
            writer.attribute("error.type", String(status))
            spanStatus = .error("responded \(status)")
        } else if let error {
            writer.attribute("error.type", error.kind.rawValue)
        }
        if let samplingReason { writer.attribute("sampling.reason", samplingReason.rawValue) }
        if let ignored = exchange.trace.ignoredContext { writer.link(Self.link(to: ignored)) }
        writer.end(status: spanStatus)
    }

    /// Why a SERVER span links to a context (the only link the proxy makes).
    static let ignoredContextReason = [SpanAttribute.string("hoptrace.link.reason", "untrusted incoming context ignored")]

    /// A link to the context an untrusted peer sent, which `untrusted_context: ignore` set
    /// aside for a new trace.
    static func link(to ignored: IncomingTraceContext) -> SpanLink {
        SpanLink(
            traceID: ignored.traceID, spanID: ignored.parentSpanID, traceState: ignored.traceState,
            flags: ignored.flags, attributes: ignoredContextReason)
    }

    /// The CLIENT span's events, encoded once.
    private static let connectionReused = EncodedEvent(
        "connection established", attributes: [.bool("hoptrace.connection.reused", true)])
    private static let connectionEstablished = EncodedEvent("connection established")
    private static let firstResponseByte = EncodedEvent("first response byte")

    private static let rootTarget: [UInt8] = [UInt8(ascii: "/")]

    /// CLIENT: error status for connect failures, timeouts, resets and 5xx.
    private func writeClient<Writer: SpanWriter>(_ attempt: UpstreamAttempt, to writer: inout Writer) {
        exchange.head.bytes.withUnsafeBytes { bytes in
            writer.attribute("http.request.method", bytes: UnsafeRawBufferPointer(rebasing: bytes[exchange.head.method]))
        }
        writer.attributes(attempt.server.spanAttributes)
        let target: ArraySlice<UInt8>
        if let route = exchange.route {
            if let range = HeaderPolicy.upstreamTargetRange(exchange.head, route: route) {
                target = exchange.head.bytes[range]
            } else {
                target = HeaderPolicy.upstreamTarget(exchange.head, route: route)[...]
            }
        } else {
            target = Self.rootTarget[...]
        }
        if SpanText.needsRedaction(target: target) {
            writer.attribute("url.full", attempt.server.origin + SpanText.redacted(String(decoding: target, as: UTF8.self)))
        } else {
            writer.attribute("url.full", attempt.server.origin, utf8: target)
        }
        if status > 0 { writer.attribute("http.response.status_code", status) }
        if attempt.number > 1 { writer.attribute("http.request.resend_count", attempt.number - 1) }
        if let tunnelEnd { writer.attribute("hoptrace.tunnel.end_reason", tunnelEnd.rawValue) }
        var spanStatus = SpanRecord.Status.unset
        if let error, error.side == .upstream {
            writer.attribute("error.type", error.kind.rawValue)
            spanStatus = .error(error.message)
        } else if status >= 500 {
            writer.attribute("error.type", String(status))
            spanStatus = .error("upstream answered \(status)")
        }
        if let samplingReason { writer.attribute("sampling.reason", samplingReason.rawValue) }
        if attempt.reused {
            writer.event(Self.connectionReused, timeNanoseconds: startNanoseconds)
        } else if let connected = attempt.connectedNanoseconds {
            writer.event(Self.connectionEstablished, timeNanoseconds: connected)
        }
        if let firstByte = attempt.firstByteNanoseconds {
            writer.event(Self.firstResponseByte, timeNanoseconds: firstByte)
        }
        writer.end(status: spanStatus)
    }

    /// The SERVER span's attributes from the request head (borrowed, not copied).
    private static func writeRequest<Writer: SpanWriter>(_ head: RequestHead, to writer: inout Writer) {
        // The head's bytes in place, for every attribute taken from them.
        head.bytes.withUnsafeBytes { bytes in
            writer.attribute("http.request.method", bytes: UnsafeRawBufferPointer(rebasing: bytes[head.method]))
            if head.path.isEmpty {
                writer.attribute("url.path", "/")
            } else {
                writer.attribute("url.path", bytes: UnsafeRawBufferPointer(rebasing: bytes[head.path]))
            }
            if let query = head.query {
                if SpanText.needsRedaction(query: head.bytes[query]) {
                    writer.attribute("url.query", SpanText.redactedQuery(head.string(query)))
                } else {
                    writer.attribute("url.query", bytes: UnsafeRawBufferPointer(rebasing: bytes[query]))
                }
            }
            writer.attributes(SpanText.protocolAttributes(head.version))
            if let host = head.host {
                let authority = UnsafeRawBufferPointer(rebasing: bytes[host])
                if let split = Authority(splitting: authority) {
                    writer.attribute("server.address", bytes: UnsafeRawBufferPointer(rebasing: authority[split.hostname]))
                    if let port = split.port(in: authority) { writer.attribute("server.port", port) }
                } else {
                    writer.attribute("server.address", bytes: authority)
                }
            }
            for field in head.fields where field.kind == .userAgent {
                writer.attribute("user_agent.original", bytes: UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                break
            }
        }
    }

    /// `http.request.header.*` and `http.response.header.*`: each named field's values
    /// joined with `, `.
    private static func writeCaptured<Writer: SpanWriter>(
        _ capture: HeaderCapture, request: borrowing RequestHead, response: ResponseHead?, to writer: inout Writer
    ) {
        for name in capture.request {
            let values = request.fields.filter { request.string($0.name).lowercased() == name }.map { request.string($0.value) }
            if !values.isEmpty { writer.attribute("http.request.header.\(name)", .string(values.joined(separator: ", "))) }
        }
        guard let response else { return }
        for name in capture.response {
            let values = response.fields.filter { response.string($0.name).lowercased() == name }.map { response.string($0.value) }
            if !values.isEmpty { writer.attribute("http.response.header.\(name)", .string(values.joined(separator: ", "))) }
        }
    }
}

/// The SERVER span of a request rejected before its head could be parsed (400, 408,
/// 431 …): a new trace, named `HTTP`.
struct RejectionSpan: DescribedSpan {
    var traceID: TraceID
    var spanID: SpanID
    var flags: TraceFlags
    var timeNanoseconds: UInt64
    var error: ProxyError
    var peerAttributes: EncodedAttributes
    var samplingReason: SamplingReason? = nil

    func write<Writer: SpanWriter>(to writer: inout Writer) {
        writer.begin(
            SpanIdentity(
                traceID: traceID, spanID: spanID, parentSpanID: nil, flags: flags, kind: .server,
                startNanoseconds: timeNanoseconds, endNanoseconds: timeNanoseconds),
            name: "HTTP", traceState: nil)
        writer.attributes(peerAttributes)
        writer.attribute("http.response.status_code", error.status)
        writer.attribute("error.type", error.kind.rawValue)
        if let samplingReason { writer.attribute("sampling.reason", samplingReason.rawValue) }
        writer.end(status: .unset)
    }
}

/// A client's address, formatted once per connection (not per span).
struct Peer: Sendable {
    var host: String
    var port: Int

    init(_ address: SocketAddress) {
        host = address.host
        port = address.port
    }

    /// `client.address`, `network.peer.address` and `network.peer.port`, encoded (made
    /// once per connection, and only by one that has a span to record: an idle
    /// connection's memory counts).
    var spanAttributes: EncodedAttributes {
        EncodedAttributes([
            .string("client.address", host), .string("network.peer.address", host), .int("network.peer.port", port),
        ])
    }
}

/// A client's IP address as a connection keeps it: 17 bytes, where a `SocketAddress` takes
/// 132 (an idle connection's memory counts).
struct PeerIP: Sendable {
    private var high: UInt64 = 0
    private var low: UInt64 = 0
    private var length: UInt8

    init(_ address: SocketAddress) {
        let bytes = address.ipBytes
        length = UInt8(bytes.count)
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high |= UInt64(byte) << (56 - 8 * index) } else { low |= UInt64(byte) << (56 - 8 * (index - 8)) }
        }
    }

    /// 4 or 16 bytes, network order.
    var bytes: [UInt8] {
        (0..<Int(length)).map { index in
            UInt8(truncatingIfNeeded: (index < 8 ? high >> (56 - 8 * index) : low >> (56 - 8 * (index - 8))))
        }
    }
}

/// Text helpers for span names and attributes.
enum SpanText {
    /// The methods whose span names are made once per route.
    static let knownMethods: [(method: HTTPMethod, name: String)] = [
        (.get, "GET"), (.head, "HEAD"), (.post, "POST"), (.put, "PUT"), (.delete, "DELETE"),
        (.options, "OPTIONS"), (.trace, "TRACE"), (.patch, "PATCH"), (.connect, "CONNECT"),
    ]

    /// `method`'s place in `knownMethods`; nil for another method.
    static func knownMethodIndex(_ method: HTTPMethod) -> Int? {
        switch method {
        case .get: 0
        case .head: 1
        case .post: 2
        case .put: 3
        case .delete: 4
        case .options: 5
        case .trace: 6
        case .patch: 7
        case .connect: 8
        case .other: nil
        }
    }

    /// Query values that carry credentials or signatures are replaced by `REDACTED`
    /// (semantic conventions, `url.query`).
    static let sensitiveQueryKeys: Set<String> = [
        "awsaccesskeyid", "signature", "sig", "x-goog-signature", "x-amz-signature", "x-amz-credential",
        "x-amz-security-token", "token", "access_token", "api_key", "apikey", "password", "secret", "code",
    ]

    static func redactedQuery(_ query: String) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let key = pair[..<equals]
            return sensitiveQueryKeys.contains(key.lowercased()) ? "\(key)=REDACTED" : String(pair)
        }.joined(separator: "&")
    }

    static func redacted(_ target: String) -> String {
        guard let mark = target.firstIndex(of: "?") else { return target }
        return String(target[..<mark]) + "?" + redactedQuery(String(target[target.index(after: mark)...]))
    }

    /// `network.protocol.version` and `url.scheme`, encoded once for the versions the
    /// proxy takes.
    static func protocolAttributes(_ version: HTTPVersion) -> EncodedAttributes {
        switch version {
        case .http11: http11Attributes
        case .http10: http10Attributes
        default: EncodedAttributes([.string("network.protocol.version", version.description), .string("url.scheme", "http")])
        }
    }

    private static let http11Attributes = EncodedAttributes([
        .string("network.protocol.version", "1.1"), .string("url.scheme", "http"),
    ])
    private static let http10Attributes = EncodedAttributes([
        .string("network.protocol.version", "1.0"), .string("url.scheme", "http"),
    ])


    /// True when a target's query has a key whose value `redactedQuery` replaces.
    static func needsRedaction(target: ArraySlice<UInt8>) -> Bool {
        guard let mark = target.firstIndex(of: UInt8(ascii: "?")) else { return false }
        return needsRedaction(query: target[(mark + 1)...])
    }

    static func needsRedaction(query: ArraySlice<UInt8>) -> Bool {
        query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false).contains { pair in
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return false }
            return sensitiveQueryKeys.contains(String(decoding: pair[..<equals], as: UTF8.self).lowercased())
        }
    }
}

/// A response head kept for header capture: a reference, so that a span (moved twice on
/// its way to the exporter) stays small when it captures nothing, as most do.
final class CapturedResponse: Sendable {
    let head: ResponseHead

    init(_ head: ResponseHead) {
        self.head = head
    }
}
