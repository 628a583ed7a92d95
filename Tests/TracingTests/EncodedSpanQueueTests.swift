import Testing
@testable import Tracing

/// The exporter's pending spans are the batches workers encoded, kept as they came: an
/// export is the same request whichever way it is cut from them, and an export of whole
/// batches is sent from where they were written, not from a copy.
@Suite struct EncodedSpanQueueTests {
    static let preamble = OTLPEncoder.Preamble(SpanWriterTests.resource)

    /// Batches of these sizes, spans numbered from 1 across them.
    static func queue(_ sizes: [Int]) -> EncodedSpanQueue {
        var queue = EncodedSpanQueue(headroom: preamble.maximumHeaderLength)
        var number: UInt8 = 0
        for size in sizes {
            var batch = OTLPSpanWriter(headroom: preamble.maximumHeaderLength)
            for _ in 0..<size {
                number += 1
                SpanWriterTests.span(number).write(to: &batch)
            }
            queue.append(batch.spans)
        }
        return queue
    }

    static func names(_ body: ExportBody) -> [String] {
        SpanWriterTests.decodedSpans(body.array).compactMap { $0.string(5) }
    }

    static func names(_ numbers: ClosedRange<Int>) -> [String] {
        numbers.map { "span \($0)" }
    }

    @Test(arguments: [
        // Batch sizes, then the exports taken one after another.
        ([3], [3]),
        ([3], [1, 2]),
        ([3, 2], [5]),
        ([3, 2, 4], [4, 5]),
        ([3, 2, 4], [2, 6, 1]),
        ([1, 1, 1, 1], [3, 1]),
    ])
    func exportsCarryTheSpansInOrderHoweverTheyAreCut(batches: [Int], exports: [Int]) {
        var queue = Self.queue(batches)
        var next = 1
        for count in exports {
            let body = queue.takeRequest(count, preamble: Self.preamble)
            #expect(Self.names(body) == Self.names(next...(next + count - 1)))
            next += count
        }
        #expect(queue.isEmpty)
        #expect(queue.count == 0)
    }

    @Test func anExportOfWholeBatchesIsSentFromWhereTheyWereWritten() throws {
        var batch = OTLPSpanWriter(headroom: Self.preamble.maximumHeaderLength)
        for number: UInt8 in 1...3 { SpanWriterTests.span(number).write(to: &batch) }
        let written = batch.spans.withUnsafeBytes(ofFirst: 3) { $0.baseAddress }
        var queue = EncodedSpanQueue(headroom: Self.preamble.maximumHeaderLength)
        queue.append(batch.spans)
        batch = OTLPSpanWriter()  // the batch's storage is the queue's alone now
        var more = OTLPSpanWriter(headroom: Self.preamble.maximumHeaderLength)
        SpanWriterTests.span(4).write(to: &more)
        queue.append(more.spans)

        let headerLength = OTLPEncoder.headerLength(spans: queue.byteCount(ofFirst: 4), preamble: Self.preamble)
        let body = queue.takeRequest(4, preamble: Self.preamble)
        var pieces: [UnsafeRawBufferPointer] = []
        body.forEachPiece { pieces.append($0) }
        try #require(pieces.count == 2)
        // The request's head went in the room ahead of the first batch's spans.
        #expect(pieces[0].baseAddress.map { $0 + headerLength } == written.map { UnsafeRawPointer($0) })
        #expect(Self.names(body) == Self.names(1...4))
    }

    @Test func exportsEndWhereABatchEndsWhenTheBytesAllow() {
        let queue = Self.queue([3, 2, 4])
        let all = queue.byteCount(ofFirst: 9)
        // On to the end of the batch the export would stop in.
        #expect(queue.batchAligned(2, maxBytes: all) == 3)
        #expect(queue.batchAligned(4, maxBytes: all) == 5)
        #expect(queue.batchAligned(5, maxBytes: all) == 5)
        #expect(queue.batchAligned(9, maxBytes: all) == 9)
        // Back to the end of the batch before when that would take too many bytes.
        #expect(queue.batchAligned(4, maxBytes: queue.byteCount(ofFirst: 4)) == 3)
        // The first batch alone is too large: cut it where asked.
        #expect(queue.batchAligned(2, maxBytes: queue.byteCount(ofFirst: 2)) == 2)
    }

    @Test func spansAreDroppedFromTheFrontAcrossBatches() {
        var queue = Self.queue([3, 2, 4])
        queue.removeFirst(4)
        #expect(queue.count == 5)
        #expect(Self.names(queue.takeRequest(5, preamble: Self.preamble)) == Self.names(5...9))
    }

    /// Spans written without room ahead (by any writer) are still sent whole.
    @Test func batchesWithoutRoomAheadAreSentWithTheirHeadApart() {
        var queue = EncodedSpanQueue(headroom: 0)
        var batch = OTLPSpanWriter()
        for number: UInt8 in 1...2 { SpanWriterTests.span(number).write(to: &batch) }
        queue.append(batch.spans)
        let body = queue.takeRequest(2, preamble: Self.preamble)
        #expect(body.array == OTLPEncoder.request(batch.spans.prefix(2), preamble: Self.preamble))
    }
}
