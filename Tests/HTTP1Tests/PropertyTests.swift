import HTTP1
import PropertyBased
import Testing

/// Properties: what the serializer writes, the parser reads back; arbitrary bytes never
/// crash the codec or slip past its limits.
@Suite struct PropertyTests {
    static let tokenCharacter = Gen<Character?>.element(of: Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~") as [Character]).map { $0 ?? "x" }
    static let valueCharacter = Gen<Character?>.element(of: Array("abcdefghijklmnopqrstuvwxyz0123456789 ,;=/\"()<>@?[]{}:\t") as [Character]).map { $0 ?? "v" }
    static let byte = Gen<UInt8>.value(in: 0...255)

    @Test func serializedRequestParsesBackToTheSameFields() async {
        let name = Self.tokenCharacter.string(of: 1...20)
        let value = Self.valueCharacter.string(of: 0...40)
        await propertyCheck(count: 300, input: name.array(of: 0...12), value.array(of: 12)) { names, values in
            var writer = HeadWriter()
            writer.append("GET /p HTTP/1.1\r\nHost: example\r\n")
            var expected: [(String, String)] = []
            for (index, rawName) in names.enumerated() {
                // Names that would change framing or Host are not what this property is about.
                let fieldName = "X-" + rawName
                let fieldValue = values[index].trimmingWhitespace
                writer.append(fieldName + ": " + fieldValue + "\r\n")
                expected.append((fieldName, fieldValue))
            }
            writer.append("\r\n")
            let driver = RequestStreamDriver.run(writer.bytes)
            #expect(driver.error == nil)
            let fields = driver.messages.first?.fields.dropFirst() ?? []
            #expect(Array(fields) == expected.map { "\($0.0): \($0.1)" })
        }
    }

    @Test func arbitraryBytesNeverCrashOrExceedLimits() async {
        let limits = HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 8)
        await propertyCheck(count: 2000, input: Self.byte.array(of: 0...2048), Gen.int(in: 0...2048)) { bytes, split in
            let driver = RequestStreamDriver.run(bytes, splits: [min(split, bytes.count)], limits: limits)
            let whole = RequestStreamDriver.run(bytes, limits: limits)
            #expect(driver.messages == whole.messages)
            #expect(driver.error == whole.error)
            for message in whole.messages { #expect(message.fields.count <= 8) }
        }
    }

    @Test func requestsWithRandomPrefixesNeverParseAsMoreThanTheyDeclare() async {
        // A valid request with a random body: the body never leaks into a second message.
        await propertyCheck(count: 300, input: Self.byte.array(of: 0...300)) { body in
            var writer = HeadWriter()
            writer.append("POST / HTTP/1.1\r\nHost: a\r\n")
            writer.appendContentLength(UInt64(body.count))
            writer.append("\r\n")
            writer.append(contentsOf: body)
            let driver = RequestStreamDriver.run(writer.bytes, byteByByte: true)
            #expect(driver.error == nil)
            #expect(driver.messages.count == 1)
            #expect(driver.messages.first?.body == body)
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
