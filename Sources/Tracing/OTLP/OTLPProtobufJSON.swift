/// Checks OTLP protobuf against the schema, and writes it as OTLP/JSON.
///
/// JSON follows the OTLP specification's mapping: lowerCamelCase names, trace and span
/// ids as lowercase hex, enums as integers, 64-bit integers as decimal strings, other
/// bytes as base64; fields holding their default value are left out (protobuf 3),
/// except inside `AnyValue`, where which field is present is the value.
enum OTLPProtobufJSON {
    /// Throws when `range` of `bytes` is not a well-formed `message`: broken framing, a
    /// known field with the wrong wire type, or nesting deeper than `OTLPSchema.maxDepth`.
    static func validate(_ bytes: [UInt8], _ range: Range<Int>, as message: OTLPMessage, path: String = "", depth: Int = 0) throws(OTLPDecodingError) {
        guard depth < OTLPSchema.maxDepth else { throw OTLPDecodingError(path: path, reason: "nested deeper than \(OTLPSchema.maxDepth) levels") }
        var reader = ProtobufReader(bytes, range: range)
        var counts: [Int: Int] = [:]
        while true {
            let next: (field: Int, value: ProtobufReader.Value)?
            do { next = try reader.next() } catch { throw OTLPDecodingError(path: path, reason: "not protobuf: \(error)") }
            guard let (number, value) = next else { return }
            guard let field = message.field(number: number) else { continue }
            let index = counts[number, default: 0]
            counts[number] = index + 1
            let fieldPath = (path.isEmpty ? "" : path + ".") + field.name + (field.repeated ? "[\(index)]" : "")
            guard value.wireType == field.kind.wireType else {
                throw OTLPDecodingError(path: fieldPath, reason: "wire type \(value.wireType.rawValue) where \(field.kind.wireType.rawValue) was expected")
            }
            if case .message(let inner) = field.kind, case .bytes(let innerRange) = value {
                try validate(bytes, innerRange, as: inner, path: fieldPath, depth: depth + 1)
            }
        }
    }

    /// `range` of `bytes`, a message already validated, as a JSON object.
    static func write(_ bytes: [UInt8], _ range: Range<Int>, as message: OTLPMessage, to out: inout JSONOutput) {
        var reader = ProtobufReader(bytes, range: range)
        var values: [Int: [ProtobufReader.Value]] = [:]
        while let (number, value) = (try? reader.next()) ?? nil {
            guard let field = message.field(number: number), value.wireType == field.kind.wireType else { continue }
            if field.repeated {
                values[number, default: []].append(value)
            } else {
                values[number] = [value]  // the last one wins
            }
        }
        out.append("{")
        var first = true
        for field in message.fields {
            guard let found = values[field.number] else { continue }
            if field.repeated {
                out.member(field.name, first: &first)
                out.append("[")
                for (index, value) in found.enumerated() {
                    if index > 0 { out.append(",") }
                    writeValue(bytes, value, field.kind, to: &out)
                }
                out.append("]")
            } else if field.oneof || !isDefault(found[0], field.kind) {
                out.member(field.name, first: &first)
                writeValue(bytes, found[0], field.kind, to: &out)
            }
        }
        out.append("}")
    }

    private static func isDefault(_ value: ProtobufReader.Value, _ kind: OTLPField.Kind) -> Bool {
        switch value {
        case .varint(let number): return number == 0
        case .fixed64(let number): return number == 0
        case .fixed32(let number): return number == 0
        case .bytes(let range):
            if case .message = kind { return false }
            return range.isEmpty
        }
    }

    private static func writeValue(_ bytes: [UInt8], _ value: ProtobufReader.Value, _ kind: OTLPField.Kind, to out: inout JSONOutput) {
        switch (kind, value) {
        case (.string, .bytes(let range)):
            out.string(String(decoding: bytes[range], as: UTF8.self))
        case (.id, .bytes(let range)):
            out.append("\"" + HexDigits.encode(bytes[range]) + "\"")
        case (.bytes, .bytes(let range)):
            out.append("\"" + Base64.encode(bytes[range]) + "\"")
        case (.message(let inner), .bytes(let range)):
            write(bytes, range, as: inner, to: &out)
        case (.uint32, .varint(let number)):
            out.append(String(UInt32(truncatingIfNeeded: number)))
        case (.enumeration, .varint(let number)):
            out.append(String(Int32(truncatingIfNeeded: number)))
        case (.int64, .varint(let number)):
            out.append("\"\(Int64(bitPattern: number))\"")
        case (.bool, .varint(let number)):
            out.append(number != 0 ? "true" : "false")
        case (.fixed64, .fixed64(let number)):
            out.append("\"\(number)\"")
        case (.double, .fixed64(let bits)):
            out.double(Double(bitPattern: bits))
        case (.fixed32, .fixed32(let number)):
            out.append(String(number))
        default:
            out.append("null")  // not reached: wire types were checked
        }
    }
}

/// JSON text being written (the receiver's answers, the explorer's API). Strings are
/// escaped so that the output is also safe to place in HTML or a script (`<`, `>`, `&`,
/// U+2028 and U+2029 as `\u` escapes).
public struct JSONOutput: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    /// Text that is JSON already.
    public mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func member(_ name: String, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A string value, quoted and escaped.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\r": append("\\r")
            case "\t": append("\\t")
            case "<", ">", "&", "\u{2028}", "\u{2029}", "\u{7F}":
                escape(scalar.value)
            default:
                if scalar.value < 0x20 { escape(scalar.value) } else { bytes.append(contentsOf: String(scalar).utf8) }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ value: UInt32) {
        let hex = String(value, radix: 16)
        append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
    }

    /// A finite number as a JSON number; NaN and the infinities as the strings protobuf's
    /// JSON mapping uses.
    public mutating func double(_ value: Double) {
        if value.isNaN { append("\"NaN\"") } else if value.isInfinite { append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"") } else { append("\(value)") }
    }
}

/// Base64 (RFC 4648 §4), for `bytes` fields in JSON. Decoding also takes the URL-safe
/// alphabet and missing padding, as protobuf's JSON parsers do.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode<Bytes: Collection<UInt8>>(_ input: Bytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var iterator = input.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 63)])
            out.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(group & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var group: UInt32 = 0
        var count = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            group = group << 6 | value
            count += 1
            if count == 4 {
                out.append(UInt8(group >> 16 & 0xFF))
                out.append(UInt8(group >> 8 & 0xFF))
                out.append(UInt8(group & 0xFF))
                group = 0
                count = 0
            }
        }
        switch count {
        case 0: break
        case 2: out.append(UInt8(group >> 4 & 0xFF))
        case 3:
            out.append(UInt8(group >> 10 & 0xFF))
            out.append(UInt8(group >> 2 & 0xFF))
        default: return nil
        }
        return out
    }
}
