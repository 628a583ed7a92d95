import HTTP1
import Tracing
import W3CTraceContext

/// What the proxy forwards and adds, in each direction (RFC 9110 §7.6).
///
/// Removed both ways: hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE,
/// Trailer, Upgrade, HTTP2-Settings) and every field a `Connection` header names, plus
/// the framing fields, which are written anew from the decided framing so exactly one
/// framing header goes out. Added upstream: `X-Forwarded-For` (any received value, then
/// the peer's address, appended after hop-by-hop removal), `X-Forwarded-Proto` and
/// `X-Forwarded-Host`. Host passes through, except that an absolute-form target's
/// authority replaces it. Every forwarded value is copied byte for byte.
enum HeaderPolicy {
    /// Writes the head sent upstream for a request, less its trace fields and the blank
    /// line (`writeTraceFields`, per attempt).
    ///
    /// The trace fields of every format the proxy knows (W3C, B3) are left out, to be
    /// rebuilt per attempt, unless `keepTraceFields` (tracing disabled: they pass as they
    /// came); `baggage` is left out when `keepBaggage` is false (the `baggage` propagator
    /// sends its validated copy); a field named `requestIDField` always (the caller writes
    /// the exchange's request id).
    static func writeUpstreamRequestHead(
        _ head: RequestHead, route: CompiledRoute, peerHost: String, keepTraceFields: Bool = false,
        keepBaggage: Bool = true, requestIDField: RequestID.Field? = nil, into writer: inout HeadWriter
    ) {
        let source = head.bytes
        let requestLineEnd = head.target.upperBound + 11  // " HTTP/1.1\r\n"
        if head.version == .http11, upstreamTargetRange(head, route: route) == head.target, requestLineEnd <= source.count {
            // The target goes as it came: so does the whole HTTP/1.1 request line.
            writer.append(source, 0..<requestLineEnd)
        } else {
            writer.append(source, head.method)
            writer.append(" ")
            appendTarget(head, route: route, to: &writer)
            writer.append(" HTTP/1.1\r\n")
        }

        var forwardedFor: [Range<Int>] = []
        var sawContentLength = false
        var wroteHost = false
        for field in head.fields {
            switch field.kind {
            case .contentLength:
                sawContentLength = true
                continue
            case .transferEncoding, .expect, .xForwardedProto, .xForwardedHost:
                continue
            case .traceparent, .tracestate, .b3, .b3TraceID, .b3SpanID, .b3ParentSpanID, .b3Sampled, .b3Flags:
                // Trace fields are rebuilt for each attempt (`writeTraceFields`), never copied.
                if !keepTraceFields { continue }
            case .baggage:
                if !keepBaggage { continue }
            case .xForwardedFor:
                forwardedFor.append(field.value)
                continue
            case .host:
                wroteHost = true
                if let authority = head.host, authority != field.value {
                    // absolute-form: the target's authority replaces Host (RFC 9112 §3.2.2).
                    writer.append("Host: ")
                    writer.append(source, authority)
                    writer.appendCRLF()
                    continue
                }
            case .other:
                // The request id goes as decided (`RequestID`), not as received.
                if let requestIDField, requestIDField.names(field, in: source) { continue }
            default:
                if field.kind.isHopByHop { continue }
            }
            if !head.connectionOptions.isEmpty, head.isConnectionOption(field) { continue }
            writer.appendField(source, field)
        }
        if !wroteHost {
            // HTTP/1.0 allows no Host; the HTTP/1.1 request upstream needs one.
            writer.append("Host: ")
            if let authority = head.host {
                writer.append(source, authority)
            } else {
                writer.append(route.upstream.firstConfigured)
            }
            writer.appendCRLF()
        }

        switch head.framing {
        case .none: if sawContentLength { writer.append("Content-Length: 0\r\n") }
        case .length(let length): writer.appendContentLength(length)
        case .chunked: writer.append("Transfer-Encoding: chunked\r\n")
        }

        writer.append("X-Forwarded-For: ")
        for range in forwardedFor where !range.isEmpty {
            writer.append(source, range)
            writer.append(", ")
        }
        writer.append(peerHost)
        writer.append("\r\nX-Forwarded-Proto: http\r\n")
        if let authority = head.host {
            writer.append("X-Forwarded-Host: ")
            writer.append(source, authority)
            writer.appendCRLF()
        }
        if let upgrade = head.upgrade {
            writer.append("Connection: upgrade\r\nUpgrade: ")
            writer.append(source, upgrade)
            writer.appendCRLF()
        }
        // The blank line comes after the trace fields of each attempt.
    }

