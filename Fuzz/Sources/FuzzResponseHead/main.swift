import FuzzSupport
import HTTP1

/// The response side of the codec, as the proxy reads an upstream connection: the first
/// input byte picks the method of the request being answered (HEAD, GET, CONNECT, POST…,
/// since a response to HEAD has no body); the rest is the upstream's byte stream.
/// `HeadScanner` finds each head, `ResponseHeadParser` (default `HTTPLimits`) parses it,
/// interim (1xx) responses are skipped, and the final response's body is delimited by
/// `BodyDecoder`. Read whole, in pieces and a byte at a time; the three must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard count > 0, let start else { return 0 }
    let methods: [HTTPMethod] = [.get, .head, .post, .put, .delete, .options, .trace, .patch, .connect, .other]
    let method = methods[Int(start.load(as: UInt8.self)) % methods.count]
    let input = UnsafeRawBufferPointer(start: start + 1, count: count - 1)
    MessageStream.checkSplits(input, limits: .default) { bytes in parseResponse(bytes, answering: method) }
    return 0
}

private func parseResponse(_ bytes: [UInt8], answering method: HTTPMethod) -> MessageStream.HeadDecision {
    let head: ResponseHead
    do {
        head = try ResponseHeadParser(limits: .default).parse(bytes, requestMethod: method)
    } catch {
        return .failed(error)
    }
    fuzzCheck(head.bytes == bytes, "the head does not keep its bytes")
    HeadChecks.range(head.reason, in: bytes, "reason")
    for option in head.connectionOptions { HeadChecks.range(option, in: bytes, "connection option") }
    HeadChecks.fields(head.fields, in: bytes)
    fuzzCheck(head.fields.count <= HTTPLimits.default.maxHeaderCount, "\(head.fields.count) fields")
    fuzzCheck(head.version.major == 1, "version \(head.version)")
    fuzzCheck((100...999).contains(head.status), "status \(head.status)")
    // RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; close-delimited is never reused.
    if method == .head || head.isInterim || head.status == 204 || head.status == 304 {
        fuzzCheck(head.framing == .none, "a body on a \(head.status) answering \(method)")
    }
    if head.framing == .untilClose { fuzzCheck(!head.reusable, "a close-delimited response marked reusable") }
    for field in head.fields { _ = head.isConnectionOption(field) }
    _ = head.value(of: .contentLength)

    let body: BodyDecoder.Framing?
    switch head.framing {
    case .none: body = nil
    case .length(let length):
        fuzzCheck(length > 0, "a zero Content-Length framed as a body")
        body = .length(length)
    case .chunked: body = .chunked
    case .untilClose: body = .untilClose
    }
    let description = "\(head.status) HTTP/\(head.version) reason=\(head.string(head.reason)) framing=\(head.framing) "
        + "reusable=\(head.reusable) fields=\(head.fields.count)"
    // The proxy skips interim responses and reads the next head; 101 starts a tunnel.
    let last = !head.isInterim || head.status == 101
    return .message(description, body: body, last: last)
}
