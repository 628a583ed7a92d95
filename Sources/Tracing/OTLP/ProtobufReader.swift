/// Reads protocol buffer wire format one field at a time, with no schema: what the
/// receiver needs to walk OTLP requests it did not write.
///
/// Strict about framing: a truncated value, a varint longer than ten bytes, a length
/// running past the end, field number 0 and the deprecated group wire types are errors,
/// so a hostile body is refused instead of half read. Length-delimited values are ranges
/// into the bytes, so nested messages are read in place, without copies.
struct ProtobufReader {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// A length-delimited value: where its bytes lie in the reader's buffer.
        case bytes(Range<Int>)

        var wireType: ProtobufWriter.WireType {
            switch self {
            case .varint: return .varint
            case .fixed64: return .fixed64
            case .fixed32: return .fixed32
            case .bytes: return .lengthDelimited
            }
        }
    }

    /// Why a message could not be read.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case truncated
        case malformedVarint
        case invalidFieldNumber
        case unsupportedWireType(Int)

        var description: String {
            switch self {
            case .truncated: return "the message ends inside a field"
            case .malformedVarint: return "a varint is longer than ten bytes"
            case .invalidFieldNumber: return "a field has number 0"
            case .unsupportedWireType(let type): return "a field has wire type \(type), which protobuf 3 does not use"
            }
        }
    }

    let bytes: [UInt8]
    private(set) var index: Int
    private let end: Int

    /// Reads `range` of `bytes` (all of them by default).
    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        index = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(Failure) -> (field: Int, value: Value)? {
        guard index < end else { return nil }
        let key = try varint()
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw .invalidFieldNumber }
        switch key & 7 {
        case 0:
            return (Int(field), .varint(try varint()))
        case 1:
            guard end - index >= 8 else { throw .truncated }
            var value: UInt64 = 0
            for offset in 0..<8 { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += 8
            return (Int(field), .fixed64(value))
        case 2:
            let length = try varint()
            guard length <= UInt64(end - index) else { throw .truncated }
            let start = index
            index += Int(length)
            return (Int(field), .bytes(start..<index))
        case 5:
            guard end - index >= 4 else { throw .truncated }
            var value: UInt32 = 0
            for offset in 0..<4 { value |= UInt32(bytes[index + offset]) << (8 * UInt32(offset)) }
            index += 4
            return (Int(field), .fixed32(value))
        default:
            throw .unsupportedWireType(Int(key & 7))
        }
    }

    private mutating func varint() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw .truncated }
            let byte = bytes[index]
            index += 1
            guard shift < 64 else { throw .malformedVarint }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }
}
