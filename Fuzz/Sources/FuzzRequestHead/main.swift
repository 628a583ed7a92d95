import FuzzSupport
import HTTP1

/// The request side of the codec, as the proxy reads a client connection: `HeadScanner`
/// finds each head, `RequestHeadParser` (default `HTTPLimits`) parses it, `BodyDecoder`
/// delimits its body, and pipelined requests follow. The input is the raw byte stream;
/// it is read whole, in pieces cut by its hash and a byte at a time, and the three must
/// agree. Every accepted head is checked (ranges, tokens, framing rules).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    MessageStream.checkSplits(input, limits: .default, parse: parseRequest)
    return 0
}

private func parseRequest(_ bytes: [UInt8]) -> MessageStream.HeadDecision {
    let head: RequestHead
    do {
        head = try RequestHeadParser(limits: .default).parse(bytes)
    } catch {
        return .failed(error)
    }
    fuzzCheck(head.bytes == bytes, "the head does not keep its bytes")
    for (range, what) in [(head.method, "method"), (head.target, "target"), (head.path, "path")] {
        HeadChecks.range(range, in: bytes, what)
    }
    fuzzCheck(!head.method.isEmpty && !head.target.isEmpty, "an empty method or target")
    if let query = head.query { HeadChecks.range(query, in: bytes, "query") }
    if let host = head.host { HeadChecks.range(host, in: bytes, "host") }
    if let upgrade = head.upgrade { HeadChecks.range(upgrade, in: bytes, "upgrade") }
    for option in head.connectionOptions { HeadChecks.range(option, in: bytes, "connection option") }
    HeadChecks.fields(head.fields, in: bytes)
    fuzzCheck(head.fields.count <= HTTPLimits.default.maxHeaderCount, "\(head.fields.count) fields")
    fuzzCheck(head.version.major == 1, "version \(head.version)")
    fuzzCheck(head.methodKind != .connect, "CONNECT accepted")
    // RFC 9112 §3.2: HTTP/1.1 needs a host; §6.1: no chunked request from HTTP/1.0.
    if head.version.minor >= 1 { fuzzCheck(head.host != nil, "an HTTP/1.1 request without a host") }
    if head.framing == .chunked { fuzzCheck(head.version != .http10, "a chunked HTTP/1.0 request") }
    fuzzCheck(!(head.version == .http10 && head.keepAlive), "an HTTP/1.0 client kept alive")
    for byte in head.targetString.utf8 { fuzzCheck(byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#"), "target byte \(byte)") }
    for field in head.fields { _ = head.isConnectionOption(field) }
    _ = head.value(of: .host)

    let body: BodyDecoder.Framing?
    switch head.framing {
    case .none: body = nil
    case .length(let length):
        fuzzCheck(length > 0, "a zero Content-Length framed as a body")
        body = .length(length)
    case .chunked: body = .chunked
    }
    let description = "\(head.methodString) \(head.targetString) HTTP/\(head.version) host=\(head.hostString ?? "-") "
        + "framing=\(head.framing) keepAlive=\(head.keepAlive) fields=\(head.fields.count) "
        + "expect=\(head.expectsContinue) upgrade=\(head.upgrade.map(head.string) ?? "-")"
    // The proxy stops reading requests after one that closes or switches protocols.
    return .message(description, body: body, last: !head.keepAlive || head.upgrade != nil)
}
