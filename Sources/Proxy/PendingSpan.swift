import HTTP1
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
        /// The head sent upstream (for `url.full`).
        var upstreamHead: [UInt8]
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
    /// The response head, for header capture (SERVER spans).
    var response: ResponseHead? = nil
    var captureRequestHeaders: [String] = []
    var captureResponseHeaders: [String] = []

    /// The span name: `{method} {route}`, the method alone without a route, `HTTP` when
    /// the method is unknown.
    var name: String {
        guard let head else { return "HTTP" }
        guard let routeTemplate else { return head.methodString }
        return "\(head.methodString) \(routeTemplate)"
    }

    func makeRecord() -> SpanRecord {
        switch role {
        case .server: return serverRecord()
        case .client(let details): return clientRecord(details)
        case .rejection: return rejectionRecord()
        }
    }

    /// SERVER: error status for 5xx and the proxy's own aborts (an upstream cut
    /// mid-body); 4xx leaves it unset.
    private func serverRecord() -> SpanRecord {
        var attributes: [SpanAttribute] = []
        attributes.reserveCapacity(16)
        if let head {
            attributes.append(.string("http.request.method", head.methodString))
            attributes.append(.string("url.path", head.path.isEmpty ? "/" : head.string(head.path)))
            if let query = head.query { attributes.append(.string("url.query", SpanText.redactedQuery(head.string(query)))) }
            attributes.append(.string("network.protocol.version", head.version.description))
            if let host = head.hostString {
                attributes.append(.string("server.address", SpanText.hostPart(host)))
                if let port = SpanText.portPart(host) { attributes.append(.int("server.port", port)) }
            }
            if let agent = head.value(of: .userAgent) { attributes.append(.string("user_agent.original", agent)) }
        }
        attributes.append(.string("url.scheme", "http"))
        if let routeTemplate { attributes.append(.string("http.route", routeTemplate)) }
        attributes.append(.string("client.address", peer.host))
        attributes.append(.string("network.peer.address", peer.host))
        attributes.append(.int("network.peer.port", peer.port))
        attributes.append(.int("http.request.body.size", Int(bytesIn)))
        attributes.append(.int("http.response.body.size", Int(bytesOut)))
        if status > 0 { attributes.append(.int("http.response.status_code", status)) }
        if let head {
            for name in captureRequestHeaders {
                let values = head.fields.filter { head.string($0.name).lowercased() == name }.map { head.string($0.value) }
                if !values.isEmpty { attributes.append(.string("http.request.header.\(name)", values.joined(separator: ", "))) }
            }
        }
        if let response {
            for name in captureResponseHeaders {
                let values = response.fields.filter { response.string($0.name).lowercased() == name }.map { response.string($0.value) }
                if !values.isEmpty { attributes.append(.string("http.response.header.\(name)", values.joined(separator: ", "))) }
            }
        }
        var spanStatus = SpanRecord.Status.unset
        if let error, error.status >= 500 || error.kind == .upstreamBodyTruncated || error.kind == .upstreamReset {
            attributes.append(.string("error.type", error.kind.rawValue))
            spanStatus = .error(error.message)
        } else if status >= 500 {
            attributes.append(.string("error.type", String(status)))
            spanStatus = .error("responded \(status)")
        } else if let error {
            attributes.append(.string("error.type", error.kind.rawValue))
        }
        return record(kind: .server, status: spanStatus, attributes: attributes, events: [])
    }

    /// CLIENT: error status for connect failures, timeouts, resets and 5xx.
    private func clientRecord(_ details: ClientDetails) -> SpanRecord {
        var attributes: [SpanAttribute] = []
        attributes.reserveCapacity(10)
        if let head { attributes.append(.string("http.request.method", head.methodString)) }
        attributes.append(.string("server.address", SpanText.hostPart(details.server.configured)))
        attributes.append(.int("server.port", details.server.port))
        attributes.append(.string("network.peer.address", details.server.host))
        attributes.append(.int("network.peer.port", details.server.port))
        attributes.append(.string(
            "url.full", "http://\(details.server.configured)\(SpanText.redacted(SpanText.requestTarget(details.upstreamHead)))"))
        if status > 0 { attributes.append(.int("http.response.status_code", status)) }
        if details.resendCount > 0 { attributes.append(.int("http.request.resend_count", details.resendCount)) }
        var spanStatus = SpanRecord.Status.unset
        if let error, error.side == .upstream {
            attributes.append(.string("error.type", error.kind.rawValue))
            spanStatus = .error(error.message)
        } else if status >= 500 {
            attributes.append(.string("error.type", String(status)))
            spanStatus = .error("upstream answered \(status)")
        }
        var events: [SpanEvent] = []
        if details.reused {
            events.append(SpanEvent(
                name: "connection established", timeNanoseconds: startNanoseconds,
                attributes: [.bool("hoptrace.connection.reused", true)]))
        } else if let connected = details.connectedNanoseconds {
            events.append(SpanEvent(name: "connection established", timeNanoseconds: connected))
        }
        if let firstByte = details.firstByteNanoseconds {
            events.append(SpanEvent(name: "first response byte", timeNanoseconds: firstByte))
        }
        return record(kind: .client, status: spanStatus, attributes: attributes, events: events)
    }

    private func rejectionRecord() -> SpanRecord {
        var attributes: [SpanAttribute] = [
            .string("client.address", peer.host), .string("network.peer.address", peer.host),
            .int("network.peer.port", peer.port), .int("http.response.status_code", status),
        ]
        if let error { attributes.append(.string("error.type", error.kind.rawValue)) }
        return record(kind: .server, status: .unset, attributes: attributes, events: [])
    }

    private func record(kind: SpanRecord.Kind, status: SpanRecord.Status, attributes: [SpanAttribute], events: [SpanEvent]) -> SpanRecord {
        SpanRecord(
            traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, traceState: traceState, flags: flags,
            kind: kind, name: name, startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds,
            status: status, attributes: attributes, events: events)
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

    /// The request target of a serialized request head (between the first two spaces).
    static func requestTarget(_ head: [UInt8]) -> String {
        guard let first = head.firstIndex(of: 0x20) else { return "/" }
        guard let second = head[(first + 1)...].firstIndex(of: 0x20) else { return "/" }
        return String(decoding: head[(first + 1)..<second], as: UTF8.self)
    }

    /// The host of `host[:port]` or `[v6]:port`.
    static func hostPart(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if let colon = authority.lastIndex(of: ":") { return String(authority[..<colon]) }
        return authority
    }

    static func portPart(_ authority: String) -> Int? {
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        return Int(authority[authority.index(after: colon)...])
    }
}
