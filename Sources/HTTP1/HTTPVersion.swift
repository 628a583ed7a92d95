#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
public struct HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    /// `major.minor`; the versions the proxy takes are constants (formatting costs some
    /// 600 instructions, and the access log and spans ask for it per request).
    public var description: String {
        switch (major, minor) {
        case (1, 1): "1.1"
        case (1, 0): "1.0"
        default: "\(major).\(minor)"
        }
    }

    /// Parses exactly eight bytes `HTTP/d.d`, read as one little-endian word.
    static func parse(_ head: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPVersion? {
        guard range.count == 8 else { return nil }
        let word = WordSearch.word(head, at: range.lowerBound)
        // "HTTP/" in the low five bytes.
        guard word & 0xFF_FFFF_FFFF == 0x2F_5054_5448 else { return nil }
        let major = UInt8(truncatingIfNeeded: word &>> 40)
        let dot = UInt8(truncatingIfNeeded: word &>> 48)
        let minor = UInt8(truncatingIfNeeded: word &>> 56)
        guard major >= 0x30, major <= 0x39, dot == UInt8(ascii: "."), minor >= 0x30, minor <= 0x39 else {
            return nil
        }
        return HTTPVersion(major: major - 0x30, minor: minor - 0x30)
    }
}

/// Request methods the proxy treats specially; everything else is `.other`.
public enum HTTPMethod: Sendable, Equatable {
    case get, head, post, put, delete, options, trace, patch, connect, other

    /// RFC 9110 §9.2.2: a retry of an idempotent request has the same effect.
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .put, .delete, .options, .trace: return true
        default: return false
        }
    }

    static func classify(_ head: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPMethod {
        // Methods are case-sensitive (RFC 9110 §9.1).
        func equals(_ name: StaticString) -> Bool {
            guard range.count == name.utf8CodeUnitCount else { return false }
            return memcmp(head.baseAddress! + range.lowerBound, name.utf8Start, range.count) == 0
        }
        switch range.count {
        case 3: return equals("GET") ? .get : equals("PUT") ? .put : .other
        case 4: return equals("POST") ? .post : equals("HEAD") ? .head : .other
        case 5: return equals("PATCH") ? .patch : equals("TRACE") ? .trace : .other
        case 6: return equals("DELETE") ? .delete : .other
        case 7: return equals("OPTIONS") ? .options : equals("CONNECT") ? .connect : .other
        default: return .other
        }
    }
}
