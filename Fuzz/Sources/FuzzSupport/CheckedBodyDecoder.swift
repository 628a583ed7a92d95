import HTTP1

/// A `BodyDecoder` with its contract checked at every step, collecting the data a proxy
/// would forward.
///
/// Checked: a step never claims more bytes than it was offered; every step but the last
/// (`end`, `failed`) consumes at least one byte, so a caller's loop always progresses;
/// data never runs past `pendingDataBytes`, past the announced chunk or past a
/// Content-Length; `chunkStart`, data and `chunkEnd` come in that order; a complete
/// length-delimited body holds exactly its length, a chunked one the sum of its chunks.
public struct CheckedBodyDecoder {
    public enum Status: Equatable, Sendable {
        case needMore
        case complete
        case failed(HTTPParseError)
    }

    public let framing: BodyDecoder.Framing
    private var decoder: BodyDecoder
    /// The body's data bytes, in order.
    public private(set) var data: [UInt8] = []
    public private(set) var status: Status
    /// Inside a chunk: its data bytes still due; nil between chunks.
    private var chunkRemaining: UInt64?
    private var announcedChunkBytes: UInt64 = 0

    public init(framing: BodyDecoder.Framing, limits: HTTPLimits) {
        self.framing = framing
        decoder = BodyDecoder(framing: framing, limits: limits)
        status = decoder.isComplete ? .complete : .needMore
    }

    /// Offers `bytes`; returns how many of them belong to the body. After `complete` or
    /// `failed`, nothing more is taken.
    public mutating func offer(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while status == .needMore, offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let pending = decoder.pendingDataBytes
            let step = decoder.step(rest)
            switch step {
            case .data(let count):
                fuzzCheck(count > 0 && count <= rest.count, "data(\(count)) when \(rest.count) bytes were offered")
                fuzzCheck(pending.map { UInt64(count) <= $0 } ?? false, "data(\(count)) with \(String(describing: pending)) pending")
                switch framing {
                case .chunked:
                    let remaining = chunkRemaining ?? 0
                    fuzzCheck(UInt64(count) <= remaining, "data(\(count)) with \(remaining) left in the chunk")
                    chunkRemaining = remaining - UInt64(count)
                case .length(let length):
                    fuzzCheck(UInt64(data.count + count) <= length, "data past Content-Length \(length)")
                case .untilClose:
                    break
                }
                data.append(contentsOf: rest[0..<count])
                offset += count
                if decoder.isComplete { complete() }
            case .framing(let count):
                fuzzCheck(framing == .chunked, "framing(\(count)) in a \(framing) body")
                fuzzCheck(count > 0 && count <= rest.count, "framing(\(count)) when \(rest.count) bytes were offered")
                offset += count
            case .chunkStart(let size, let count):
                fuzzCheck(framing == .chunked && chunkRemaining == nil, "chunkStart inside a chunk or a \(framing) body")
                fuzzCheck(size > 0, "chunkStart of an empty chunk (the last chunk is not a chunk)")
                fuzzCheck(count > 0 && count <= rest.count, "chunkStart consumed \(count) of \(rest.count)")
                chunkRemaining = size
                let (total, overflow) = announcedChunkBytes.addingReportingOverflow(size)
                announcedChunkBytes = overflow ? .max : total
                offset += count
            case .chunkEnd(let count):
                fuzzCheck(chunkRemaining == 0, "chunkEnd with \(String(describing: chunkRemaining)) bytes of the chunk left")
                fuzzCheck(count > 0 && count <= rest.count, "chunkEnd consumed \(count) of \(rest.count)")
                chunkRemaining = nil
                offset += count
            case .end(let count):
                fuzzCheck(count >= 0 && count <= rest.count, "end(\(count)) when \(rest.count) bytes were offered")
                fuzzCheck(decoder.isComplete, "end while the decoder is not complete")
                fuzzCheck(chunkRemaining == nil, "end inside a chunk")
                offset += count
                complete()
            case .failed(let error):
                fuzzCheck(!decoder.isComplete, "failed(\(error)) after completing")
                status = .failed(error)
            }
        }
        return offset
    }

    /// The stream ended (the peer closed): a close-delimited body ends properly, any other
    /// unfinished one is truncated.
    public mutating func finish() {
        guard status == .needMore else { return }
        let error = decoder.finish()
        if framing == .untilClose {
            fuzzCheck(error == nil, "finish() of a close-delimited body said \(String(describing: error))")
            complete()
        } else {
            fuzzCheck(error == .truncatedBody, "finish() of an unfinished \(framing) body said \(String(describing: error))")
            status = .failed(.truncatedBody)
        }
    }

    private mutating func complete() {
        switch framing {
        case .length(let length):
            fuzzCheck(UInt64(data.count) == length, "complete with \(data.count) of \(length) bytes")
        case .chunked:
            fuzzCheck(UInt64(data.count) == announcedChunkBytes, "complete with \(data.count) bytes for \(announcedChunkBytes) announced")
        case .untilClose:
            break
        }
        status = .complete
    }
}
