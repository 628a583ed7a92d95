/// Builds a canonical message head: CRLF line ends, fields as `name: value`, with
/// names and values copied byte for byte from the head they came from.
public struct HeadWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func append(_ source: [UInt8], _ range: Range<Int>) {
        bytes.append(contentsOf: source[range])
    }

    public mutating func append<Bytes: Sequence>(contentsOf other: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: other)
    }

    public mutating func appendDecimal(_ value: UInt64) {
        if value >= 10 { appendDecimal(value / 10) }
        bytes.append(UInt8(truncatingIfNeeded: value % 10) + 0x30)
    }

    /// Appends the bytes of `raw` as lowercase hex digits.
    public mutating func appendHex(_ raw: UnsafeRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        let table = UnsafeRawBufferPointer(start: digits.utf8Start, count: 16)
        for byte in raw {
            bytes.append(table[Int(byte >> 4)])
            bytes.append(table[Int(byte & 0x0F)])
        }
    }

    public mutating func appendCRLF() {
        bytes.append(ASCII.cr)
        bytes.append(ASCII.lf)
    }

    /// Appends `name: value\r\n` with both parts taken from `source`.
    public mutating func appendField(_ source: [UInt8], _ field: HeaderField) {
        bytes.append(contentsOf: source[field.name])
        bytes.append(ASCII.colon)
        bytes.append(ASCII.space)
        bytes.append(contentsOf: source[field.value])
        appendCRLF()
    }

    /// Appends `Content-Length: n\r\n`.
    public mutating func appendContentLength(_ length: UInt64) {
        append("Content-Length: ")
        appendDecimal(length)
        appendCRLF()
    }

    /// The chunk-size line for a chunk of `size` bytes: lowercase hex, CRLF, no extensions.
    public static func chunkHeader(size: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        digits.reserveCapacity(18)
        var value = size
        repeat {
            let nibble = UInt8(value & 0xF)
            digits.append(nibble < 10 ? nibble + 0x30 : nibble - 10 + 0x61)
            value >>= 4
        } while value > 0
        digits.reverse()
        digits.append(ASCII.cr)
        digits.append(ASCII.lf)
        return digits
    }

    /// CRLF after a chunk's data.
    public static let chunkEnd: [UInt8] = [ASCII.cr, ASCII.lf]
    /// The last chunk with no trailers.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
