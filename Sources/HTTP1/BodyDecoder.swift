/// Delimits a message body in a byte stream without holding any of its bytes.
///
/// The caller offers the bytes it has; the decoder answers with one `Step` saying how
/// many of them to take and what they are: body data to forward, framing to drop, the
/// start or end of a chunk, or the end of the body. A proxy moves data bytes between
/// buffers and writes canonical chunk framing of its own, so chunk extensions and
/// trailers never leave the decoder.
///
/// Chunked rules (RFC 9112 §7.1): `chunk-size = 1*HEXDIG`, at most 16 digits; an
/// extension starts with `;` straight after the size (no whitespace), holds no CTL,
/// and is capped at `HTTPLimits.maxChunkExtensionBytes`; data is followed by CRLF;
/// trailer fields are checked with the head's field-line rules and limits
/// (`TrailerSectionScanner`) and dropped, so they never merge into the header section
/// (§7.1.2).
public struct BodyDecoder: Sendable {
    public enum Framing: Sendable, Equatable {
        case length(UInt64)
        case chunked
        case untilClose
    }

    public enum Step: Sendable, Equatable {
        /// The first `count` bytes are body data.
        case data(Int)
        /// The first `count` bytes are framing; drop them.
        case framing(Int)
        /// A chunk of `size` data bytes begins after the first `consumed` bytes.
        case chunkStart(size: UInt64, consumed: Int)
        /// A chunk's data ended; its CRLF is the first `consumed` bytes.
        case chunkEnd(consumed: Int)
        /// The body is complete after the first `consumed` bytes; bytes after them
        /// belong to the next message.
        case end(consumed: Int)
        case failed(HTTPParseError)
    }

    private enum State: Sendable, Equatable {
        case length(remaining: UInt64)
        case untilClose
        case chunkSize(value: UInt64, digits: Int)
        case chunkExtension(value: UInt64, length: Int)
        case chunkSizeLF(value: UInt64)
        case chunkData(remaining: UInt64)
        case chunkDataCR
        case chunkDataLF
        case trailerSection
        case done
    }

    private var state: State
    private var trailers = TrailerSectionScanner()
    private let limits: HTTPLimits

    public init(framing: Framing, limits: HTTPLimits = .default) {
        self.limits = limits
        switch framing {
        case .length(let count): state = count == 0 ? .done : .length(remaining: count)
        case .chunked: state = .chunkSize(value: 0, digits: 0)
        case .untilClose: state = .untilClose
        }
    }

    public var isComplete: Bool { state == .done }

    /// The number of data bytes the decoder will accept next without looking at them,
    /// when the body is in a data run; nil while framing is being read.
    public var pendingDataBytes: UInt64? {
        switch state {
        case .length(let remaining), .chunkData(let remaining): return remaining
        case .untilClose: return UInt64.max
        default: return nil
        }
    }

    /// Offers bytes (at least one); returns what the first of them are.
    public mutating func step(_ bytes: UnsafeRawBufferPointer) -> Step {
        precondition(!bytes.isEmpty, "BodyDecoder.step needs at least one byte")
        switch state {
        case .done:
            return .end(consumed: 0)
        case .untilClose:
            return .data(bytes.count)
        case .length(let remaining):
            let count = Int(min(remaining, UInt64(bytes.count)))
            let left = remaining - UInt64(count)
            if left == 0 { state = .done }
            else { state = .length(remaining: left) }
            return .data(count)
        case .chunkData(let remaining):
            let count = Int(min(remaining, UInt64(bytes.count)))
            let left = remaining - UInt64(count)
            state = left == 0 ? .chunkDataCR : .chunkData(remaining: left)
            return .data(count)
        default:
            return stepFraming(bytes)
        }
    }

    /// Called when the stream ends. Returns nil when the body ended properly there
    /// (close-delimited), otherwise `.truncatedBody`.
    public mutating func finish() -> HTTPParseError? {
        switch state {
        case .untilClose:
            state = .done
            return nil
        case .done:
            return nil
        default:
            return .truncatedBody
        }
    }

    private mutating func stepFraming(_ bytes: UnsafeRawBufferPointer) -> Step {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch state {
            case .chunkSize(let value, let digits):
                if let hex = ASCII.hexValue(byte) {
                    guard digits < 16 else { return .failed(.invalidChunkSize) }
                    state = .chunkSize(value: value << 4 | UInt64(hex), digits: digits + 1)
                } else if digits == 0 {
                    return .failed(.invalidChunkSize)
                } else if byte == ASCII.semicolon {
                    state = .chunkExtension(value: value, length: 1)
                } else if byte == ASCII.cr {
                    state = .chunkSizeLF(value: value)
                } else {
                    return .failed(.invalidChunkSize)
                }
            case .chunkExtension(let value, let length):
                if byte == ASCII.cr {
                    state = .chunkSizeLF(value: value)
                } else {
                    guard ASCII.isFieldValueByte(byte) else { return .failed(.invalidChunkFraming) }
                    guard length < limits.maxChunkExtensionBytes else { return .failed(.chunkExtensionTooLong) }
                    state = .chunkExtension(value: value, length: length + 1)
                }
            case .chunkSizeLF(let value):
                guard byte == ASCII.lf else { return .failed(.invalidChunkFraming) }
                if value == 0 {
                    state = .trailerSection
                    return stepTrailerSection(bytes, from: index)
                } else {
                    state = .chunkData(remaining: value)
                    return .chunkStart(size: value, consumed: index)
                }
            case .chunkDataCR:
                guard byte == ASCII.cr else { return .failed(.invalidChunkFraming) }
                state = .chunkDataLF
            case .chunkDataLF:
                guard byte == ASCII.lf else { return .failed(.invalidChunkFraming) }
                state = .chunkSize(value: 0, digits: 0)
                return .chunkEnd(consumed: index)
            case .trailerSection:
                return stepTrailerSection(bytes, from: index - 1)
            case .length, .untilClose, .chunkData, .done:
                preconditionFailure("BodyDecoder.stepFraming in data state \(state)")
            }
        }
        return .framing(index)
    }

    /// Reads the trailer section from `bytes[start...]`; the bytes before `start` were
    /// framing. Kept out of `stepFraming`'s loop (never inlined) so the trailer checks
    /// add no code to the chunk-size and chunk-end paths.
    @inline(never)
    private mutating func stepTrailerSection(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Step {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch trailers.scan(byte, limits: limits) {
            case .needMore:
                continue
            case .complete:
                state = .done
                return .end(consumed: index)
            case .failed(let error):
                return .failed(error)
            }
        }
        return .framing(index)
    }
}
