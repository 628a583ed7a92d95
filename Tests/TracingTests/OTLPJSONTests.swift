import Testing
@testable import Tracing

/// OTLP/JSON in and out, as the OTLP specification's JSON mapping says.
@Suite struct OTLPJSONTests {
    static let traceHex = "5b8efff798038103d269b633813fc60c"
    static let spanHex = "eee19b7ec3c1b174"

    static func protobuf(_ json: String) throws -> [UInt8] {
        try OTLPJSONProtobuf.traceRequest(try JSONParser.parse(Array(json.utf8)))
    }

    static func received(_ json: String) throws -> ReceivedSpans {
        try ReceivedSpans.read(json: Array(json.utf8))
    }

    @Test func readsTheSpecificationsExampleShape() throws {
        let received = try Self.received("""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
             "scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0"},
              "spans":[{"traceId":"\(Self.traceHex)","spanId":"\(Self.spanHex)","parentSpanId":"",
                "name":"I'm a server span","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
                "kind":2,"attributes":[{"key":"my.span.attr","value":{"stringValue":"some value"}}]}]}]}]}
            """)
        #expect(received.acceptedCount == 1)
        let group = try #require(received.groups.first)
        #expect(group.source.serviceName == "my.service")
        let facts = try #require(group.spans.first?.facts)
        #expect(facts.traceID.description == Self.traceHex)
        #expect(facts.spanID == 0xeee1_9b7e_c3c1_b174)
        #expect(facts.parentSpanID == 0)
        #expect(facts.kind == 2)
        #expect(facts.startNanoseconds == 1_544_712_660_000_000_000)
        #expect(facts.endNanoseconds == 1_544_712_661_000_000_000)
    }

    @Test func idsAreHexInEitherCase() throws {
        let upper = try Self.received(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"\#(Self.traceHex.uppercased())","spanId":"\#(Self.spanHex.uppercased())"}]}]}]}"#)
        #expect(upper.groups.first?.spans.first?.facts.traceID.description == Self.traceHex)
    }

    @Test func aNonHexIdIsAnErrorNamingWhereItIs() {
        do {
            _ = try Self.received(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W46P95gDgQPSabYzgT/GDA==","spanId":"\#(Self.spanHex)"}]}]}]}"#)
            Issue.record("a base64 id was taken")
        } catch let error as OTLPDecodingError {
            #expect(error.path == "resourceSpans[0].scopeSpans[0].spans[0].traceId")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func wrongLengthIdsAreRejectedSpansNotAFailedRequest() throws {
        let received = try Self.received(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"\#(Self.spanHex)"},{"traceId":"\#(Self.traceHex)","spanId":"\#(Self.spanHex)"}]}]}]}"#)
        #expect(received.acceptedCount == 1)
        #expect(received.rejected == [.invalidTraceID: 1])
    }

    @Test func enumsAsNumbersOrNamesAndIntegersAsStringsOrNumbers() throws {
        let received = try Self.received("""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"\(Self.traceHex)","spanId":"\(Self.spanHex)",
              "kind":"SPAN_KIND_CLIENT","status":{"code":2},
              "attributes":[{"key":"http.response.status_code","value":{"intValue":503}},
                            {"key":"http.request.resend_count","value":{"intValue":"2"}}]}]}]}]}
            """)
        let facts = try #require(received.groups.first?.spans.first?.facts)
        #expect(facts.kind == 3)
        #expect(facts.statusCode == 2)
        #expect(facts.httpStatus == 503)
        #expect(facts.resendCount == 2)
    }

    @Test func unknownFieldsAreIgnoredAndSnakeCaseIsTaken() throws {
        let received = try Self.received("""
            {"futureField":{"x":[1,2]},"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"\(Self.traceHex)",
              "span_id":"\(Self.spanHex)","somethingNew":true,"start_time_unix_nano":"5"}]}]}]}
            """)
        #expect(received.groups.first?.spans.first?.facts.startNanoseconds == 5)
    }

    @Test(arguments: [
        #"{"resourceSpans":{}}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SIDEWAYS"}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"flags":-1}]}]}]}"#,
        #"[]"#,
    ])
    func valuesOfTheWrongTypeAreErrors(_ json: String) {
        #expect(throws: OTLPDecodingError.self) { try Self.received(json) }
    }

    /// Protobuf written by the proxy, read back as JSON, turned into protobuf again:
    /// the same message.
    @Test func protobufToJSONToProtobufIsTheSameMessage() throws {
        var span = OTLPRequestBuilder.Span(traceID: OTLPRequestBuilder.traceID(7), spanID: OTLPRequestBuilder.spanID(8))
        span.parentSpanID = OTLPRequestBuilder.spanID(9)
        span.kind = 3
        span.statusCode = 2
        span.events = ["exception"]
        span.attributes = [("s", .string("<b>\"é\"</b>")), ("i", .int(-42)), ("b", .bool(false)), ("d", .double(2.5)), ("big", .int(.max))]
        let original = OTLPRequestBuilder.request(service: "svc", [span])
        var out = JSONOutput()
        let received = try ReceivedSpans.read(protobuf: original)
        let range = try #require(received.groups.first?.spans.first?.range)
        OTLPProtobufJSON.write(original, range, as: .span, to: &out)
        let json = String(decoding: out.bytes, as: UTF8.self)
        #expect(json.contains(#""intValue":"-42""#))
        #expect(json.contains(#""intValue":"9223372036854775807""#))
        #expect(json.contains(#""boolValue":false"#))
        #expect(json.contains(#""parentSpanId":"0909090909090909""#))
        #expect(json.contains(#""\u003cb\u003e\"é\"\u003c/b\u003e""#))
        var again = ProtobufWriter()
        try OTLPJSONProtobuf.write(try JSONParser.parse(out.bytes), as: .span, into: &again, path: "")
        #expect(again.bytes == Array(original[range]))
    }

    @Test func doublesThatJSONCannotWriteAreStrings() throws {
        var out = JSONOutput()
        out.double(.nan)
        out.double(.infinity)
        out.double(-.infinity)
        out.double(0.1)
        #expect(String(decoding: out.bytes, as: UTF8.self) == #""NaN""Infinity""-Infinity"0.1"#)
    }

    @Test func base64RoundTrips() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 5) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("_-8") == [0xFF, 0xEF])
        #expect(Base64.decode("a") == nil)
        #expect(Base64.decode("ab!c") == nil)
    }
}
