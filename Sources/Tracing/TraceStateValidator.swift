/// Validates `tracestate` (W3C Trace Context Level 2 §3.3).
///
/// list = list-member 0*31( OWS "," OWS list-member ); empty members are allowed and
/// skipped. key = ( lcalpha / DIGIT ) 0*255( keychar ), keychar = lcalpha / DIGIT / "_" /
/// "-" / "*" / "/" / "@" (so `tenant@vendor`, `foo@` and a key of 256 characters are
/// valid; Level 1's separate multi-tenant grammar is gone). value = 0*255(chr) nblk-chr.
///
/// Several `tracestate` fields are one list, joined in order. A key seen again keeps its
/// first member and the later one is left out, the other members kept (the spec lets a
/// vendor drop a duplicate, never the rest). Anything invalid, or more than 32 members,
/// drops the whole list (the spec's choice for a malformed header); `traceparent` is still
/// honoured.
public enum TraceStateValidator {
    public static let maxMembers = 32
    public static let maxKeyLength = 256
    public static let maxValueLength = 256

    /// The list re-joined with `,` (no spaces), or nil when absent, empty or invalid.
    public static func validate(_ fields: [String]) -> String? {
        var members: [Substring] = []
        var keys: Set<Substring> = []
        var memberCount = 0
        for field in fields {
            for rawMember in field.split(separator: ",", omittingEmptySubsequences: false) {
                let member = rawMember.trimmingOWS
                if member.isEmpty { continue }
                guard let equals = member.firstIndex(of: "=") else { return nil }
                let key = member[..<equals]
                let value = member[member.index(after: equals)...]
                guard isValidKey(key), isValidValue(value) else { return nil }
                memberCount += 1
                if memberCount > maxMembers { return nil }
                if keys.insert(key).inserted { members.append(member) }
            }
        }
        return members.isEmpty ? nil : members.joined(separator: ",")
    }

    static func isValidKey(_ key: Substring) -> Bool {
        let bytes = key.utf8
        guard let first = bytes.first, isLowerAlpha(first) || isDigit(first), bytes.count <= maxKeyLength else {
            return false
        }
        return bytes.dropFirst().allSatisfy(isKeyByte)
    }

    static func isValidValue(_ value: Substring) -> Bool {
        let bytes = value.utf8
        guard let last = bytes.last, bytes.count <= maxValueLength, isNonBlankValueByte(last) else { return false }
        return bytes.allSatisfy { $0 == 0x20 || isNonBlankValueByte($0) }
    }

    private static func isLowerAlpha(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isKeyByte(_ byte: UInt8) -> Bool {
        isLowerAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "@")
    }
    /// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (no space, comma or equals sign).
    private static func isNonBlankValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x21 && byte <= 0x7E && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "=")
    }
}

extension Substring {
    /// Without leading and trailing SP and HTAB.
    var trimmingOWS: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
