import HTTP1
import Libevent

#if canImport(Glibc)
import Glibc
#endif

/// Reading the collector's answer: its head, its body (at most `maxResponseBytes`),
/// and what they mean for the export — delivered (with the spans a partial success
/// refused), to retry (and after how long), or refused.
extension OTLPHTTPExporter {
    /// The outcome of the response, and whether the connection may carry the next
    /// export; nil when the connection ended before any byte of a response.
    func readResponse(_ connection: ExportConnection, deadline: UInt64) throws(SystemError) -> (Outcome, reusable: Bool)? {
        var received: [UInt8] = []
        var scanner = HeadScanner(maxHeadBytes: 64 * 1024)
        var head: ResponseHead?
        while head == nil {
            let chunk = try connection.read(maximum: 16384, deadline: deadline)
            if chunk.isEmpty {
                if received.isEmpty { return nil }
                return (.retryable(reason: "the collector closed the connection inside the response head", retryAfterMilliseconds: nil), false)
            }
            let start = received.count
            received += chunk
            let result = received[start...].withUnsafeBytes { scanner.scan($0) }
            switch result {
            case .needMore:
                continue
            case .failed(let error):
                return (.rejected(reason: "malformed response: \(error.reason)"), false)
            case .complete(let leading, let end):
                do throws(HTTPParseError) {
                    head = try ResponseHeadParser().parse(Array(received[leading..<end]), requestMethod: .post)
                } catch {
                    return (.rejected(reason: "malformed response: \(error.reason)"), false)
                }
                received.removeFirst(end)
            }
        }
        guard let head else { return (.rejected(reason: "no response"), false) }
        let status = head.status
        let (body, complete) = try readBody(connection, head: head, already: received, deadline: deadline)
        let reusable = complete && head.reusable
        switch status {
        case 200..<300:
            return (.delivered(rejected: Self.rejectedSpans(body, json: settings.json)), reusable)
        case 429, 502, 503, 504:
            return (.retryable(
                reason: "the collector answered \(status)", retryAfterMilliseconds: Self.retryAfter(head), throttled: status == 429), reusable)
        default:
            let text = String(decoding: body.prefix(200), as: UTF8.self)
            return (.rejected(reason: "the collector answered \(status): \(text)"), reusable)
        }
    }

    /// The response body, up to `maxResponseBytes`, and whether it ended exactly where
    /// its framing says (nothing cut, nothing after it); framing errors end it early.
    func readBody(
        _ connection: ExportConnection, head: ResponseHead, already: [UInt8], deadline: UInt64
    ) throws(SystemError) -> (body: [UInt8], complete: Bool) {
        guard var decoder = BodyDecoder(for: head.framing) else { return ([], already.isEmpty) }
        var input = already
        var body: [UInt8] = []
        while body.count < Self.maxResponseBytes {
            if decoder.isComplete { return (body, input.isEmpty) }
            if input.isEmpty {
                input = try connection.read(maximum: 65536, deadline: deadline)
                if input.isEmpty { return (body, false) }
            }
            let step = input.withUnsafeBytes { decoder.step($0) }
            switch step {
            case .data(let count):
                body += input[0..<count]
                input.removeFirst(count)
            case .framing(let count), .chunkStart(_, let count), .chunkEnd(let count):
                input.removeFirst(count)
            case .end(let consumed):
                input.removeFirst(consumed)
                return (body, input.isEmpty)
            case .failed:
                return (body, false)
            }
        }
        return (body, false)
    }

    /// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds.
    static func retryAfter(_ head: ResponseHead) -> Int? {
        for field in head.fields where head.string(field.name).lowercased() == "retry-after" {
            let value = head.string(field.value)
            if let seconds = Int(value), seconds >= 0 { return seconds * 1000 }
            if let date = HTTPDate.parse(value) {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                return max(0, (date - Int(now.tv_sec)) * 1000)
            }
        }
        return nil
    }

    /// The rejected span count of an `ExportTraceServiceResponse` (0 when absent).
    static func rejectedSpans(_ body: [UInt8], json: Bool) -> Int {
        if json {
            // {"partialSuccess":{"rejectedSpans":"3", ...}}: the number after the key.
            let key = Array("\"rejectedSpans\"".utf8)
            guard body.count >= key.count,
                let start = (0...(body.count - key.count)).first(where: { body[$0..<($0 + key.count)].elementsEqual(key) })
            else { return 0 }
            let rest = body[(start + key.count)...].drop { $0 < 0x30 || $0 > 0x39 }
            let digits = rest.prefix { $0 >= 0x30 && $0 <= 0x39 }
            return Int(String(decoding: digits, as: UTF8.self)) ?? 0
        }
        // field 1 (partial_success) { field 1 (rejected_spans, varint) }
        var reader = ProtobufReader(body)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard field == 1, case .bytes(let inner) = value else { continue }
            var innerReader = ProtobufReader(body, range: inner)
            while let (innerField, innerValue) = (try? innerReader.next()) ?? nil {
                if innerField == 1, case .varint(let count) = innerValue { return Int(truncatingIfNeeded: count) }
            }
        }
        return 0
    }
}
