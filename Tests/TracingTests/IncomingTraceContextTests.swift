import Testing
import Tracing
import W3CTraceContext

/// W3C Trace Context vectors for `traceparent`, after shared/reference/tracing.md.
@Suite struct IncomingTraceContextTests {
    static let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    func parse(_ values: [String], state: [String] = []) -> IncomingTraceContext? {
        IncomingTraceContext.parse(traceparent: values, tracestate: state)
    }

    @Test func validVersion00IsParsed() throws {
        let context = try #require(parse([Self.valid]))
        #expect(context.traceID.description == "0af7651916cd43dd8448eb211c80319c")
        #expect(context.parentSpanID.description == "b7ad6b7169203331")
        #expect(context.flags.contains(.sampled))
    }

    @Test(arguments: [
        ("uppercase hex", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"),
        ("too short", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0"),
        ("trailing characters after version 00", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"),
        ("trailing dash after version 00", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"),
        ("all-zero trace id", "00-00000000000000000000000000000000-b7ad6b7169203331-01"),
        ("all-zero parent id", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"),
        ("version ff", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("wrong delimiter", "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("non-hex flags", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x"),
        ("higher version with junk glued on", "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x"),
        ("empty", ""),
    ])
    func invalidValuesStartANewTrace(_ name: String, _ value: String) {
        #expect(parse([value]) == nil, "\(name)")
    }

    @Test func twoTraceparentFieldsAreInvalid() {
        #expect(parse([Self.valid, Self.valid]) == nil)
    }

    @Test func higherVersionIsReadByTheVersion00Layout() throws {
        let context = try #require(parse(["cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds"]))
        #expect(context.traceID.description == "0af7651916cd43dd8448eb211c80319c")
        let exact = try #require(parse(["cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]))
        #expect(exact.parentSpanID.description == "b7ad6b7169203331")
    }

    @Test func onlySampledAndRandomFlagsAreKept() throws {
        let context = try #require(parse(["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff"]))
        #expect(context.flags.rawValue == 0x03)
    }

    @Test func invalidTracestateIsDroppedButTraceparentHonoured() throws {
        let context = try #require(parse([Self.valid], state: ["Bad Key=1"]))
        #expect(context.traceState == nil)
        #expect(context.traceID.description == "0af7651916cd43dd8448eb211c80319c")
    }
}

@Suite struct TraceStateValidatorTests {
    @Test func validListIsKeptInOrderAcrossFields() {
        #expect(TraceStateValidator.validate(["rojo=00f067aa0ba902b7, congo=t61rcWkgMzE", "vendor@tenant=x"])
            == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,vendor@tenant=x")
    }

    @Test func emptyMembersAreSkipped() {
        #expect(TraceStateValidator.validate(["a=1,, ,b=2"]) == "a=1,b=2")
    }

    @Test(arguments: [
        "UPPER=1", "a=", "a", "=1", "a=x\u{7F}", "a=b=c", "a@B=1", "@a=1", "_a=1",
        "k=" + String(repeating: "v", count: 257),
        String(repeating: "k", count: 257) + "=1",
    ])
    func invalidMemberDropsTheWholeList(_ member: String) {
        #expect(TraceStateValidator.validate(["ok=1," + member]) == nil, "\(member)")
    }

    /// Level 2's key: a lowercase letter or digit, then up to 255 of `a-z 0-9 _ - * / @`.
    @Test(arguments: [
        "foo@=1", String(repeating: "t", count: 242) + "@v=1", "tenant@vendor=x", "1abc=1", "a/b*c_d-e=1",
        String(repeating: "k", count: 256) + "=1", "k=" + String(repeating: "v", count: 256), "k=a b",
    ])
    func currentGrammarKeepsTheMember(_ member: String) {
        #expect(TraceStateValidator.validate(["ok=1," + member]) == "ok=1," + member, "\(member)")
    }

    /// A repeated key keeps its first member; the other members stay.
    @Test(arguments: [
        (["foo=1,foo=1"], "foo=1"),
        (["foo=1,foo=2"], "foo=1"),
        (["a=1,foo=1,b=2,foo=2,c=3"], "a=1,foo=1,b=2,c=3"),
        (["foo=1", "bar=2,foo=3"], "foo=1,bar=2"),
    ])
    func duplicateKeysKeepTheFirstMemberAndTheRest(_ fields: [String], _ expected: String) {
        #expect(TraceStateValidator.validate(fields) == expected)
    }

    @Test func thirtyTwoMembersAreAllowedThirtyThreeAreNot() {
        let members = (0..<33).map { "k\($0)=v" }
        #expect(TraceStateValidator.validate([members.prefix(32).joined(separator: ",")]) != nil)
        #expect(TraceStateValidator.validate([members.joined(separator: ",")]) == nil)
    }

    @Test func atLeast512CharactersPropagate() {
        let members = (0..<4).map { "key\($0)=" + String(repeating: "v", count: 200) }
        let joined = members.joined(separator: ",")
        #expect(joined.count > 512)
        #expect(TraceStateValidator.validate([joined]) == joined)
    }
}