    /// The trace fields of one attempt, for each propagator, all from the CLIENT span's
    /// context, and the blank line that ends the head. Nothing when tracing is disabled.
    static func writeTraceFields(
        _ trace: TraceDecision, traceIDHex: HexID, clientSpanID: SpanID, propagators: [Propagator],
        into writer: inout HeadWriter
    ) {
        if !trace.passThrough {
            for propagator in propagators {
                switch propagator {
                case .tracecontext: writeTraceContext(trace, traceIDHex: traceIDHex, clientSpanID: clientSpanID, into: &writer)
                case .b3: writeB3(trace, clientSpanID: clientSpanID, into: &writer)
                case .b3multi: writeB3Multi(trace, clientSpanID: clientSpanID, into: &writer)
                case .baggage:
                    if let baggage = trace.baggage {
                        writer.append("baggage: ")
                        writer.append(baggage)
                        writer.appendCRLF()
                    }
                }
            }
        }
        writer.appendCRLF()
    }

    /// `b3: {trace id}-{span id}-{1|0}`.
    private static func writeB3(_ trace: TraceDecision, clientSpanID: SpanID, into writer: inout HeadWriter) {
        writer.append("b3: \(trace.traceID)-\(clientSpanID)-\(trace.sampled ? "1" : "0")\r\n")
    }

    /// `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`.
    private static func writeB3Multi(_ trace: TraceDecision, clientSpanID: SpanID, into writer: inout HeadWriter) {
        writer.append("X-B3-TraceId: \(trace.traceID)\r\nX-B3-SpanId: \(clientSpanID)\r\nX-B3-Sampled: \(trace.sampled ? "1" : "0")\r\n")
    }

