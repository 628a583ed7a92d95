import HTTP1
import Testing

/// What `HeadWriter` writes, byte for byte: digits from its tables and stack buffers,
/// field lines copied whole when they arrived canonical.
@Suite struct HeadWriterTests {
    func written(_ build: (inout HeadWriter) -> Void) -> String {
        var writer = HeadWriter(capacity: 4)
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Two lowercase hex digits per byte, the high nibble first.
    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test(arguments: [0, 1, 8, 16, 31, 32, 33, 100])
    func hexHasTwoLowercaseDigitsPerByte(_ count: Int) {
        let raw = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(written { writer in raw.withUnsafeBytes { writer.appendHex($0) } } == hex(raw))
    }

    /// Four bytes at a time and one at a time alike: every byte value, at each of the four
    /// places in a word, then in the tail.
    @Test(arguments: [0, 1, 2, 3])
    func everyByteValueIsWrittenAsItsTwoDigits(_ shift: Int) {
        let raw = (0..<(256 + shift)).map { UInt8(truncatingIfNeeded: $0 - shift) }
        #expect(written { writer in raw.withUnsafeBytes { writer.appendHex($0) } } == hex(raw))
    }

    @Test func traceparentIsWrittenFromIDs() {
        let traceID: [UInt8] = [0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c]
        let spanID: [UInt8] = [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]
        let line = written { writer in
            writer.append("traceparent: 00-")
            traceID.withUnsafeBytes { writer.appendHex($0) }
            writer.append("-")
            spanID.withUnsafeBytes { writer.appendHex($0) }
            writer.append("-")
            withUnsafeBytes(of: UInt8(1)) { writer.appendHex($0) }
            writer.appendCRLF()
        }
        #expect(line == "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n")
    }

    @Test(arguments: [0, 7, 9, 10, 99, 100, 65535, 1 << 32, UInt64.max - 1, UInt64.max] as [UInt64])
    func decimalsAndContentLengthsAreWrittenInFull(_ value: UInt64) {
        #expect(written { $0.appendDecimal(value) } == String(value))
        #expect(written { $0.appendContentLength(value) } == "Content-Length: \(value)\r\n")
    }

    @Test(arguments: [0, 1, 15, 16, 255, 256, 4096, 0xFFFF_FFFF, UInt64.max] as [UInt64])
    func chunkHeadersAreLowercaseHexWithoutLeadingZeros(_ size: UInt64) {
        #expect(HeadWriter.chunkHeader(size: size) == Array((String(size, radix: 16) + "\r\n").utf8))
    }

    @Test(arguments: [
        ("Name: value", "Name: value\r\n"), ("Name:value", "Name: value\r\n"), ("Name:  value", "Name: value\r\n"),
        ("Name: value \t", "Name: value\r\n"), ("Name:", "Name: \r\n"), ("Name: ", "Name: \r\n"), ("N:\tv", "N: v\r\n"),
    ])
    func fieldsAreWrittenCanonicallyWhateverTheirSpacing(_ line: String, _ expected: String) throws {
        let head = try RequestHeadParser().parse(Array("GET / HTTP/1.1\r\nHost: a\r\n\(line)\r\n\r\n".utf8))
        #expect(written { $0.appendField(head.bytes, head.fields.last!) } == expected)
    }

    @Test func fieldRangesAnywhereInTheSourceAreCopied() {
        let source = Array("name: value\r\nXY".utf8)
        #expect(written { $0.appendField(source, HeaderField(name: 0..<4, value: 6..<11, kind: .other)) } == "name: value\r\n")
        // Not followed by CRLF in the source: written from parts.
        #expect(written { $0.appendField(source, HeaderField(name: 13..<14, value: 14..<15, kind: .other)) } == "X: Y\r\n")
        #expect(written { $0.appendField(source, HeaderField(name: 0..<4, value: 6..<8, kind: .other)) } == "name: va\r\n")
        #expect(written { $0.appendField(source, HeaderField(name: 0..<0, value: 15..<15, kind: .other)) } == ": \r\n")
    }

    @Test func stringsSlicesAndSequencesAreAppendedAsTheirBytes() {
        let source = Array("0123456789".utf8)
        let text = written { writer in
            writer.append("literal ")
            writer.append(String(repeating: "long ", count: 8))
            writer.append("static " as StaticString)
            writer.append(source, 2..<5)
            writer.append(contentsOf: source[7...])
            writer.append(contentsOf: Array("!".utf8))
            writer.append("é ✓")
        }
        #expect(text == "literal " + String(repeating: "long ", count: 8) + "static 234789!é ✓")
    }
}
