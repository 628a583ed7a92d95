/// Byte classes of RFC 9110 §5.6.2 and RFC 9112, as table lookups.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    @inline(__always) static func isToken(_ byte: UInt8) -> Bool {
        isMember(byte, low: 0x03FF_6CFA_0000_0000, high: 0x57FF_FFFF_C7FF_FFFE)
    }

    /// Whether `byte` is in a set of ASCII bytes given as a bitmap: bit n of `low` for
    /// byte n below 64, bit n of `high` for byte 64 + n. A shift and a mask, where a
    /// `switch` over ranges took a comparison per range. Bytes of 0x80 and above are in
    /// no set.
    @inline(__always) static func isMember(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        let bits = byte < 64 ? low : byte < 128 ? high : 0
        return (bits &>> UInt64(byte & 63)) & 1 != 0
    }

    /// field-vchar / SP / HTAB: anything but CTLs (except HTAB) and DEL. obs-text is allowed.
    @inline(__always) static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == tab
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
    }

    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
