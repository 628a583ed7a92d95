import PropertyBased
import Testing
@testable import Tracing

/// Whatever a sender puts on the wire, reading it ends in a request or an error: never a
/// crash, never a hang.
@Suite struct OTLPDecodingPropertyTests {
    static let byte = Gen<UInt8>.value(in: 0...255)

    @Test func randomBytesNeverCrashTheReader() async {
        await propertyCheck(count: 3000, input: Self.byte.array(of: 0...512)) { bytes in
            if let received = try? ReceivedSpans.read(protobuf: bytes) {
                // What was read can be written as JSON and read back.
                for group in received.groups {
                    for span in group.spans {
                        var out = JSONOutput()
                        OTLPProtobufJSON.write(received.bytes, span.range, as: .span, to: &out)
                        #expect((try? JSONParser.parse(out.bytes)) != nil)
                    }
                }
            }
            _ = try? ReceivedSpans.read(json: bytes)
            _ = try? OTLPServiceMessages.itemCount(.metrics, bytes, encoding: .protobuf)
            _ = try? OTLPServiceMessages.itemCount(.logs, bytes, encoding: .json)
        }
    }

    @Test func everyTruncationOfAValidRequestIsReadOrRefused() throws {
        var span = OTLPRequestBuilder.Span(traceID: OTLPRequestBuilder.traceID(3), spanID: OTLPRequestBuilder.spanID(4))
        span.attributes = [("a", .string("x")), ("b", .double(1)), ("c", .bool(true))]
        span.events = ["exception"]
        let whole = OTLPRequestBuilder.request([span, span])
        for end in 0..<whole.count {
            if let received = try? ReceivedSpans.read(protobuf: Array(whole[..<end])) {
                #expect(received.acceptedCount <= 2)
            }
        }
        #expect(try ReceivedSpans.read(protobuf: whole).acceptedCount == 2)
    }

    @Test func randomJSONTextNeverCrashesTheParser() async {
        let character = Gen<Character?>.element(of: Array("{}[]\",:0123456789.eE+-truefalsn\\u ab") as [Character]).map { $0 ?? " " }
        await propertyCheck(count: 3000, input: character.string(of: 0...200)) { text in
            _ = try? ReceivedSpans.read(json: Array(text.utf8))
        }
    }
}
