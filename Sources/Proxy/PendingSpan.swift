import HTTP1
import ProxyCore
import Libevent
import Tracing
import W3CTraceContext

/// A finished span as the request path leaves it: ids, times and references to what the
/// request already holds (its head bytes, the route, the error). Copying one is a few
/// struct writes and retains; the attribute strings are built later, on the span
/// pipeline's thread (`makeRecord`).
struct PendingSpan: Sendable {
    enum Role: Sendable {
        /// The request as received.
        case server
        /// One upstream attempt.
        case client(ClientDetails)
        /// A request rejected before its head could be parsed.
        case rejection
    }

    struct ClientDetails: Sendable {
        var server: UpstreamServer
        /// The route, for the request target sent upstream (`url.full`), worked out on
        /// the span pipeline's thread; or the target itself.
        var route: CompiledRoute?
        var upstreamTarget: [UInt8]? = nil
        var resendCount: Int
        var reused: Bool
        var connectedNanoseconds: UInt64?
        var firstByteNanoseconds: UInt64?
    }

    var role: Role
    var traceID: TraceID
    var spanID: SpanID
    var parentSpanID: SpanID?
    var traceState: String?
    var flags: TraceFlags
    var startNanoseconds: UInt64
    var endNanoseconds: UInt64
    var head: RequestHead?
    var routeTemplate: String?
    var status: Int
    var error: ProxyError?
    var bytesIn: UInt64
    var bytesOut: UInt64
    /// The client's address and port, as text made once per connection.
    var peer: Peer
    /// What to capture, and the response head to capture from (SERVER spans only).
    var capture: HeaderCapture? = nil
    var response: CapturedResponse? = nil
    /// Why the tunnel ended, for a request answered with 101.
    var tunnelEnd: TunnelEnd? = nil

    /// The span name: `{method} {route}`, the method alone without a route, `HTTP` when
    /// the method is unknown. In parts: the writer joins them (no `String` per span).
    var name: SpanName {
        guard let head else { return "HTTP" }
        // The route bound first: a case made from the optional itself had it copied
        // through its value witnesses, for every span.
        guard let routeTemplate else { return .method(head.bytes[head.method], route: nil) }
        return .method(head.bytes[head.method], route: routeTemplate)
    }

    /// A `SpanRecord` (for the in-memory store, the console and OTLP/JSON).
    func makeRecord() -> SpanRecord {
        var writer = SpanRecordWriter()
        write(to: &writer)
        return writer.records[0]
    }

    /// Describes the span to `writer`: attributes, events and status as
    /// `tracing.md` lists them.
    func write<Writer: SpanWriter>(to writer: inout Writer) {
        switch role {
        case .server:
            writer.begin(identity(.server), name: name, traceState: traceState)
            writeServer(to: &writer)
        case .client(let details):
            writer.begin(identity(.client), name: name, traceState: traceState)
            writeClient(details, to: &writer)
        case .rejection:
            writer.begin(identity(.server), name: name, traceState: traceState)
            writeRejection(to: &writer)
        }
    }

    private func identity(_ kind: SpanRecord.Kind) -> SpanIdentity {
        SpanIdentity(
            traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, flags: flags, kind: kind,
            startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds)
    }

