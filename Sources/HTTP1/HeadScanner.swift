/// Finds where a message head ends in a byte stream, fed in pieces of any size.
///
/// RFC 9112 §2.2: lines end in CRLF only. A bare LF or a CR not followed by LF is
/// rejected as soon as it is seen, so a client cannot park a connection with a head
/// that will never contain CRLF CRLF. Up to `maxLeadingEmptyLines` empty lines before
/// a request line are skipped (§2.2 "SHOULD ignore at least one empty line").
///
/// The scanner keeps no bytes; it remembers only where it stopped, so scanning costs
/// each byte once however slowly the head arrives.
public struct HeadScanner: Sendable {
    public enum Result: Equatable, Sendable {
        /// Every byte given was part of an unfinished head.
        case needMore
        /// The head is complete: it starts `leadingBytes` into the stream (skipped empty
        /// lines) and ends `headEnd` bytes into the stream, after its blank line.
        case complete(leadingBytes: Int, headEnd: Int)
        case failed(HTTPParseError)
    }

    private let maxHeadBytes: Int
    private var scanned = 0
    private var leadingBytes = 0
    private var lineIsEmpty = true
    private var lineIndex = 0
    private var sawCR = false
    private let maxLeadingEmptyLines = 4

    /// - Parameter maxHeadBytes: the most bytes a head may take after any skipped empty
    ///   lines, counted up to the CR of its blank line (the LF after it is not counted).
    ///   Past it: `.targetTooLong` while still on the request line (414), else
    ///   `.headerSectionTooLarge` (431). Callers pass `HTTPLimits.maxHeaderBytes`
    ///   (default 65536).
    public init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Bytes consumed so far, including skipped leading empty lines.
    public var bytesScanned: Int { scanned }

    /// Scans the next piece of the stream. After `.complete` or `.failed` the scanner
    /// must be reset before reuse.
    ///
    /// The bytes between line ends are taken in bulk (`WordSearch.firstLineEnd`, eight
    /// at a time); each CR, and the byte after it, then goes through the rules one byte
    /// at a time. The verdicts, and `bytesScanned` at each, are those of a
    /// byte-at-a-time scan: a run of ordinary bytes fails at its first byte past the
    /// limit, as that byte alone would.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        var index = 0
        while index < bytes.count {
            if sawCR {
                // The byte after a CR: only LF may follow (most often in this same pass).
                scanned += 1
                let byte = bytes[index]
                index += 1
                if let verdict = endLine(after: byte) { return verdict }
                continue
            }
            let lineEnd = WordSearch.firstLineEnd(in: bytes, from: index)
            let run = lineEnd - index
            if run > 0 {
                // Every byte counts toward the limit; the first one past it fails.
                let room = maxHeadBytes - (scanned - leadingBytes)
                if run > room {
                    scanned += max(room, 0) + 1
                    return .failed(limitExceeded)
                }
                scanned += run
                lineIsEmpty = false
                index = lineEnd
                if index == bytes.count { return .needMore }
            }
            // The search stops only at CR or LF.
            scanned += 1
            guard bytes[index] == ASCII.cr else { return .failed(.bareLineFeed) }
            index += 1
            sawCR = true
            if scanned - leadingBytes > maxHeadBytes { return .failed(limitExceeded) }
        }
        return .needMore
    }

    /// Takes the byte after a CR, already counted in `scanned`: an LF ends the line (and
    /// an empty line ends the head, or is skipped before a request line); anything else
    /// is a bare CR. Nil while the head goes on.
    @inline(__always) private mutating func endLine(after byte: UInt8) -> Result? {
        guard byte == ASCII.lf else { return .failed(.bareCarriageReturn) }
        sawCR = false
        if !lineIsEmpty {
            lineIndex += 1
            lineIsEmpty = true
            return nil
        }
        if lineIndex == 0 {
            // An empty line before the request line.
            leadingBytes = scanned
            return leadingBytes > 2 * maxLeadingEmptyLines ? .failed(.invalidRequestLine) : nil
        }
        return .complete(leadingBytes: leadingBytes, headEnd: scanned)
    }

    /// A request line alone past the limit is answered 414, a longer head 431.
    private var limitExceeded: HTTPParseError {
        lineIndex == 0 ? .targetTooLong : .headerSectionTooLarge
    }

    /// Scans a buffer held elsewhere (a libevent input buffer) from where the last scan
    /// stopped. `forEachChunk(offset, body)` must call `body` with the stored bytes from
    /// `offset` on, one contiguous chunk at a time, until it returns false.
    public mutating func scan(
        _ forEachChunk: (Int, (UnsafeRawBufferPointer) -> Bool) -> Void
    ) -> Result {
        var result = Result.needMore
        forEachChunk(bytesScanned) { chunk in
            result = scan(chunk)
            return result == .needMore
        }
        return result
    }

    public mutating func reset() {
        self = HeadScanner(maxHeadBytes: maxHeadBytes)
    }
}
