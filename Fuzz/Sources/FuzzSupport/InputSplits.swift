/// Ways of cutting one input into pieces, so each run also checks that a streaming parser
/// gives the same answer however its input arrives (CONVENTIONS 8).
///
/// The cuts come from a seed by xorshift: from the input's own hash where the input is a
/// plain message (corpus files stay readable HTTP), or from a control byte libFuzzer
/// mutates. Piece sizes lean small (1 to 3 bytes) with some long runs, so every state of
/// a decoder meets a piece boundary.
public struct InputSplits: Sequence, IteratorProtocol {
    private var state: UInt64
    private var offset = 0
    private let count: Int

    public init(count: Int, seed: UInt64) {
        self.count = count
        // xorshift is stuck at zero.
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    /// Seeded by the FNV-1a hash of `bytes`.
    public init(of bytes: UnsafeRawBufferPointer) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.init(count: bytes.count, seed: hash)
    }

    /// The next piece, as a range of the input; nil past its end.
    public mutating func next() -> Range<Int>? {
        guard offset < count else { return nil }
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let length: Int
        switch state % 8 {
        case 0, 1, 2: length = 1
        case 3: length = 2
        case 4: length = 3
        case 5: length = 1 + Int((state >> 8) % 16)
        case 6: length = 1 + Int((state >> 8) % 256)
        default: length = count - offset
        }
        let piece = offset..<Swift.min(count, offset + length)
        offset = piece.upperBound
        return piece
    }
}
