extension ASCII {
    /// Whether `bytes` are `lower` but for the case of their letters: what comparing
    /// `lowercased(byte)` with each byte of `lower` says, eight bytes at a time (SWAR).
    ///
    /// `lower` holds no uppercase letter and no byte above `z` (field names, coding
    /// names, `100-continue`, `http://`…). Then `byte | 0x20` equals a lowercase letter
    /// exactly when `byte` is that letter in either case, and at every other position
    /// `lowercased(byte)` equals the expected byte only when `byte` does.
    @inline(__always) static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: UnsafeRawBufferPointer) -> Bool {
        let count = lower.count
        guard bytes.count == count else { return false }
        if count >= 8 {
            // Whole words, the last one overlapping its neighbour when count is not a multiple of 8.
            var offset = 0
            while true {
                let at = min(offset, count - 8)
                guard wordEqualsIgnoringCase(WordSearch.word(bytes, at: at), WordSearch.word(lower, at: at)) else {
                    return false
                }
                if at == count - 8 { return true }
                offset += 8
            }
        }
        if count >= 4 {
            // Two overlapping 4-byte halves in one word.
            @inline(__always) func halves(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
                UInt64(UInt32(littleEndian: buffer.loadUnaligned(as: UInt32.self)))
                    | UInt64(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))) << 32
            }
            return wordEqualsIgnoringCase(halves(bytes), halves(lower))
        }
        for index in 0..<count where lowercased(bytes[index]) != lower[index] { return false }
        return true
    }

    /// `lower`'s bytes from 0x61 (`a`) to 0x7A (`z`) are its letters: adding 0x1F sets
    /// their high bit and no other's (nor carries into a neighbour, all bytes being at
    /// most 0x7A); that bit moved down to 0x20 is the case bit to ignore there.
    @inline(__always) private static func wordEqualsIgnoringCase(_ word: UInt64, _ lower: UInt64) -> Bool {
        let caseBits = ((lower &+ WordSearch.repeated(0x1F)) & WordSearch.repeated(0x80)) &>> 2
        return (word | caseBits) == lower
    }
}
