import HTTP1

/// Checks that hold for any head a parser accepted: every range lies inside the head's
/// bytes, field names are tokens, and no value carries CR, LF or NUL (what a smuggled
/// header would need).
public enum HeadChecks {
    public static func fields(_ fields: [HeaderField], in bytes: [UInt8]) {
        for field in fields {
            range(field.name, in: bytes, "field name")
            range(field.value, in: bytes, "field value")
            fuzzCheck(!field.name.isEmpty, "an empty field name")
            for index in field.name {
                let byte = bytes[index]
                fuzzCheck(byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: ":"), "field name byte \(byte)")
            }
            for index in field.value {
                let byte = bytes[index]
                fuzzCheck(byte != 0x0D && byte != 0x0A && byte != 0, "field value byte \(byte)")
            }
            if let first = field.value.first, let last = field.value.last {
                fuzzCheck(bytes[first] != 0x20 && bytes[first] != 0x09, "a field value starts with whitespace")
                fuzzCheck(bytes[last] != 0x20 && bytes[last] != 0x09, "a field value ends with whitespace")
            }
        }
    }

    public static func range(_ range: Range<Int>, in bytes: [UInt8], _ what: String) {
        fuzzCheck(range.lowerBound >= 0 && range.upperBound <= bytes.count, "\(what) \(range) outside \(bytes.count) bytes")
    }
}
