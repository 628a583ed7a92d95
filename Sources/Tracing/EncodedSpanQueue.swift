/// The spans an exporter holds until it sends them: batches of encoded spans, kept as
/// they came, in order.
///
/// A batch arrives already encoded (a worker wrote it, with room ahead for an export
/// request), so an export of exactly the first batch is built around its spans where they
/// lie and handed over without a copy; only an export that takes part of a batch, or
/// spans from several, copies them (`EncodedSpans.takeRequest`, `append(contentsOf:)`).
struct EncodedSpanQueue {
    private var batches: [EncodedSpans] = []
    private(set) var count = 0
    /// The room a batch keeps ahead of its spans.
    let headroom: Int

    init(headroom: Int) {
        self.headroom = headroom
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ spans: consuming EncodedSpans) {
        let added = spans.count
        guard added > 0 else { return }
        count += added
        batches.append(spans)
    }

    /// How many bytes the first `spans` spans take.
    func byteCount(ofFirst spans: Int) -> Int {
        var left = spans
        var bytes = 0
        for batch in batches where left > 0 {
            let taken = min(left, batch.count)
            bytes += batch.byteCount(ofFirst: taken)
            left -= taken
        }
        return bytes
    }

    /// `spans` moved to where a batch ends, so that an export takes whole batches and
    /// none is copied: on to the end of the batch it stops in when those spans take at
    /// most `maxBytes`, else back to the end of the one before; `spans` itself when the
    /// first batch alone is more than `maxBytes`.
    func batchAligned(_ spans: Int, maxBytes: Int) -> Int {
        var end = 0
        var bytes = 0
        for batch in batches {
            let batchBytes = batch.byteCount(ofFirst: batch.count)
            if end >= spans { break }
            if bytes + batchBytes > maxBytes { return end > 0 ? end : spans }
            end += batch.count
            bytes += batchBytes
        }
        return end
    }

    /// Forgets the first `spans` spans.
    mutating func removeFirst(_ spans: Int) {
        var left = min(spans, count)
        count -= left
        while left > 0 {
            let first = batches[0].count
            if left >= first {
                batches.removeFirst()
                left -= first
            } else {
                batches[0].removeFirst(left)
                left = 0
            }
        }
    }

    /// The first `spans` spans as one export request. Whole batches are handed over in
    /// place, the request's head written in the room ahead of the first one; a batch
    /// taken in part gives a copy of the spans taken, or of those it keeps
    /// (`EncodedSpans.takeRequest`), whichever is fewer bytes.
    mutating func takeRequest(_ spans: Int, preamble: OTLPEncoder.Preamble) -> ExportBody {
        precondition(spans > 0 && spans <= count)
        count -= spans
        if batches[0].count > spans { return batches[0].takeRequest(spans, preamble: preamble) }
        let length = byteCount(ofFirst: spans)
        let headerLength = OTLPEncoder.headerLength(spans: length, preamble: preamble)
        let writeHeader = { (cursor: inout ProtobufCursor) in OTLPEncoder.writeHeader(spans: length, preamble: preamble, to: &cursor) }
        var pieces: [ExportBody.Piece] = []
        var left = spans
        while left > 0 {
            let batchCount = batches[0].count
            if batchCount > left {
                pieces.append(batches[0].copy(ofFirst: left))
                batches[0].removeFirst(left)
                break
            }
            // Moved out of the queue, so that its storage is referenced once.
            let batch = batches.removeFirst()
            left -= batchCount
            // `consume`: the batch handed over, not a copy of it (which would make
            // the header's write copy the whole storage).
            if !pieces.isEmpty {
                pieces.append((consume batch).takeAll())
            } else if batch.roomAhead >= headerLength {
                pieces.append((consume batch).takeAll(headerLength: headerLength, header: writeHeader))
            } else {
                var header = ProtobufWriter(capacity: headerLength)
                header.write(reserving: headerLength, writeHeader)
                pieces.append(ExportBody.Piece(writer: header, range: 0..<header.count))
                pieces.append((consume batch).takeAll())
            }
        }
        return ExportBody(pieces)
    }
}
