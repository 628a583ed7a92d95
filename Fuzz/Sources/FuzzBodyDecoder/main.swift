import FuzzSupport
import HTTP1

/// `BodyDecoder` alone. The input starts with four control bytes:
///
/// - byte 0: framing (bits 0-1: 0 or 1 chunked, 2 Content-Length, 3 close-delimited);
///   bit 2 small limits (16 bytes of chunk extension, 64 of trailers) instead of the
///   defaults, so the limits are reached within libFuzzer's input sizes; bit 3 a
///   Content-Length near 2^64;
/// - byte 1: seed of the split points;
/// - bytes 2-3: the Content-Length, little-endian.
///
/// The rest is the body stream (and whatever follows it), fed whole, in pieces cut by
/// the seed, and a byte at a time; the three must forward the same data, end at the
/// same byte and fail the same way. `CheckedBodyDecoder` checks every step.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard count >= 4, let start else { return 0 }
    let control = UnsafeRawBufferPointer(start: start, count: 4)
    let lengthValue = UInt64(control[2]) | UInt64(control[3]) << 8
    let framing: BodyDecoder.Framing
    switch control[0] & 3 {
    case 2: framing = .length(control[0] & 8 != 0 ? UInt64.max - lengthValue : lengthValue)
    case 3: framing = .untilClose
    default: framing = .chunked
    }
    let limits = control[0] & 4 != 0
        ? HTTPLimits(maxChunkExtensionBytes: 16, maxTrailerBytes: 64)
        : HTTPLimits.default
    let body = UnsafeRawBufferPointer(start: start + 4, count: count - 4)

    let whole = decode(body, pieces: CollectionOfOne(0..<body.count), framing: framing, limits: limits)
    let split = decode(body, pieces: InputSplits(count: body.count, seed: UInt64(control[1])), framing: framing, limits: limits)
    fuzzCheck(whole == split, "split input decoded differently: \(whole.summary) vs \(split.summary)")
    if body.count <= 1024 {
        let bytewise = decode(body, pieces: (0..<body.count).lazy.map { $0..<($0 + 1) }, framing: framing, limits: limits)
        fuzzCheck(whole == bytewise, "input a byte at a time decoded differently: \(whole.summary) vs \(bytewise.summary)")
    }
    return 0
}

private struct Decoded: Equatable {
    var data: [UInt8]
    var status: CheckedBodyDecoder.Status
    /// Bytes that belonged to the body, framing included; nil after a failure, where the
    /// decoder says nothing of the framing bytes it had read in the failing step.
    var consumed: Int?

    var summary: String { "\(data.count) data bytes, \(status), \(consumed.map(String.init) ?? "-") consumed" }
}

private func decode<Pieces: Sequence<Range<Int>>>(
    _ body: UnsafeRawBufferPointer, pieces: Pieces, framing: BodyDecoder.Framing, limits: HTTPLimits
) -> Decoded {
    var decoder = CheckedBodyDecoder(framing: framing, limits: limits)
    var consumed = 0
    for piece in pieces {
        // The proxy offers what it holds: the unconsumed rest of earlier pieces too.
        let offered = UnsafeRawBufferPointer(rebasing: body[consumed..<piece.upperBound])
        consumed += decoder.offer(offered)
        if decoder.status != .needMore { break }
        fuzzCheck(consumed == piece.upperBound, "an unfinished body left \(piece.upperBound - consumed) bytes")
    }
    decoder.finish()
    return Decoded(data: decoder.data, status: decoder.status, consumed: decoder.status == .complete ? consumed : nil)
}
