import HTTP1
import Testing

/// Field lines are checked eight bytes at a time (names: letters, digits and `-`;
/// values: up to a control byte). Every byte value at every offset of a word gets the
/// verdict of RFC 9110 §5.1/§5.5 and RFC 9112 §5.
@Suite struct FieldLineTests {
    static let tokenCharacters = Set(Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8))

    func parse(_ fieldLine: [UInt8]) -> Result<RequestHead, HTTPParseError> {
        let head = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8) + fieldLine + Array("\r\n\r\n".utf8)
        do throws(HTTPParseError) {
            return .success(try RequestHeadParser().parse(head))
        } catch {
            return .failure(error)
        }
    }

    /// A byte in a 17-byte name, at offsets 1 to 16 (the name starts at offset 25 of the
    /// head, so these cover every offset of a word).
    @Test(arguments: 1..<17)
    func fieldNamesAcceptExactlyTheTokenCharacters(_ offset: Int) {
        for byte in UInt8.min...UInt8.max {
            var name = Array("x-abcdefghijklmno".utf8)
            name[offset] = byte
            let result = parse(name + Array(": v".utf8))
            if Self.tokenCharacters.contains(byte) {
                let head = try? result.get()
                #expect(head?.fields.last.map { head!.string($0.name) } == String(decoding: name, as: UTF8.self))
            } else if byte == UInt8(ascii: ":") {
                // The name ends there; the rest is the value.
                let head = try? result.get()
                #expect(head?.fields.last.map { head!.string($0.value) } == String(decoding: name[(offset + 1)...], as: UTF8.self) + ": v")
            } else {
                #expect(throws: HTTPParseError.invalidFieldName, "byte \(byte) at \(offset)") { try result.get() }
            }
        }
    }

    /// A byte in a 20-byte value, at offsets 0 to 19: control bytes but HTAB, and DEL,
    /// are rejected; SP and HTAB at either end are trimmed; obs-text is kept.
    @Test(arguments: 0..<20)
    func fieldValuesRejectControlBytesButTabAtEveryOffsetOfAWord(_ offset: Int) {
        for byte in UInt8.min...UInt8.max where byte != 0x0D {
            var value = Array("abcdefghijklmnopqrst".utf8)
            value[offset] = byte
            let result = parse(Array("Name: ".utf8) + value)
            if byte == 0x7F || (byte < 0x20 && byte != 0x09) {
                #expect(throws: HTTPParseError.invalidFieldValue, "byte \(byte) at \(offset)") { try result.get() }
                continue
            }
            var expected = value[...]
            while let first = expected.first, first == 0x20 || first == 0x09 { expected.removeFirst() }
            while let last = expected.last, last == 0x20 || last == 0x09 { expected.removeLast() }
            let head = try? result.get()
            #expect(head.map { Array($0.bytes[$0.fields.last!.value]) } == Array(expected), "byte \(byte) at \(offset)")
        }
    }

    @Test(arguments: [
        ("Name: value", "value"), ("Name:value", "value"), ("Name: \t value \t ", "value"), ("Name:", ""),
        ("Name:    ", ""), ("Name: a b\tc", "a b\tc"), ("Name: \t", ""), ("Name: 12345678\t", "12345678"),
        ("Name: \u{80}\u{FF}", "\u{80}\u{FF}"), ("N: " + String(repeating: "v", count: 64), String(repeating: "v", count: 64)),
    ])
    func valuesAreTrimmedOfSpaceAndTabOnly(_ line: String, _ value: String) throws {
        let head = try parse(Array(line.utf8)).get()
        #expect(head.string(head.fields.last!.value) == value)
    }

    /// Each known name with one byte changed is `.other`, unless the change only flips
    /// the case of a letter.
    @Test(arguments: FieldKind.allCases.filter { $0 != .other })
    func knownNamesDifferingInOneByteAreOther(_ kind: FieldKind) {
        let name = Array(kind.name.utf8)
        for offset in name.indices {
            for byte in UInt8.min...UInt8.max {
                var changed = name
                changed[offset] = byte
                let expected = byte == name[offset] || (name[offset] >= 0x61 && byte == name[offset] - 0x20) ? kind : .other
                #expect(changed.withUnsafeBytes { FieldKind.classify($0) } == expected, "\(kind) byte \(byte) at \(offset)")
            }
        }
    }

    @Test func obsoleteLineFoldingAndWhitespaceBeforeTheColonAreStillRejected() {
        #expect(throws: HTTPParseError.obsoleteLineFolding) { try parse(Array("X: y\r\n Folded: z".utf8)).get() }
        #expect(throws: HTTPParseError.invalidFieldName) { try parse(Array("Transfer-Encoding : chunked".utf8)).get() }
        #expect(throws: HTTPParseError.invalidFieldName) { try parse(Array(": empty-name".utf8)).get() }
    }
}

/// Connection tokens are compared with their names eight bytes at a time; one changed
/// byte at any offset makes another token, unless it only flips a letter's case.
@Suite struct ConnectionTokenTests {
    @Test(arguments: ["close", "keep-alive", "upgrade"])
    func tokensDifferingInOneByteAreOtherTokens(_ token: String) {
        let name = Array(token.utf8)
        for offset in name.indices {
            for byte in UInt8.min...UInt8.max where FieldLineTests.tokenCharacters.contains(byte) {
                var changed = name
                changed[offset] = byte
                let same = byte == name[offset] || (name[offset] >= 0x61 && byte == name[offset] - 0x20)
                let head = Array("HTTP/1.1 200 OK\r\nConnection: ".utf8) + changed + Array("\r\nContent-Length: 0\r\n\r\n".utf8)
                guard let response = try? ResponseHeadParser().parse(head, requestMethod: .get) else {
                    Issue.record("rejected \(changed)")
                    continue
                }
                // An unknown token names a field to remove; a known one does not.
                #expect(response.connectionOptions.isEmpty == same, "\(token) byte \(byte) at \(offset)")
                if token == "close" { #expect(response.reusable == !same) }
            }
        }
    }
}
