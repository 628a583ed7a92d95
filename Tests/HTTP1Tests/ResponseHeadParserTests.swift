import HTTP1
import Testing

/// Upstream responses: framing per RFC 9112 §6.3 and the strictness reference's table.
@Suite struct ResponseHeadParserTests {
    func parse(_ text: String, method: HTTPMethod = .get) throws(HTTPParseError) -> ResponseHead {
        try ResponseHeadParser().parse(Array(text.utf8), requestMethod: method)
    }

    @Test func contentLengthFramesTheBody() throws {
        let head = try parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n")
        #expect(head.status == 200)
        #expect(head.framing == .length(12))
        #expect(head.reusable)
    }

    @Test func twoDifferentContentLengthsAreRejected() {
        #expect(throws: HTTPParseError.conflictingContentLength) {
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
        }
    }

    @Test func transferEncodingWinsOverContentLengthAndForbidsReuse() throws {
        let head = try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(head.framing == .chunked)
        #expect(!head.reusable)
    }

    @Test func nonChunkedTransferEncodingIsReadUntilClose() throws {
        let head = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
        #expect(head.framing == .untilClose)
        #expect(!head.reusable)
    }

    @Test func noFramingMeansUntilClose() throws {
        let head = try parse("HTTP/1.1 200 OK\r\n\r\n")
        #expect(head.framing == .untilClose)
        #expect(!head.reusable)
    }

    @Test(arguments: [(204, HTTPMethod.get), (304, .get), (200, .head), (100, .get)])
    func bodylessResponses(status: Int, method: HTTPMethod) throws {
        let head = try parse("HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\n", method: method)
        #expect(head.framing == .none)
    }

    @Test func connectionCloseForbidsReuse() throws {
        #expect(try !parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").reusable)
    }

    @Test func http10ResponseIsReusableOnlyWithKeepAlive() throws {
        #expect(try !parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").reusable)
        #expect(try parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").reusable)
    }

    @Test func nulInAFieldIsRejected() {
        #expect(throws: HTTPParseError.invalidFieldValue) {
            try parse("HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n")
        }
    }

    @Test func bareLineFeedIsRejectedByTheScanner() {
        var scanner = HeadScanner(maxHeadBytes: 1024)
        let result = Array("HTTP/1.1 200 OK\nContent-Length: 0\n\n".utf8).withUnsafeBytes { scanner.scan($0) }
        #expect(result == .failed(.bareLineFeed))
    }

    @Test func missingReasonPhraseIsTolerated() throws {
        #expect(try parse("HTTP/1.1 204\r\n\r\n").status == 204)
    }

    @Test(arguments: ["HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "ICY 200 OK\r\n\r\n"])
    func malformedStatusLines(_ text: String) {
        #expect(throws: HTTPParseError.self) { try parse(text) }
    }
}

/// Body framing, fed in every split.
@Suite struct BodyDecoderTests {
    /// Runs a decoder over `bytes` split at `split`; returns the data, framing events and
    /// where the body ended.
    func decode(_ framing: BodyDecoder.Framing, _ text: String, split: Int? = nil) -> (data: [UInt8], chunks: [UInt64], end: Int?, error: HTTPParseError?) {
        let bytes = Array(text.utf8)
        var decoder = BodyDecoder(framing: framing)
        var data: [UInt8] = []
        var chunks: [UInt64] = []
        var offset = 0
        let pieces = split.map { [0..<$0, $0..<bytes.count] } ?? [0..<bytes.count]
        for piece in pieces {
            var position = piece.lowerBound
            while position < piece.upperBound {
                let step = bytes[position..<piece.upperBound].withUnsafeBytes { decoder.step($0) }
                switch step {
                case .data(let count):
                    data += bytes[position..<(position + count)]
                    position += count
                case .framing(let count), .chunkEnd(let count):
                    position += count
                case .chunkStart(let size, let count):
                    chunks.append(size)
                    position += count
                case .end(let count):
                    return (data, chunks, position + count, nil)
                case .failed(let error):
                    return (data, chunks, nil, error)
                }
                offset = position
            }
        }
        _ = offset
        return (data, chunks, decoder.isComplete ? bytes.count : nil, nil)
    }

    @Test func chunkedBodyEndsAfterTheLastChunkAndTrailers() {
        let text = "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"
        for split in 1..<text.utf8.count {
            let result = decode(.chunked, text, split: split)
            #expect(result.data == Array("hello world".utf8), "split \(split)")
            #expect(result.chunks == [5, 6])
            #expect(result.end == text.utf8.count - 4)
        }
    }

    @Test func lengthBodyStopsAtItsLength() {
        let result = decode(.length(5), "helloGET")
        #expect(result.data == Array("hello".utf8))
    }

    @Test func truncatedLengthBodyIsAnErrorAtEndOfStream() {
        var decoder = BodyDecoder(framing: .length(10))
        _ = Array("hello".utf8).withUnsafeBytes { decoder.step($0) }
        #expect(decoder.finish() == .truncatedBody)
    }

    @Test func closeDelimitedBodyEndsCleanlyAtEndOfStream() {
        var decoder = BodyDecoder(framing: .untilClose)
        _ = Array("hello".utf8).withUnsafeBytes { decoder.step($0) }
        #expect(decoder.finish() == nil)
    }

    @Test func oversizedTrailersAreRejected() {
        let text = "0\r\n" + String(repeating: "X: aaaaaaaaaa\r\n", count: 2000) + "\r\n"
        #expect(decode(.chunked, text).error == .trailerSectionTooLarge)
    }

    @Test func chunkSizeOfSixteenDigitsIsAcceptedSeventeenIsNot() {
        #expect(decode(.chunked, "000000000000000A\r\n").error == nil)
        #expect(decode(.chunked, "0000000000000000A\r\n").error == .invalidChunkSize)
    }
}
