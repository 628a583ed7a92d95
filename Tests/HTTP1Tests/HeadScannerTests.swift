import HTTP1
import PropertyBased
import Testing

/// `HeadScanner` finds line ends eight bytes at a time; these pin it to the byte-at-a-time
/// definition (`ByteAtATimeHeadScanner`) where words make a difference: line ends at
/// every offset of a word and across two, stray CR and LF at every offset, the limit
/// reached inside a run of bytes, and every way of cutting the stream.
@Suite struct HeadScannerTests {
    /// Heads whose CRs and LFs fall at every offset of an 8-byte word, and straddle two
    /// words: the request line shifted by 0 to 7 bytes, then field lines with values of
    /// 0 to 9 bytes (line lengths 5 to 14).
    static let alignedHeads: [[UInt8]] = (0..<8).map { shift in
        var text = "GET /" + String(repeating: "p", count: shift) + " HTTP/1.1\r\nHost: a\r\n"
        for length in 0..<10 { text += "X: " + String(repeating: "v", count: length) + "\r\n" }
        return Array((text + "\r\n").utf8)
    }

    func expectSameAsReference(_ bytes: [UInt8], cuts: [Int], maxHeadBytes: Int = 65536, _ comment: Comment? = nil) {
        let fast = ScanTrace.fast(bytes, cuts: cuts, maxHeadBytes: maxHeadBytes)
        let reference = ScanTrace.reference(bytes, cuts: cuts, maxHeadBytes: maxHeadBytes)
        #expect(fast == reference, comment ?? "cuts \(cuts), limit \(maxHeadBytes)")
    }

    @Test(arguments: alignedHeads)
    func headsWithLineEndsAtEveryWordOffsetCompleteHoweverCut(_ head: [UInt8]) {
        var scanner = HeadScanner(maxHeadBytes: 65536)
        #expect(head.withUnsafeBytes { scanner.scan($0) } == .complete(leadingBytes: 0, headEnd: head.count))
        // Every cut into two pieces, and into three with a middle piece of up to 9 bytes
        // (a word and a bit: a line end alone in a piece, or split from its word).
        for first in 0...head.count {
            expectSameAsReference(head, cuts: [first])
            for second in first...min(first + 9, head.count) {
                expectSameAsReference(head, cuts: [first, second])
            }
        }
        expectSameAsReference(head, cuts: Array(0...head.count), "byte by byte")
    }

