import FuzzSupport
import HTTP1
import Libevent
import LocalServer
import Receiver
import Tracing

/// One OTLP/HTTP request through the receiver's pure entry point, `OTLPIngest.handle`,
/// with the default settings, and what the explorer later does with the spans it keeps.
///
/// The input's first byte picks the request: bits 0-1 the path (`/v1/traces` for 0 and 3,
/// `/v1/metrics` 1, `/v1/logs` 2); bit 2 gzip: the body is compressed here and sent with
/// `Content-Encoding: gzip`; bit 3 (without bit 2) `Content-Encoding: gzip` on the body
/// as it is, for the decompressor's failures. The rest is the body.
///
/// Checked: the answer is 200, 400 or 413 (415 never: the head is valid); spans come only
/// with a 200; spans read from JSON are valid protobuf that reads back the same. Accepted
/// spans go into a new `TraceStore` (fixed clock); every trace it lists is written as the
/// explorer's OTLP/JSON, which must read back as a request with the same spans.
public enum IngestCheck {
    public static func run(_ start: UnsafeRawPointer?, _ count: Int, encoding: OTLPEncoding) {
        guard count > 0, let start else { return }
        let control = start.load(as: UInt8.self)
        let path: String
        switch control & 3 {
        case 1: path = "/v1/metrics"
        case 2: path = "/v1/logs"
        default: path = "/v1/traces"
        }
        var body = Array(UnsafeRawBufferPointer(start: start + 1, count: count - 1))
        let gzip = control & 0b1100 != 0
        if control & 0b100 != 0 {
            guard let compressed = Gzip.compress(body) else {
                fuzzCheck(false, "gzip could not compress \(body.count) bytes")
                return
            }
            body = compressed
        }
        let request = LocalRequest(head: head(path: path, encoding: encoding, gzip: gzip), body: body)
        let ingest = OTLPIngest(settings: OTLPIngest.Settings())
        fuzzCheck(ingest.check(request) == nil, "a valid head refused: \(path)")
        let outcome = ingest.handle(request)
        let status = outcome.response.status
        fuzzCheck([200, 400, 413].contains(status), "status \(status)")
        fuzzCheck(outcome.response.header("content-type") == encoding.contentType, "answered in another encoding")
        guard let spans = outcome.spans else { return }
        fuzzCheck(status == 200, "spans with status \(status)")
        fuzzCheck(path == "/v1/traces", "spans from \(path)")
        if encoding == .json {
            guard let again = try? ReceivedSpans.read(protobuf: spans.bytes) else {
                fuzzCheck(false, "JSON read into protobuf that does not read back")
                return
            }
            fuzzCheck(again.acceptedCount == spans.acceptedCount && again.rejected == spans.rejected,
                      "JSON read back as protobuf with other spans: \(again.acceptedCount) vs \(spans.acceptedCount)")
        }
        if spans.acceptedCount > 0 { explore(spans) }
    }

    /// Stores the spans and writes every trace as the explorer shows it.
    private static func explore(_ spans: ReceivedSpans) {
        let store = TraceStore(clock: { 1_700_000_000_000_000_000 })
        let refused = store.add(spans)
        fuzzCheck(refused <= spans.acceptedCount, "the store refused \(refused) of \(spans.acceptedCount)")
        let listing = store.list(TraceQuery())
        for summary in listing.summaries {
            guard let snapshot = store.trace(summary.traceID) else {
                fuzzCheck(false, "listed trace \(summary.traceID) not found")
                return
            }
            _ = snapshot.records()
            let json = snapshot.otlpJSON()
            let stored: ReceivedSpans
            do throws(OTLPDecodingError) {
                stored = try ReceivedSpans.read(json: json)
            } catch {
                fuzzCheck(false, "the explorer's JSON does not read back: \(error)\n\(String(decoding: json, as: UTF8.self))")
                return
            }
            fuzzCheck(stored.acceptedCount == snapshot.spans.count,
                      "the explorer's JSON reads back as \(stored.acceptedCount) spans of \(snapshot.spans.count)")
        }
    }

    /// The request heads, parsed once.
    private static let heads: [String: RequestHead] = {
        var heads: [String: RequestHead] = [:]
        for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
            for encoding in [OTLPEncoding.protobuf, .json] {
                for gzip in [false, true] {
                    let text = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:4318\r\nContent-Type: \(encoding.contentType)\r\n"
                        + (gzip ? "Content-Encoding: gzip\r\n" : "") + "\r\n"
                    heads[key(path, encoding, gzip)] = try! RequestHeadParser().parse(Array(text.utf8))
                }
            }
        }
        return heads
    }()

    private static func head(path: String, encoding: OTLPEncoding, gzip: Bool) -> RequestHead {
        heads[key(path, encoding, gzip)]!
    }

    private static func key(_ path: String, _ encoding: OTLPEncoding, _ gzip: Bool) -> String {
        "\(path) \(encoding.contentType) \(gzip)"
    }
}
