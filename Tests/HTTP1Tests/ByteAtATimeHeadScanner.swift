import HTTP1

/// The head scanner as it was before it searched for line ends a word at a time: one
/// byte per step, every rule applied to every byte. Kept as the definition the fast
/// `HeadScanner` must match, verdict for verdict and byte count for byte count.
struct ByteAtATimeHeadScanner {
    private let maxHeadBytes: Int
    private var scanned = 0
    private var leadingBytes = 0
    private var lineLength = 0
    private var lineIndex = 0
    private var sawCR = false
    private let maxLeadingEmptyLines = 4

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    var bytesScanned: Int { scanned }

    mutating func scan(_ bytes: [UInt8]) -> HeadScanner.Result {
        for byte in bytes {
            scanned += 1
            if sawCR {
                guard byte == 0x0A else { return .failed(.bareCarriageReturn) }
                sawCR = false
                if lineLength == 0 {
                    if lineIndex == 0 {
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
            if byte == 0x0D {
                sawCR = true
            } else if byte == 0x0A {
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
}

/// What a scan of a stream cut into pieces gives: the result after each piece, with the
/// bytes scanned so far, up to the first that is not `.needMore`.
struct ScanTrace: Equatable, CustomStringConvertible {
    var steps: [String] = []

    var description: String { steps.joined(separator: "; ") }

    /// Cuts `bytes` at `cuts` (sorted offsets) and feeds the pieces to `HeadScanner`.
    static func fast(_ bytes: [UInt8], cuts: [Int], maxHeadBytes: Int) -> ScanTrace {
        var scanner = HeadScanner(maxHeadBytes: maxHeadBytes)
        return run(bytes, cuts: cuts) { piece in
            let result = piece.withUnsafeBytes { scanner.scan($0) }
            return (result, scanner.bytesScanned)
        }
    }

    /// The same pieces fed to `ByteAtATimeHeadScanner`.
    static func reference(_ bytes: [UInt8], cuts: [Int], maxHeadBytes: Int) -> ScanTrace {
        var scanner = ByteAtATimeHeadScanner(maxHeadBytes: maxHeadBytes)
        return run(bytes, cuts: cuts) { piece in (scanner.scan(piece), scanner.bytesScanned) }
    }

    private static func run(
        _ bytes: [UInt8], cuts: [Int], _ scan: ([UInt8]) -> (HeadScanner.Result, Int)
    ) -> ScanTrace {
        var trace = ScanTrace()
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            let (result, scanned) = scan(Array(bytes[start..<end]))
            trace.steps.append("\(result) after \(scanned)")
            start = end
            if result != .needMore { break }
        }
        return trace
    }
}