    /// `traceparent` (always version 00, from parsed values) and the validated `tracestate`.
    private static func writeTraceContext(
        _ trace: TraceDecision, traceIDHex: HexID, clientSpanID: SpanID, into writer: inout HeadWriter
    ) {
        // traceparent: 00-{trace id}-{span id}-{flags}: 70 bytes written in place.
        let name: StaticString = "traceparent: 00-"
        writer.append(count: name.utf8CodeUnitCount + 32 + 1 + 16 + 1 + 2 + 2) { line in
            var out = line
            out.update(from: name.utf8Start, count: name.utf8CodeUnitCount)
            out += name.utf8CodeUnitCount
            withUnsafeBytes(of: traceIDHex.digits) { out.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 32) }
            out += 32
            out[0] = UInt8(ascii: "-")
            out = withUnsafeBytes(of: clientSpanID.bytes) { HeadWriter.writeHex($0, to: out + 1) }
            out[0] = UInt8(ascii: "-")
            out = withUnsafeBytes(of: trace.flags.rawValue) { HeadWriter.writeHex($0, to: out + 1) }
            out[0] = UInt8(ascii: "\r")
            out[1] = UInt8(ascii: "\n")
        }
        if let state = trace.traceState {
            writer.append("tracestate: ")
            writer.append(state)
            writer.appendCRLF()
        }
    }

    /// Where in the received head the target sent upstream lies, when it is a piece of it
    /// (an origin-form target, with any stripped prefix left out); nil otherwise.
    static func upstreamTargetRange(_ head: RequestHead, route: CompiledRoute) -> Range<Int>? {
        let source = head.bytes
        guard head.path.lowerBound == head.target.lowerBound, !head.path.isEmpty,
            source[head.path.lowerBound] == UInt8(ascii: "/"),
            (head.query?.upperBound ?? head.path.upperBound) == head.target.upperBound
        else { return nil }
        guard route.stripPrefix, route.isPrefix else { return head.target }
        let prefixLength = route.path.last == UInt8(ascii: "/") ? route.path.count - 1 : route.path.count
        let start = head.path.lowerBound + prefixLength
        // What is left must still be a path: "/…" (an emptied path gets a "/" added).
        guard start < head.path.upperBound, source[start] == UInt8(ascii: "/") else { return nil }
        return start..<head.target.upperBound
    }

    /// The request target sent upstream (for `url.full` on CLIENT spans).
    static func upstreamTarget(_ head: RequestHead, route: CompiledRoute) -> [UInt8] {
        var writer = HeadWriter(capacity: head.target.count + 1)
        appendTarget(head, route: route, to: &writer)
        return writer.bytes
    }

    /// origin-form target for upstream: the path (less the route prefix when stripping),
    /// then the query.
    private static func appendTarget(_ head: RequestHead, route: CompiledRoute, to writer: inout HeadWriter) {
        let source = head.bytes
        if let range = upstreamTargetRange(head, route: route) {
            writer.append(source, range)
            return
        }
        if head.path.count == 1, source[head.path.lowerBound] == UInt8(ascii: "*") {
            writer.append("*")
            return
        }
        var path = head.path
        if route.stripPrefix, route.isPrefix {
            let prefixLength = route.path.last == UInt8(ascii: "/") ? route.path.count - 1 : route.path.count
            path = min(path.lowerBound + prefixLength, path.upperBound)..<path.upperBound
        }
        if path.isEmpty || source[path.lowerBound] != UInt8(ascii: "/") { writer.append("/") }
        writer.append(source, path)
        if let query = head.query {
            writer.append("?")
            writer.append(source, query)
        }
    }

    /// How the response body goes to the client.
    enum ClientFraming: Equatable {
        case none
        case length(UInt64)
        case chunked
        /// Raw bytes, ended by closing the connection.
        case close
    }

    static func clientFraming(for response: ResponseHead, clientVersion: HTTPVersion) -> ClientFraming {
        switch response.framing {
        case .none: return .none
        case .length(let length): return .length(length)
        case .chunked: return clientVersion.minor >= 1 ? .chunked : .close
        case .untilClose: return .close
        }
    }

    /// Writes the head sent to the client for an upstream response; `extraFields` adds
    /// the proxy's own fields before the framing and connection fields.
    ///
    /// A field named `replacing` is left out: the proxy writes its own (the request id).
    static func writeClientResponseHead(
        _ response: ResponseHead, framing: ClientFraming, requestMethod: HTTPMethod, closeConnection: Bool,
        replacing: RequestID.Field? = nil, into writer: inout HeadWriter, extraFields: (inout HeadWriter) -> Void = { _ in }
    ) {
        let source = response.bytes
        writer.append("HTTP/1.1 ")
        writer.appendDecimal(UInt64(response.status))
        writer.append(" ")
        writer.append(source, response.reason)
        writer.appendCRLF()
        let switching = response.status == 101
        // HEAD and 304 responses keep their Content-Length: it describes the entity.
        let keepLength = framing == .none && (requestMethod == .head || response.status == 304)
        for field in response.fields {
            switch field.kind {
            case .contentLength:
                if !keepLength { continue }
            case .transferEncoding:
                continue
            case .upgrade:
                if !switching { continue }
            case .other:
                if let replacing, replacing.names(field, in: source) { continue }
            default:
                if field.kind.isHopByHop { continue }
            }
            if !response.connectionOptions.isEmpty, response.isConnectionOption(field) { continue }
            writer.appendField(source, field)
        }
        extraFields(&writer)
        switch framing {
        case .none, .close: break
        case .length(let length): writer.appendContentLength(length)
        case .chunked: writer.append("Transfer-Encoding: chunked\r\n")
        }
        if switching {
            writer.append("Connection: upgrade\r\n")
        } else if closeConnection {
            writer.append("Connection: close\r\n")
        }
        writer.appendCRLF()
    }
}