    @Test func leadingEmptyLinesAreSkippedHoweverCut() {
        for count in 0...5 {
            let head = Array((String(repeating: "\r\n", count: count) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n").utf8)
            for cut in 0...head.count { expectSameAsReference(head, cuts: [cut]) }
            var scanner = HeadScanner(maxHeadBytes: 65536)
            let expected: HeadScanner.Result =
                count <= 4 ? .complete(leadingBytes: 2 * count, headEnd: head.count) : .failed(.invalidRequestLine)
            #expect(head.withUnsafeBytes { scanner.scan($0) } == expected)
        }
    }

    /// A CR followed by anything but LF, at each offset of two words of a value.
    @Test(arguments: 0..<16)
    func bareCarriageReturnIsRejectedAtEveryOffsetOfAWord(_ offset: Int) {
        let prefix = Array("GET / HTTP/1.1\r\nX: ".utf8)  // 19 bytes: the value starts mid-word
        var value = Array("abcdefghijklmnop".utf8)
        value[offset] = 0x0D
        let head = prefix + value + Array("\r\n\r\n".utf8)
        let position = prefix.count + offset
        var scanner = HeadScanner(maxHeadBytes: 65536)
        #expect(head.withUnsafeBytes { scanner.scan($0) } == .failed(.bareCarriageReturn))
        #expect(scanner.bytesScanned == position + 2)
        for cut in 0...head.count { expectSameAsReference(head, cuts: [cut]) }
    }

    /// An LF with no CR before it, at each offset of two words of a value and of the request line.
    @Test(arguments: 0..<16)
    func bareLineFeedIsRejectedAtEveryOffsetOfAWord(_ offset: Int) {
        let prefix = Array("GET / HTTP/1.1\r\nX: ".utf8)
        var value = Array("abcdefghijklmnop".utf8)
        value[offset] = 0x0A
        let head = prefix + value + Array("\r\n\r\n".utf8)
        var scanner = HeadScanner(maxHeadBytes: 65536)
        #expect(head.withUnsafeBytes { scanner.scan($0) } == .failed(.bareLineFeed))
        #expect(scanner.bytesScanned == prefix.count + offset + 1)
        for cut in 0...head.count { expectSameAsReference(head, cuts: [cut]) }

        var requestLine = Array("GET /abcdefghijklmn HTTP/1.1\r\n\r\n".utf8)
        requestLine[offset] = 0x0A
        for cut in 0...requestLine.count { expectSameAsReference(requestLine, cuts: [cut]) }
    }

    /// The limit counts every byte after the skipped empty lines up to the CR of the
    /// blank line; the LF that ends the head is not counted (as it never was), so a head
    /// of n bytes fits a limit of n - 1 and not of n - 2.
    @Test(arguments: [0, 1, 2])
    func headAtTheLimitIsAcceptedAndOneByteOverIsRejected(_ leadingEmptyLines: Int) {
        let leading = Array(String(repeating: "\r\n", count: leadingEmptyLines).utf8)
        for head in Self.alignedHeads {
            let stream = leading + head
            func verdict(_ limit: Int) -> HeadScanner.Result {
                var scanner = HeadScanner(maxHeadBytes: limit)
                return stream.withUnsafeBytes { scanner.scan($0) }
            }
            let complete = HeadScanner.Result.complete(leadingBytes: leading.count, headEnd: stream.count)
            #expect(verdict(head.count) == complete)
            #expect(verdict(head.count - 1) == complete)
            #expect(verdict(head.count - 2) == .failed(.headerSectionTooLarge))
            for limit in (head.count - 12)...(head.count + 1) {
                for cut in stride(from: 0, through: stream.count, by: 3) {
                    expectSameAsReference(stream, cuts: [cut], maxHeadBytes: limit)
                }
            }
        }
    }

    /// A request line longer than the limit fails at the first byte past it (414), in a
    /// run of ordinary bytes at any offset of a word.
    @Test(arguments: 0..<8)
    func requestLinePastTheLimitFailsAtTheFirstByteOverIt(_ limitOffset: Int) {
        let line = Array(("GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\nHost: a\r\n\r\n").utf8)
        let limit = 16 + limitOffset
        var scanner = HeadScanner(maxHeadBytes: limit)
        #expect(line.withUnsafeBytes { scanner.scan($0) } == .failed(.targetTooLong))
        #expect(scanner.bytesScanned == limit + 1)
        for cut in 0...line.count { expectSameAsReference(line, cuts: [cut], maxHeadBytes: limit) }
    }

    static let streamByte = Gen<UInt8?>.element(of: [0x0D, 0x0A, 0x0D, 0x0A, 0x61, 0x61, 0x61, 0x20, 0x3A, 0x09, 0x00, 0xFF])
        .map { $0 ?? 0x61 }

    @Test func anyStreamCutAnywhereGivesTheVerdictsOfTheByteAtATimeScanner() async {
        await propertyCheck(
            count: 3000, input: Self.streamByte.array(of: 0...80), Gen.int(in: 0...80).array(of: 0...3), Gen.int(in: 0...90)
        ) { bytes, cuts, limit in
            let sortedCuts = cuts.map { min($0, bytes.count) }.sorted()
            expectSameAsReference(bytes, cuts: sortedCuts, maxHeadBytes: limit)
        }
    }

    @Test func realHeadsWithMutationsGiveTheVerdictsOfTheByteAtATimeScanner() async {
        let heads = Self.alignedHeads.map { Array($0) }
        await propertyCheck(
            count: 2000, input: Gen.int(in: 0...7), Gen.int(in: 0...200).array(of: 1...3),
            Self.streamByte.array(of: 1...3), Gen.int(in: 0...200)
        ) { which, positions, replacements, cut in
            var head = heads[which]
            for (position, byte) in zip(positions, replacements) where position < head.count { head[position] = byte }
            expectSameAsReference(head, cuts: [min(cut, head.count)])
            expectSameAsReference(head, cuts: [min(cut, head.count)], maxHeadBytes: head.count - 3)
        }
    }
}
