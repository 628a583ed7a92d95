/// The header fields the proxy decides on. Every other field is `.other` and is
/// forwarded as the bytes it arrived as.
public enum FieldKind: UInt8, Sendable, CaseIterable {
    case other
    case host
    case connection
    case contentLength
    case transferEncoding
    case upgrade
    case expect
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case http2Settings
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    case traceparent
    case tracestate
    case userAgent
    /// Zipkin's single `b3` field.
    case b3
    /// Zipkin's `X-B3-*` fields.
    case b3TraceID
    case b3SpanID
    case b3ParentSpanID
    case b3Sampled
    case b3Flags
    /// W3C Baggage.
    case baggage

    /// The lowercase field name this kind stands for (empty for `.other`).
    public var name: String {
        switch self {
        case .other: return ""
        case .host: return "host"
        case .connection: return "connection"
        case .contentLength: return "content-length"
        case .transferEncoding: return "transfer-encoding"
        case .upgrade: return "upgrade"
        case .expect: return "expect"
        case .keepAlive: return "keep-alive"
        case .proxyConnection: return "proxy-connection"
        case .te: return "te"
        case .trailer: return "trailer"
        case .http2Settings: return "http2-settings"
        case .xForwardedFor: return "x-forwarded-for"
        case .xForwardedProto: return "x-forwarded-proto"
        case .xForwardedHost: return "x-forwarded-host"
        case .traceparent: return "traceparent"
        case .tracestate: return "tracestate"
        case .userAgent: return "user-agent"
        case .b3: return "b3"
        case .b3TraceID: return "x-b3-traceid"
        case .b3SpanID: return "x-b3-spanid"
        case .b3ParentSpanID: return "x-b3-parentspanid"
        case .b3Sampled: return "x-b3-sampled"
        case .b3Flags: return "x-b3-flags"
        case .baggage: return "baggage"
        }
    }

    /// A field of a trace context format the proxy knows (W3C or B3): rebuilt for each
    /// upstream attempt from the proxy's own context, never copied.
    public var isTraceContext: Bool {
        switch self {
        case .traceparent, .tracestate, .b3, .b3TraceID, .b3SpanID, .b3ParentSpanID, .b3Sampled, .b3Flags: return true
        default: return false
        }
    }

    /// Fields that belong to one connection, never forwarded (RFC 9110 §7.6.1).
    /// Content-Length and Transfer-Encoding are framing: the serializer writes its own.
    public var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .http2Settings:
            return true
        default:
            return false
        }
    }

    /// Classifies a field name, case-insensitively: a switch on length, then one
    /// comparison (no hashing, no allocation).
    public static func classify(_ name: UnsafeRawBufferPointer) -> FieldKind {
        @inline(__always) func matches(_ lower: StaticString) -> Bool {
            ASCII.equalsIgnoringCase(name, UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount))
        }
        switch name.count {
        case 2:
            if matches("te") { return .te }
            return matches("b3") ? .b3 : .other
        case 4: return matches("host") ? .host : .other
        case 6: return matches("expect") ? .expect : .other
        case 7:
            if matches("upgrade") { return .upgrade }
            if matches("baggage") { return .baggage }
            return matches("trailer") ? .trailer : .other
        case 10:
            if matches("connection") { return .connection }
            if matches("keep-alive") { return .keepAlive }
            if matches("user-agent") { return .userAgent }
            if matches("x-b3-flags") { return .b3Flags }
            return matches("tracestate") ? .tracestate : .other
        case 11:
            if matches("traceparent") { return .traceparent }
            return matches("x-b3-spanid") ? .b3SpanID : .other
        case 12:
            if matches("x-b3-traceid") { return .b3TraceID }
            return matches("x-b3-sampled") ? .b3Sampled : .other
        case 14:
            if matches("content-length") { return .contentLength }
            return matches("http2-settings") ? .http2Settings : .other
        case 15:
            if matches("x-forwarded-for") { return .xForwardedFor }
            return .other
        case 16:
            if matches("proxy-connection") { return .proxyConnection }
            if matches("x-forwarded-host") { return .xForwardedHost }
            return .other
        case 17:
            if matches("transfer-encoding") { return .transferEncoding }
            if matches("x-forwarded-proto") { return .xForwardedProto }
            return matches("x-b3-parentspanid") ? .b3ParentSpanID : .other
        default:
            return .other
        }
    }
}

/// One field line of a head: where its name and value lie in the head's bytes.
/// The value excludes leading and trailing SP/HTAB (RFC 9112 §5.1).
public struct HeaderField: Sendable, Equatable {
    public var name: Range<Int>
    public var value: Range<Int>
    public var kind: FieldKind

    public init(name: Range<Int>, value: Range<Int>, kind: FieldKind) {
        self.name = name
        self.value = value
        self.kind = kind
    }

    /// Whether the field's name in `bytes` is `lowercased`, compared case-insensitively.
    public func isNamed(_ lowercased: [UInt8], in bytes: [UInt8]) -> Bool {
        name.count == lowercased.count && bytes.withUnsafeBytes { buffer in
            lowercased.withUnsafeBytes { ASCII.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: buffer[name]), $0) }
        }
    }
}
