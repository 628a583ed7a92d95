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
    private var lineLength = 0
    private var lineIndex = 0
    private var sawCR = false
    private let maxLeadingEmptyLines = 4

    public init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Bytes consumed so far, including skipped leading empty lines.
    public var bytesScanned: Int { scanned }

    /// Scans the next piece of the stream. After `.complete` or `.failed` the scanner
    /// must be reset before reuse.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        for byte in bytes {
            scanned += 1
            if sawCR {
                guard byte == ASCII.lf else { return .failed(.bareCarriageReturn) }
                sawCR = false
                if lineLength == 0 {
                    if lineIndex == 0 {
                        // An empty line before the request line.
                        leadingBytes = scanned
                        if leadingBytes > 2 * maxLeadingEmptyLines { return .failed(.invalidRequestLine) }
                        continue
                    }
                    return .complete(leadingBytes: leadingBytes, headEnd: scanned)
                }
                lineIndex += 1
                lineLength = 0
                continue
            }
            if byte == ASCII.cr {
                sawCR = true
            } else if byte == ASCII.lf {
                return .failed(.bareLineFeed)
            } else {
                lineLength += 1
            }
            if scanned - leadingBytes > maxHeadBytes {
                return .failed(lineIndex == 0 ? .targetTooLong : .headerSectionTooLarge)
            }
        }
        return .needMore
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
