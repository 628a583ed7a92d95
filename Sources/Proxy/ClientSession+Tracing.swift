import HTTP1
import Libevent
import Tracing
import W3CTraceContext

/// Spans: one SERVER span per request received (also for the ones the proxy answers
/// itself), one CLIENT span per upstream attempt, child of it. Attribute names are the
/// stable HTTP semantic conventions (shared/reference/tracing.md). Nothing is built for
/// an unsampled request: only ids, which the upstream `traceparent` needs anyway.
extension ClientSession {
    static func now() -> UInt64 { UInt64(Timestamp.wallNanoseconds()) }

    /// Starts a CLIENT span for an attempt on `server`; returns the trace fields to send.
    func beginAttempt(_ exchange: Exchange, server: UpstreamServer, reused: Bool) -> [UInt8] {
        var attempt = UpstreamAttempt(spanID: worker.ids.spanID(), server: server, startNanoseconds: Self.now())
        if reused, exchange.trace.sampled {
            attempt.events.append(SpanEvent(
                name: "connection established", timeNanoseconds: attempt.startNanoseconds,
                attributes: [.bool("hoptrace.connection.reused", true)]))
        }
        exchange.attempt = attempt
        return HeaderPolicy.traceFields(exchange.trace, clientSpanID: attempt.spanID)
    }

    /// Ends the open CLIENT span, if any. Error status for connect failures, timeouts,
    /// resets and 5xx.
    func endAttempt(_ exchange: Exchange, error: ProxyError?) {
        guard let attempt = exchange.attempt else { return }
        exchange.attempt = nil
        guard exchange.trace.sampled else { return }
        let head = exchange.head
        var attributes: [SpanAttribute] = [
            .string("http.request.method", head.methodString),
            .string("server.address", Self.hostPart(attempt.server.configured)),
            .int("server.port", attempt.server.address.port),
            .string("network.peer.address", attempt.server.address.host),
            .int("network.peer.port", attempt.server.address.port),
            .string("url.full", "http://\(attempt.server.configured)\(Self.redacted(Self.upstreamTarget(exchange)))"),
        ]
        if let status = attempt.status { attributes.append(.int("http.response.status_code", status)) }
        if exchange.attempts > 1 { attributes.append(.int("http.request.resend_count", exchange.attempts - 1)) }
        var status = SpanRecord.Status.unset
        if let error, error.side == .upstream {
            attributes.append(.string("error.type", error.kind.rawValue))
            status = .error(error.message)
        } else if let code = attempt.status, code >= 500 {
            attributes.append(.string("error.type", String(code)))
            status = .error("upstream answered \(code)")
        }
        worker.record(SpanRecord(
            traceID: exchange.trace.traceID, spanID: attempt.spanID, parentSpanID: exchange.serverSpanID,
            traceState: exchange.trace.traceState, flags: exchange.trace.flags, kind: .client,
            name: spanName(exchange), startNanoseconds: attempt.startNanoseconds, endNanoseconds: Self.now(),
            status: status, attributes: attributes, events: attempt.events))
    }

    /// Records the SERVER span, once. Error status for 5xx and the proxy's own aborts
    /// (an upstream cut mid-body); 4xx leaves it unset.
    func recordServerSpan(_ exchange: Exchange) {
        guard !exchange.spansRecorded else { return }
        exchange.spansRecorded = true
        guard exchange.trace.sampled else { return }
        let head = exchange.head
        var attributes: [SpanAttribute] = [
            .string("http.request.method", head.methodString),
            .string("url.path", head.path.isEmpty ? "/" : head.string(head.path)),
            .string("url.scheme", "http"),
            .string("client.address", peer.host),
            .string("network.peer.address", peer.host),
            .int("network.peer.port", peer.port),
            .string("network.protocol.version", head.version.description),
            .int("http.request.body.size", Int(exchange.bytesIn)),
            .int("http.response.body.size", Int(exchange.bytesOut)),
        ]
        if let query = head.query { attributes.append(.string("url.query", Self.redactedQuery(head.string(query)))) }
        if let route = exchange.route { attributes.append(.string("http.route", Self.routeTemplate(route))) }
        if let host = head.hostString {
            attributes.append(.string("server.address", Self.hostPart(host)))
            if let port = Self.portPart(host) { attributes.append(.int("server.port", port)) }
        }
        if let agent = head.value(of: .userAgent) { attributes.append(.string("user_agent.original", agent)) }
        if exchange.status > 0 { attributes.append(.int("http.response.status_code", exchange.status)) }
        var status = SpanRecord.Status.unset
        if let error = exchange.error, error.status >= 500 || error.kind == .upstreamBodyTruncated || error.kind == .upstreamReset {
            attributes.append(.string("error.type", error.kind.rawValue))
            status = .error(error.message)
        } else if exchange.status >= 500 {
            attributes.append(.string("error.type", String(exchange.status)))
            status = .error("responded \(exchange.status)")
        } else if let error = exchange.error {
            attributes.append(.string("error.type", error.kind.rawValue))
        }
        worker.record(SpanRecord(
            traceID: exchange.trace.traceID, spanID: exchange.serverSpanID, parentSpanID: exchange.trace.parentSpanID,
            traceState: exchange.trace.traceState, flags: exchange.trace.flags, kind: .server,
            name: spanName(exchange), startNanoseconds: UInt64(exchange.startWallNanoseconds), endNanoseconds: Self.now(),
            status: status, attributes: attributes))
    }

    /// A SERVER span for a request rejected before it could be parsed (400, 408, 431 …):
    /// a new trace, named `HTTP` as the method is unknown. Returns the ids for the log.
    func recordRejectionSpan(_ error: ProxyError) -> (traceID: String, spanID: String) {
        let trace = worker.decideTrace(nil, peer: peer)
        let spanID = worker.ids.spanID()
        if trace.sampled {
            let now = Self.now()
            worker.record(SpanRecord(
                traceID: trace.traceID, spanID: spanID, parentSpanID: nil, flags: trace.flags, kind: .server,
                name: "HTTP", startNanoseconds: now, endNanoseconds: now, status: .unset,
                attributes: [
                    .string("client.address", peer.host), .string("network.peer.address", peer.host),
                    .int("network.peer.port", peer.port), .int("http.response.status_code", error.status),
                    .string("error.type", error.kind.rawValue),
                ]))
        }
        return (trace.traceID.description, spanID.description)
    }

    /// `{method} {route}`: the route's path template, never the raw path; the method
    /// alone when no route matched.
    func spanName(_ exchange: Exchange) -> String {
        guard let route = exchange.route else { return exchange.head.methodString }
        return "\(exchange.head.methodString) \(Self.routeTemplate(route))"
    }

    static func routeTemplate(_ route: CompiledRoute) -> String {
        let path = String(decoding: route.path, as: UTF8.self)
        return route.isPrefix && path != "/" ? path + "/*" : path
    }

    /// The request target sent upstream (after `strip_prefix`), read from the head built.
    static func upstreamTarget(_ exchange: Exchange) -> String {
        let head = exchange.upstreamHead
        guard let first = head.firstIndex(of: 0x20) else { return "/" }
        let rest = head[(first + 1)...]
        guard let second = rest.firstIndex(of: 0x20) else { return "/" }
        return String(decoding: head[(first + 1)..<second], as: UTF8.self)
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
