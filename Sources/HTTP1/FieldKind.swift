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
        case 2: return matches("te") ? .te : .other
        case 4: return matches("host") ? .host : .other
        case 6: return matches("expect") ? .expect : .other
        case 7:
            if matches("upgrade") { return .upgrade }
            return matches("trailer") ? .trailer : .other
        case 10:
            if matches("connection") { return .connection }
            if matches("keep-alive") { return .keepAlive }
            if matches("user-agent") { return .userAgent }
            return matches("tracestate") ? .tracestate : .other
        case 11: return matches("traceparent") ? .traceparent : .other
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
            return matches("x-forwarded-proto") ? .xForwardedProto : .other
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
}