    /// SERVER: error status for 5xx and the proxy's own aborts (an upstream cut
    /// mid-body); 4xx leaves it unset.
    private func writeServer<Writer: SpanWriter>(to writer: inout Writer) {
        if let head {
            writer.attribute("http.request.method", utf8: head.bytes[head.method])
            if head.path.isEmpty { writer.attribute("url.path", "/") } else { writer.attribute("url.path", utf8: head.bytes[head.path]) }
            if let query = head.query {
                if SpanText.needsRedaction(query: head.bytes[query]) {
                    writer.attribute("url.query", SpanText.redactedQuery(head.string(query)))
                } else {
                    writer.attribute("url.query", utf8: head.bytes[query])
                }
            }
            writer.attribute("network.protocol.version", SpanText.protocolVersion(head.version))
            if let host = head.host {
                let authority = head.bytes[host]
                writer.attribute("server.address", utf8: SpanText.hostPart(authority))
                if let port = SpanText.portPart(authority) { writer.attribute("server.port", port) }
            }
            if let agent = head.fields.first(where: { $0.kind == .userAgent }) {
                writer.attribute("user_agent.original", utf8: head.bytes[agent.value])
            }
        }
        writer.attribute("url.scheme", "http")
        if let routeTemplate { writer.attribute("http.route", routeTemplate) }
        writer.attribute("client.address", peer.host)
        writer.attribute("network.peer.address", peer.host)
        writer.attribute("network.peer.port", peer.port)
        writer.attribute("http.request.body.size", Int(bytesIn))
        writer.attribute("http.response.body.size", Int(bytesOut))
        if status > 0 { writer.attribute("http.response.status_code", status) }
        if let capture, let head {
            for name in capture.request {
                let values = head.fields.filter { head.string($0.name).lowercased() == name }.map { head.string($0.value) }
                if !values.isEmpty { writer.attribute("http.request.header.\(name)", .string(values.joined(separator: ", "))) }
            }
        }
        if let capture, let response = response?.head {
            for name in capture.response {
                let values = response.fields.filter { response.string($0.name).lowercased() == name }.map { response.string($0.value) }
                if !values.isEmpty { writer.attribute("http.response.header.\(name)", .string(values.joined(separator: ", "))) }
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
        writer.end(status: spanStatus)
    }

    /// The event a reused connection gets (a constant: no array per span).
    private static let reusedAttributes: [SpanAttribute] = [.bool("hoptrace.connection.reused", true)]

    private static let rootTarget: [UInt8] = [UInt8(ascii: "/")]

    /// CLIENT: error status for connect failures, timeouts, resets and 5xx.
    private func writeClient<Writer: SpanWriter>(_ details: ClientDetails, to writer: inout Writer) {
        if let head { writer.attribute("http.request.method", utf8: head.bytes[head.method]) }
        writer.attributes(details.server.spanAttributes)
        let target: ArraySlice<UInt8>
        if let upstreamTarget = details.upstreamTarget {
            target = upstreamTarget[...]
        } else if let route = details.route, let head {
            if let range = HeaderPolicy.upstreamTargetRange(head, route: route) {
                target = head.bytes[range]
            } else {
                target = HeaderPolicy.upstreamTarget(head, route: route)[...]
            }
        } else {
            target = Self.rootTarget[...]
        }
        if SpanText.needsRedaction(target: target) {
            writer.attribute("url.full", details.server.origin + SpanText.redacted(String(decoding: target, as: UTF8.self)))
        } else {
            writer.attribute("url.full", details.server.origin, utf8: target)
        }
        if status > 0 { writer.attribute("http.response.status_code", status) }
        if details.resendCount > 0 { writer.attribute("http.request.resend_count", details.resendCount) }
        if let tunnelEnd { writer.attribute("hoptrace.tunnel.end_reason", tunnelEnd.rawValue) }
        var spanStatus = SpanRecord.Status.unset
        if let error, error.side == .upstream {
            writer.attribute("error.type", error.kind.rawValue)
            spanStatus = .error(error.message)
        } else if status >= 500 {
            writer.attribute("error.type", String(status))
            spanStatus = .error("upstream answered \(status)")
        }
        if details.reused {
            writer.event("connection established", timeNanoseconds: startNanoseconds, attributes: Self.reusedAttributes)
        } else if let connected = details.connectedNanoseconds {
            writer.event("connection established", timeNanoseconds: connected, attributes: [])
        }
        if let firstByte = details.firstByteNanoseconds {
            writer.event("first response byte", timeNanoseconds: firstByte, attributes: [])
        }
        writer.end(status: spanStatus)
    }

    private func writeRejection<Writer: SpanWriter>(to writer: inout Writer) {
        writer.attribute("client.address", peer.host)
        writer.attribute("network.peer.address", peer.host)
        writer.attribute("network.peer.port", peer.port)
        writer.attribute("http.response.status_code", status)
        if let error { writer.attribute("error.type", error.kind.rawValue) }
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

/// Text helpers for span attributes.
enum SpanText {
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

    /// `network.protocol.version`: a constant for the versions the proxy takes (formatting
    /// `major.minor` for every span cost more than the rest of the attribute).
    static func protocolVersion(_ version: HTTPVersion) -> String {
        switch version {
        case .http11: "1.1"
        case .http10: "1.0"
        default: version.description
        }
    }


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

    /// The host of `host[:port]` or `[v6]:port`.
    static func hostPart<Bytes: BidirectionalCollection<UInt8>>(_ authority: Bytes) -> Bytes.SubSequence {
        guard let split = Authority(splitting: authority) else { return authority[...] }
        return authority[split.hostname]
    }

    static func portPart<Bytes: BidirectionalCollection<UInt8>>(_ authority: Bytes) -> Int? {
        Authority(splitting: authority)?.port(in: authority)
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
