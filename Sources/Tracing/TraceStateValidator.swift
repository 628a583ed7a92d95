/// Validates `tracestate` (W3C Trace Context §3.3) as a whole.
///
/// list = list-member 0*31( OWS "," OWS list-member ); empty members are allowed and
/// skipped. key = simple-key / multi-tenant-key; value = 0*255(chr) nblk-chr. Keys are
/// unique. Several `tracestate` fields are one list, joined in order. Anything invalid
/// drops the whole list (the spec's choice for a malformed header).
public enum TraceStateValidator {
    public static let maxMembers = 32

    /// The list re-joined with `,` (no spaces), or nil when absent, empty or invalid.
    public static func validate(_ fields: [String]) -> String? {
        var members: [Substring] = []
        var keys: Set<Substring> = []
        for field in fields {
            for rawMember in field.split(separator: ",", omittingEmptySubsequences: false) {
                let member = rawMember.trimmingOWS
                if member.isEmpty { continue }
                guard let equals = member.firstIndex(of: "=") else { return nil }
                let key = member[..<equals]
                let value = member[member.index(after: equals)...]
                guard isValidKey(key), isValidValue(value), keys.insert(key).inserted else { return nil }
                members.append(member)
                if members.count > maxMembers { return nil }
            }
        }
        return members.isEmpty ? nil : members.joined(separator: ",")
    }

    static func isValidKey(_ key: Substring) -> Bool {
        let bytes = Array(key.utf8)
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")) {
            // multi-tenant-key = tenant-id "@" system-id
            let tenant = bytes[..<at]
            let system = bytes[(at + 1)...]
            guard let first = tenant.first, isLowerAlpha(first) || isDigit(first), tenant.count <= 241,
                let systemFirst = system.first, isLowerAlpha(systemFirst), system.count <= 14
            else { return false }
            return tenant.dropFirst().allSatisfy(isKeyByte) && system.dropFirst().allSatisfy(isKeyByte)
        }
        guard let first = bytes.first, isLowerAlpha(first), bytes.count <= 256 else { return false }
        return bytes.dropFirst().allSatisfy(isKeyByte)
    }

    static func isValidValue(_ value: Substring) -> Bool {
        let bytes = Array(value.utf8)
        guard let last = bytes.last, bytes.count <= 256, isNonBlankValueByte(last) else { return false }
        return bytes.allSatisfy { $0 == 0x20 || isNonBlankValueByte($0) }
    }

    private static func isLowerAlpha(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isKeyByte(_ byte: UInt8) -> Bool {
        isLowerAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "/")
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
