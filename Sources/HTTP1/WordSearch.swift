/// Byte searches eight bytes at a time (SWAR, "SIMD within a register").
///
/// A head is mostly bytes the codec only has to skip: the text between line ends, the
/// printable bytes of a field value. Testing them one at a time cost several
/// instructions a byte; here an 8-byte word is loaded and all its bytes are tested at
/// once with a few integer operations, and only the first hit is looked at.
///
/// The tests below are exact for the lowest flagged byte of a word and may flag bytes
/// above it falsely (a borrow from a true hit runs upward), so each search takes only
/// the first hit (`trailingZeroBitCount` of the little-endian word) and starts afresh
/// after it. Words are read with unaligned loads inside the buffer; fewer than eight
/// bytes at the end are tested one by one.
enum WordSearch {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `word` that is zero (exact for the lowest one).
    @inline(__always) static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highBits
    }

    /// The high bit of each byte of `word` below `limit` (exact for the lowest one;
    /// `limit` at most 0x80, so bytes of 0x80 and above are never flagged).
    @inline(__always) static func bytesBelow(_ limit: UInt8, _ word: UInt64) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highBits
    }

    /// `byte` in every byte of a word.
    @inline(__always) static func repeated(_ byte: UInt8) -> UInt64 { ones &* UInt64(byte) }

    /// The eight bytes at `offset` as a little-endian word: byte `offset` is the lowest.
    @inline(__always) static func word(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The index of the first CR or LF at or after `start`, or `bytes.count` if none.
    @inline(__always) static func firstLineEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= bytes.count {
            let word = word(bytes, at: index)
            let hits = zeroBytes(word ^ repeated(ASCII.cr)) | zeroBytes(word ^ repeated(ASCII.lf))
            if hits != 0 { return index &+ hits.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        while index < bytes.count, bytes[index] != ASCII.cr, bytes[index] != ASCII.lf { index &+= 1 }
        return index
    }

    /// The index of the first byte at or after `start` that is not an ASCII letter,
    /// digit or `-` (the bytes of nearly every field name), looking at whole words
    /// only: it stops at the first word holding such a byte, or at the last
    /// `bytes.count % 8` bytes, which the caller goes on to test one by one.
    @inline(__always) static func skipLettersDigitsAndHyphens(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= bytes.count {
            let others = notLetterDigitOrHyphen(word(bytes, at: index))
            if others != 0 { return index &+ others.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        return index
    }

    /// The high bit of each byte of `word` that is not an ASCII letter, digit or `-`,
    /// exact for every byte: each test works on the low seven bits, where adding at
    /// most 0x7F carries into no neighbour, and bytes of 0x80 and above are added last.
    /// A byte x is in [a, b] when x + (0x80 - a) has its high bit and x + (0x7F - b)
    /// has not.
    @inline(__always) static func notLetterDigitOrHyphen(_ word: UInt64) -> UInt64 {
        let low = word & repeated(0x7F)
        // Setting 0x20 folds A–Z onto a–z and nothing else onto them.
        let folded = low | repeated(0x20)
        let letter = (folded &+ repeated(0x80 - 0x61)) & ~(folded &+ repeated(0x7F - 0x7A))
        let digit = (low &+ repeated(0x80 - 0x30)) & ~(low &+ repeated(0x7F - 0x39))
        let hyphen = ~((low ^ repeated(0x2D)) &+ repeated(0x7F))
        return (~(letter | digit | hyphen) | word) & highBits
    }

    /// The index of the first byte at or after `start` that a request-target may not
    /// hold (RFC 9112 §3.2: no whitespace, CTL, DEL, non-ASCII, and no `#` fragment), or
    /// `bytes.count` if none. SP and CR, which end a target, are among them.
    @inline(__always) static func firstNonTargetByte(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= bytes.count {
            let word = word(bytes, at: index)
            let hits = bytesBelow(0x21, word) | zeroBytes(word ^ repeated(0x7F)) | (word & highBits)
                | zeroBytes(word ^ repeated(UInt8(ascii: "#")))
            if hits != 0 { return index &+ hits.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "#") { break }
            index &+= 1
        }
        return index
    }

    /// The index of the first `byte` at or after `start`, or `bytes.count` if none.
    @inline(__always) static func first(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= bytes.count {
            let hits = zeroBytes(word(bytes, at: index) ^ repeated(byte))
            if hits != 0 { return index &+ hits.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        while index < bytes.count, bytes[index] != byte { index &+= 1 }
        return index
    }

    /// The index of the first control byte (below 0x20: HTAB, CR, LF, NUL…) or DEL at
    /// or after `start`, or `bytes.count` if none: the bytes a field value may not hold,
    /// but for HTAB, and the CR that ends it.
    @inline(__always) static func firstControl(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= bytes.count {
            let word = word(bytes, at: index)
            let hits = bytesBelow(0x20, word) | zeroBytes(word ^ repeated(0x7F))
            if hits != 0 { return index &+ hits.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        while index < bytes.count, bytes[index] >= 0x20, bytes[index] != 0x7F { index &+= 1 }
        return index
    }
}
