import HTTP1
import PropertyBased
import Testing

/// Trailer sections of chunked bodies: which rule fires, however the bytes are split,
/// and that a trailer line gets the verdict the same line gets in a head.
@Suite struct TrailerSectionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// The bytes after the last chunk's `0\r\n`.
        var trailer: [UInt8]
        /// nil: accepted, the body ends after the trailer section.
        var error: HTTPParseError?
        var limits: HTTPLimits = .default

        var testDescription: String { name }

        init(_ name: String, _ trailer: [UInt8], _ error: HTTPParseError?, limits: HTTPLimits = .default) {
            self.name = name
            self.trailer = trailer
            self.error = error
            self.limits = limits
        }

        init(_ name: String, _ text: String, _ error: HTTPParseError?, limits: HTTPLimits = .default) {
            self.init(name, Array(text.utf8), error, limits: limits)
        }
    }

    static let cases: [Case] = [
        Case("empty section", "\r\n", nil),
        Case("one field", "X-Checksum: abc\r\n\r\n", nil),
        Case("several fields", "X-Checksum: abc\r\nX-Empty:\r\nX-Tab:\tv\t w \r\n\r\n", nil),
        Case("framing names change nothing", "Content-Length: 50\r\nTransfer-Encoding: chunked\r\nHost: evil\r\n\r\n", nil),
        Case("obs-text in a value", Array("X: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8), nil),
        Case("second zero line", "0\r\n\r\n", .invalidFieldName),
        Case("space before colon", "X-T : 1\r\n\r\n", .invalidFieldName),
        Case("HTAB before colon", "X-T\t: 1\r\n\r\n", .invalidFieldName),
        Case("HTAB in a name", "X\tT: 1\r\n\r\n", .invalidFieldName),
        Case("semicolon in a name", "X;T: 1\r\n\r\n", .invalidFieldName),
        Case("0x85 in a name", Array("X".utf8) + [0x85] + Array("T: 1\r\n\r\n".utf8), .invalidFieldName),
        Case("0xA0 starting a name", [0xA0] + Array("T: 1\r\n\r\n".utf8), .invalidFieldName),
        Case("NUL in a name", "X\u{0}T: 1\r\n\r\n", .invalidFieldName),
        Case("empty name", ": 1\r\n\r\n", .invalidFieldName),
        Case("no colon", "NoColon\r\n\r\n", .invalidFieldName),
        Case("whitespace starting the section", " X: 1\r\n\r\n", .obsoleteLineFolding),
        Case("obs-fold", "X: 1\r\n\tfolded\r\n\r\n", .obsoleteLineFolding),
        Case("NUL in a value", "X: a\u{0}b\r\n\r\n", .invalidFieldValue),
        Case("DEL in a value", "X: a\u{7F}b\r\n\r\n", .invalidFieldValue),
        Case("vertical tab in a value", "X: a\u{0B}b\r\n\r\n", .invalidFieldValue),
        Case("bare CR in a value", "X: a\rb\r\n\r\n", .bareCarriageReturn),
        Case("bare LF ending a value", "X: 1\n\r\n", .bareLineFeed),
        Case("bare LF ending a name", "X\n\r\n", .bareLineFeed),
        Case("bare LF as the blank line", "X: 1\r\n\n", .bareLineFeed),
        Case("CR without LF as the blank line", "X: 1\r\n\rX", .bareCarriageReturn),
        Case("at the byte limit", "X: 12345\r\nY: 1234\r\n\r\n", nil, limits: HTTPLimits(maxTrailerBytes: 19)),
        Case("over the byte limit", "X: 12345\r\nY: 12345\r\n\r\n", .trailerSectionTooLarge, limits: HTTPLimits(maxTrailerBytes: 19)),
        Case("blank line not counted", "\r\n", nil, limits: HTTPLimits(maxTrailerBytes: 0)),
        Case("at the count limit", "A: 1\r\nB: 2\r\n\r\n", nil, limits: HTTPLimits(maxHeaderCount: 2)),
        Case("over the count limit", "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", .trailerSectionTooLarge, limits: HTTPLimits(maxHeaderCount: 2)),
    ]

    /// Where a chunked body ended (the offset after it) or why it failed.
    enum Outcome: Equatable {
        case end(Int)
        case failed(HTTPParseError)
        case needMore
    }

    /// Decodes `bytes` as a chunked body, fed in the pieces `splits` cut it into.
    static func decode(_ bytes: [UInt8], splits: [Int], limits: HTTPLimits) -> Outcome {
        var decoder = BodyDecoder(framing: .chunked, limits: limits)
        var position = 0
        for pieceEnd in splits + [bytes.count] where pieceEnd > position {
            while position < pieceEnd {
                let step = bytes[position..<pieceEnd].withUnsafeBytes { decoder.step($0) }
                switch step {
                case .data(let count), .framing(let count), .chunkStart(_, let count), .chunkEnd(let count):
                    position += count
                case .end(let count):
                    return .end(position + count)
                case .failed(let error):
                    return .failed(error)
                }
            }
        }
        return .needMore
    }

    @Test(arguments: cases)
    func trailerSectionGivesItsOutcomeHoweverSplit(_ item: Case) {
        let body = Array("5\r\nhello\r\n0\r\n".utf8) + item.trailer
        let next = Array("GET / HTTP/1.1\r\n".utf8)
        let bytes = body + next
        let expected: Outcome = item.error.map { .failed($0) } ?? .end(body.count)
        #expect(Self.decode(bytes, splits: [], limits: item.limits) == expected)
        for split in 1..<bytes.count {
            #expect(Self.decode(bytes, splits: [split], limits: item.limits) == expected, "split at \(split)")
        }
        #expect(Self.decode(bytes, splits: Array(1..<bytes.count), limits: item.limits) == expected, "byte by byte")
    }

    @Test func validTrailersAreDroppedAndTheBodyKept() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
        let driver = RequestStreamDriver.run(Array(text.utf8))
        #expect(driver.error == nil)
        #expect(driver.messages.first?.body == Array("hello".utf8))
        #expect(driver.messages.first?.fields == ["Host: a", "Transfer-Encoding: chunked"])
    }

    @Test func malformedTrailerRejectsTheRequestWithItsReason() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T : 1\r\n\r\n"
        let driver = RequestStreamDriver.run(Array(text.utf8))
        #expect(driver.error == .invalidFieldName)
        #expect(driver.error?.status == 400)
        #expect(driver.messages.isEmpty)
    }

    /// Bytes that make field lines interesting: token and non-token, colon, whitespace,
    /// CTLs, DEL and obs-text; no CR or LF (line ends are the scanners' concern), and no
    /// letters that could spell a field the head parser interprets (Host, framing, ...).
    static let lineByte = Gen<UInt8?>.element(of: Array("Xa-0:;\"/ \t".utf8) + [0x00, 0x01, 0x0B, 0x7F, 0x85, 0xA0, 0xFF]).map { $0 ?? 0x58 }

    @Test func trailerLineGetsTheVerdictTheSameLineGetsInAHead() async {
        await propertyCheck(count: 3000, input: Self.lineByte.array(of: 1...12)) { line in
            let head = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8) + line + Array("\r\n\r\n".utf8)
            let headError = RequestStreamDriver.run(head).error
            let body = Array("0\r\n".utf8) + line + Array("\r\n\r\n".utf8)
            let outcome = Self.decode(body, splits: [], limits: .default)
            #expect(outcome == (headError.map { .failed($0) } ?? .end(body.count)), "line \(line)")
        }
    }
}
