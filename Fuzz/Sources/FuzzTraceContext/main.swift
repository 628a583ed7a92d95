import FuzzSupport
import Tracing

/// The readers of incoming `traceparent` and `tracestate`. The input's first line is the
/// `traceparent` value; each further line is one `tracestate` field (a request may carry
/// several). Values are decoded as the proxy does (`String(decoding:as: UTF8.self)` of
/// the field's bytes). Checked: an accepted parent has the ids of its text and keeps only
/// the sampled and random flags; a kept `tracestate` is a fixed point of validation, has
/// at most 32 members and no empty one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    let parent = lines.first ?? ""
    let states = Array(lines.dropFirst())

    let state = TraceStateValidator.validate(states)
    if let state {
        let members = state.split(separator: ",", omittingEmptySubsequences: false)
        fuzzCheck(members.count <= TraceStateValidator.maxMembers, "\(members.count) tracestate members kept")
        fuzzCheck(members.allSatisfy { !$0.isEmpty && $0.contains("=") }, "an empty tracestate member kept: \(state)")
        fuzzCheck(TraceStateValidator.validate([state]) == state, "tracestate '\(state)' changes when validated again")
    }

    guard let context = IncomingTraceContext.parse(traceparent: [parent], tracestate: states) else { return 0 }
    fuzzCheck(context.traceState == state, "tracestate read differently beside a traceparent")
    let bytes = Array(parent.utf8)
    fuzzCheck(bytes.count >= 55, "a traceparent of \(bytes.count) bytes accepted")
    fuzzCheck(context.traceID.description == String(decoding: bytes[3..<35], as: UTF8.self), "trace id \(context.traceID) from \(parent)")
    fuzzCheck(context.parentSpanID.description == String(decoding: bytes[36..<52], as: UTF8.self), "span id \(context.parentSpanID) from \(parent)")
    fuzzCheck(context.flags.rawValue & ~0x03 == 0, "flags \(context.flags.rawValue) kept")
    fuzzCheck(!(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")), "version ff accepted")
    // Two traceparent fields are never a parent.
    fuzzCheck(IncomingTraceContext.parse(traceparent: [parent, parent], tracestate: states) == nil, "two traceparents accepted")
    return 0
}
