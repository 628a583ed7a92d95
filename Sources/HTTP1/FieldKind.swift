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

    private static let byLength: [Int: [(FieldKind, [UInt8])]] = {
        var table: [Int: [(FieldKind, [UInt8])]] = [:]
        for kind in FieldKind.allCases where kind != .other {
            let bytes = Array(kind.name.utf8)
            table[bytes.count, default: []].append((kind, bytes))
        }
        return table
    }()

    /// Classifies a field name, case-insensitively.
    public static func classify(_ name: UnsafeRawBufferPointer) -> FieldKind {
        guard let candidates = byLength[name.count] else { return .other }
        outer: for (kind, lower) in candidates {
            for index in 0..<lower.count where ASCII.lowercased(name[index]) != lower[index] {
                continue outer
            }
            return kind
        }
        return .other
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
