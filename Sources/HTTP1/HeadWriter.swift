/// Builds a canonical message head: CRLF line ends, fields as `name: value`, with
/// names and values copied byte for byte from the head they came from.
///
/// The bytes live in raw memory the writer owns. It is non-copyable, so that memory has
/// one owner and is written with no ownership check at all: an append is a capacity
/// check and a copy, where `Array.append(contentsOf:)` cost some 80 instructions a call
/// (and a copy-on-write storage still a uniqueness check), and a proxied request makes
/// about thirty. A writer kept and cleared with `removeAll()` (a worker's scratch
/// writer) allocates nothing at all.
///
/// `@unchecked Sendable`: the memory is reached only through the one writer that owns it.
public struct HeadWriter: ~Copyable, @unchecked Sendable {
    private var pointer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// The head written so far, as an array (a copy).
    public var bytes: [UInt8] {
        // Reserved and appended: specialized, unlike `Array(_:)` of a raw buffer.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        bytes.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
        return bytes
    }

    /// The head written so far, without a copy.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Forgets what was written, keeping the memory for the next head.
    public mutating func removeAll() {
        count = 0
    }

    /// Every append goes through here: room made if needed, then one copy.
    @inline(__always) private mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let source = buffer.baseAddress, !buffer.isEmpty else { return }
        let needed = count + buffer.count
        if needed > capacity { makeRoom(for: needed) }
        SmallCopy.copy(from: source, to: pointer + count, count: buffer.count)
        count = needed
    }

    /// Room for `needed` bytes (at least twice the old size), what was written moved over.
    private mutating func makeRoom(for needed: Int) {
        let grown = max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = moved
        capacity = grown
    }

    public mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Copies the contiguous UTF-8 that native strings have. Disfavoured, so that a
    /// string literal picks the `StaticString` overload (no String is made for it).
    @_disfavoredOverload
    public mutating func append(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append($0) }
        if copied == nil { append(contentsOf: Array(text.utf8)) }
    }

    public mutating func append(_ source: [UInt8], _ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= source.count, "range outside the source")
        source.withUnsafeBufferPointer { append(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Bytes held in an array: one copy. Called from other modules, the generic
    /// overload below would run unspecialized, through witness tables.
    public mutating func append(contentsOf other: [UInt8]) {
        other.withUnsafeBufferPointer { append($0) }
    }

    public mutating func append<Bytes: Sequence>(contentsOf other: Bytes) where Bytes.Element == UInt8 {
        let copied: Void? = other.withContiguousStorageIfAvailable { append($0) }
        if copied == nil { append(contentsOf: Array(other)) }
    }

    /// Decimal digits written backwards into a stack buffer, then copied once.
    public mutating func appendDecimal(_ value: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxDecimalDigits) { digits in
            let start = Self.writeDecimal(value, endingAt: digits.count, in: digits)
            append(UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// UInt64.max has 20 digits.
    private static var maxDecimalDigits: Int { 20 }

    /// Writes `value` in decimal to end just before `end`; returns where it starts.
    private static func writeDecimal(_ value: UInt64, endingAt end: Int, in buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var start = end
        var rest = value
        repeat {
            start -= 1
            buffer[start] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
            rest /= 10
        } while rest > 0
        return start
    }

    /// The 16-entry table of lowercase hex digits.
    private static var hexDigits: StaticString { "0123456789abcdef" }

    /// Appends the bytes of `raw` as lowercase hex digits, written in place.
    public mutating func appendHex(_ raw: UnsafeRawBufferPointer) {
        append(count: 2 * raw.count) { out in _ = Self.writeHex(raw, to: out) }
    }

    /// Appends `count` bytes that `write` writes in place (all of them), for a line
    /// whose length is known: one capacity check for all its pieces.
    public mutating func append(count: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void) {
        let needed = self.count + count
        if needed > capacity { makeRoom(for: needed) }
        write(pointer + self.count)
        self.count = needed
    }

    /// Writes `raw` as lowercase hex digits (two per byte, from the 16-entry table) at
    /// `out`; returns where they end.
    public static func writeHex(_ raw: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var out = out
        hexPairs.withUnsafeBufferPointer { pairs in
            for byte in raw {
                // Both digits of a byte in one 16-bit store.
                UnsafeMutableRawPointer(out).storeBytes(of: pairs[Int(byte)], as: UInt16.self)
                out += 2
            }
        }
        return out
    }

    /// The two lowercase hex digits of each byte value, as they lie in memory.
    private static let hexPairs: [UInt16] = (0..<256).map { value in
        let digits = Array("0123456789abcdef".utf8)
        return UInt16(digits[value >> 4]) | UInt16(digits[value & 0x0F]) << 8
    }

    public mutating func appendCRLF() {
        append("\r\n" as StaticString)
    }

    /// Appends `name: value\r\n` with both parts taken from `source`. A line received
    /// as exactly that (one SP after the colon, nothing after the value), as most are,
    /// is copied whole in one piece.
    public mutating func appendField(_ source: [UInt8], _ field: HeaderField) {
        let name = field.name
        let value = field.value
        precondition(
            name.lowerBound >= 0 && name.upperBound <= source.count && value.lowerBound >= 0
                && value.upperBound <= source.count, "field outside the source")
        source.withUnsafeBufferPointer { source in
            let separator = name.upperBound
            let lineEnd = value.upperBound
            if value.lowerBound == separator + 2, lineEnd + 2 <= source.count, source[separator] == ASCII.colon,
                source[separator + 1] == ASCII.space, source[lineEnd] == ASCII.cr, source[lineEnd + 1] == ASCII.lf
            {
                append(UnsafeBufferPointer(rebasing: source[name.lowerBound..<(lineEnd + 2)]))
                return
            }
            append(UnsafeBufferPointer(rebasing: source[name]))
            append(": " as StaticString)
            append(UnsafeBufferPointer(rebasing: source[value]))
            append("\r\n" as StaticString)
        }
    }

    /// Appends `Content-Length: n\r\n`, built in a stack buffer and copied once.
    public mutating func appendContentLength(_ length: UInt64) {
        let name: StaticString = "Content-Length: "
        let capacity = name.utf8CodeUnitCount + Self.maxDecimalDigits + 2
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { line in
            line[capacity - 2] = ASCII.cr
            line[capacity - 1] = ASCII.lf
            let digits = Self.writeDecimal(length, endingAt: capacity - 2, in: line)
            let start = digits - name.utf8CodeUnitCount
            (line.baseAddress! + start).initialize(from: name.utf8Start, count: name.utf8CodeUnitCount)
            append(UnsafeBufferPointer(rebasing: line[start...]))
        }
    }

    /// The chunk-size line for a chunk of `size` bytes: lowercase hex, CRLF, no extensions.
    ///
    /// Written into a stack buffer, then copied into an array made from it. Not
    /// `Array(unsafeUninitializedCapacity:)`: that allocates through an unspecialized
    /// standard-library function that looks the storage class up at run time, which
    /// costs more than the whole line.
    public static func chunkHeader(size: UInt64) -> [UInt8] {
        // One digit per 4 significant bits, at least one.
        let digitCount = max(1, (64 - size.leadingZeroBitCount + 3) / 4)
        let table = hexDigits.utf8Start
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 18) { line in
            var value = size
            var index = digitCount
            while index > 0 {
                index -= 1
                line[index] = table[Int(value & 0xF)]
                value >>= 4
            }
            line[digitCount] = ASCII.cr
            line[digitCount + 1] = ASCII.lf
            return Array(UnsafeBufferPointer(rebasing: line[..<(digitCount + 2)]))
        }
    }

    /// CRLF after a chunk's data.
    public static let chunkEnd: [UInt8] = [ASCII.cr, ASCII.lf]
    /// The last chunk with no trailers.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
