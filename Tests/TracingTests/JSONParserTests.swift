import Testing
@testable import Tracing

/// The JSON reader behind OTLP/JSON: RFC 8259, numbers kept exact, hostile input refused.
@Suite struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test func readsEveryKindOfValue() throws {
        let value = try Self.parse(#" {"a": [1, -2.5e3, "x", true, false, null], "b": {}} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .string("x"), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .object([]))
    }

    @Test func keepsSixtyFourBitIntegersExact() throws {
        #expect(try Self.parse("[18446744073709551615, 1544712660000000001]") == .array([.number("18446744073709551615"), .number("1544712660000000001")]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try Self.parse(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#) == .string("a\"\\/\u{8}\u{c}\n\r\té😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", ".5", "-", "1e", "tru", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"",
        "{} {}", "[1] x", "\"abc",
    ])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try Self.parse(text) }
    }

    @Test func refusesInvalidUTF8InStrings() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func refusesNestingDeeperThanTheLimit() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONSyntaxError.self) { try Self.parse(deep) }
        let fine = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(try Self.parse(fine) != .null)
    }

    @Test func errorsSayWhere() {
        do {
            _ = try Self.parse("[1, 2, x]")
            Issue.record("parsed")
        } catch let error as JSONSyntaxError {
            #expect(error.offset == 7)
            #expect(error.description.contains("byte 7"))
        } catch {
            Issue.record("\(error)")
        }
    }
}
