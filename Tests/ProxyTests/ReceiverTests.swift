import Foundation
import HTTP1
import Libevent
import LocalServer
import Logging
import Receiver
import Synchronization
import Testing
import Tracing

/// The OTLP/HTTP receiver, as the OTLP specification's OTLP/HTTP section says:
/// encodings, compression, every status, partial success.
@Suite struct ReceiverTests {
    static let ingest = OTLPIngest(settings: .init(maxBodyBytes: 64 * 1024))

    static func request(_ method: String = "POST", path: String = "/v1/traces", type: String? = "application/x-protobuf",
                        encoding: String? = nil, body: [UInt8] = []) throws -> LocalRequest {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: r\r\nContent-Length: \(body.count)\r\n"
        if let type { text += "Content-Type: \(type)\r\n" }
        if let encoding { text += "Content-Encoding: \(encoding)\r\n" }
        return LocalRequest(head: try RequestHeadParser().parse(Array((text + "\r\n").utf8)), body: body)
    }

    /// A valid request of `count` spans of one trace, from the proxy's own encoder.
    static func spans(_ count: Int, traceByte: UInt8 = 7, service: String = "backend") -> [UInt8] {
        let records = (0..<count).map { index in
            SpanRecord(traceID: .init(bytes: (traceByte, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
                       spanID: .init(bytes: (1, 2, 3, 4, 5, 6, 7, UInt8(truncatingIfNeeded: index + 1))), parentSpanID: nil,
                       flags: .sampled, kind: .server, name: "work", startNanoseconds: 1, endNanoseconds: 2)
        }
        return OTLPEncoder.protobuf(records, resource: TraceResource(attributes: [.string("service.name", service)]))
    }

    /// The `partial_success` of a protobuf export response: (rejected, message).
    static func partialSuccess(_ body: [UInt8]) -> (Int, String)? {
        guard !body.isEmpty, body[0] == 0x0A else { return nil }
        var index = 2
        func varint() -> Int {
            var value = 0
            var shift = 0
            while index < body.count {
                let byte = body[index]
                index += 1
                value |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            return value
        }
        var rejected = 0
        var message = ""
        while index < body.count {
            let tag = body[index]
            index += 1
            switch tag {
            case 0x08: rejected = varint()
            case 0x12:
                let length = varint()
                message = String(decoding: body[index..<min(index + length, body.count)], as: UTF8.self)
                index += length
            default: return nil
            }
        }
        return (rejected, message)
    }

    @Test func protobufAndJSONAreAcceptedAndAnsweredInTheirOwnEncoding() throws {
        let protobuf = Self.ingest.handle(try Self.request(body: Self.spans(3)))
        #expect(protobuf.response.status == 200)
        #expect(protobuf.response.header("Content-Type") == "application/x-protobuf")
        #expect(protobuf.response.body.isEmpty)  // full success: partial_success unset
        #expect(protobuf.spans?.acceptedCount == 3)
        let json = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174"}]}]}]}"#
        let answer = Self.ingest.handle(try Self.request(type: "application/json; charset=utf-8", body: Array(json.utf8)))
        #expect(answer.response.status == 200)
        #expect(answer.response.header("Content-Type") == "application/json")
        #expect(answer.response.body == Array("{}".utf8))
        #expect(answer.spans?.acceptedCount == 1)
    }

    @Test func gzipBodiesAreDecompressed() throws {
        let compressed = try #require(Gzip.compress(Self.spans(2)))
        let outcome = Self.ingest.handle(try Self.request(encoding: "gzip", body: compressed))
        #expect(outcome.response.status == 200)
        #expect(outcome.spans?.acceptedCount == 2)
    }

    @Test func aGzipBombIsRefusedWith413WithoutInflatingIt() throws {
        let bomb = try #require(Gzip.compress([UInt8](repeating: 0, count: 8 * 1024 * 1024)))
        #expect(bomb.count < 64 * 1024)
        let outcome = Self.ingest.handle(try Self.request(encoding: "gzip", body: bomb))
        #expect(outcome.response.status == 413)
        #expect(String(decoding: outcome.response.body, as: UTF8.self).contains("once decompressed"))
    }

    @Test func partialSuccessCountsRefusedSpansAndSaysWhy() throws {
        var body = Self.spans(2)
        // A span whose trace id is 3 bytes long, appended as one more ResourceSpans.
        body += [0x0A, 0x13, 0x12, 0x11, 0x12, 0x0F, 0x0A, 0x03, 1, 2, 3, 0x12, 0x08, 1, 1, 1, 1, 1, 1, 1, 1]
        let outcome = Self.ingest.handle(try Self.request(body: body))
        #expect(outcome.response.status == 200)
        let (rejected, message) = try #require(Self.partialSuccess(outcome.response.body))
        #expect(rejected == 1)
        #expect(message.contains("trace id is not 16 bytes"))
        #expect(outcome.spans?.acceptedCount == 2)
    }

    @Test func undecodableBodiesGet400WithAReadableStatus() throws {
        let outcome = Self.ingest.handle(try Self.request(body: [0xFF, 0xFF, 0xFF]))
        #expect(outcome.response.status == 400)
        #expect(String(decoding: outcome.response.body, as: UTF8.self).contains("not an OTLP ExportTraceServiceRequest"))
        let json = Self.ingest.handle(try Self.request(type: "application/json", body: Array("{\"resourceSpans\": 3}".utf8)))
        #expect(json.response.status == 400)
        #expect(String(decoding: json.response.body, as: UTF8.self).hasPrefix("{\"code\":3,\"message\":"))
        #expect(Self.ingest.handle(try Self.request(encoding: "gzip", body: [1, 2, 3])).response.status == 400)
    }

    @Test func methodPathTypeAndCodingAreCheckedBeforeTheBody() throws {
        let get = try #require(Self.ingest.check(try Self.request("GET")))
        #expect(get.status == 405)
        #expect(get.header("Allow") == "POST")
        #expect(Self.ingest.check(try Self.request(path: "/v1/profiles"))?.status == 404)
        #expect(Self.ingest.check(try Self.request(type: "text/plain"))?.status == 415)
        #expect(Self.ingest.check(try Self.request(type: nil))?.status == 415)
        #expect(Self.ingest.check(try Self.request(encoding: "br"))?.status == 415)
        #expect(Self.ingest.check(try Self.request(encoding: "gzip")) == nil)
    }

    @Test func metricsAndLogsGetAPartialSuccessSayingOnlyTracesAreKept() throws {
        // ExportMetricsServiceRequest { resource_metrics { scope_metrics { metrics { gauge { 3 data points } } } } }
        let gauge: [UInt8] = [0x2A, 0x06, 0x0A, 0x00, 0x0A, 0x00, 0x0A, 0x00]
        let metric: [UInt8] = [0x12, UInt8(gauge.count)] + gauge
        let scope: [UInt8] = [0x12, UInt8(metric.count)] + metric
        let metrics: [UInt8] = [0x0A, UInt8(scope.count)] + scope
        let answer = Self.ingest.handle(try Self.request(path: "/v1/metrics", body: metrics))
        #expect(answer.response.status == 200)
        let (rejected, message) = try #require(Self.partialSuccess(answer.response.body))
        #expect(rejected == 3)
        #expect(message.contains("keeps traces only"))
        let logs = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{}]}]}]}"#
        let logAnswer = Self.ingest.handle(try Self.request(path: "/v1/logs", type: "application/json", body: Array(logs.utf8)))
        #expect(logAnswer.response.status == 200)
        #expect(String(decoding: logAnswer.response.body, as: UTF8.self).contains(#""rejectedLogRecords":"2""#))
    }

    // MARK: Over a socket

    final class LogCapture: LogHandler, @unchecked Sendable {
        let messages = Mutex<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            messages.withLock { $0.append(message.description) }
        }
    }

    static func start(store: TraceStore, settings: OTLPIngest.Settings = .init(maxBodyBytes: 64 * 1024), capture: LogCapture = LogCapture(),
                      forwarder: (@Sendable ([UInt8], Int) -> Void)? = nil) throws -> OTLPReceiver {
        let receiver = try OTLPReceiver(
            address: try SocketAddress.resolve(host: "127.0.0.1", port: 0)[0], settings: settings, store: store,
            forwarder: forwarder, logger: Logger(label: "test") { _ in capture })
        receiver.start()
        return receiver
    }

    @Test func receivedSpansReachTheStoreAndAreForwardedWhenAsked() throws {
        let store = TraceStore()
        let forwarded = Mutex<[[UInt8]]>([])
        let receiver = try Self.start(store: store, settings: .init(forward: true), forwarder: { request, _ in forwarded.withLock { $0.append(request) } })
        defer { receiver.stop() }
        let connection = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { connection.close() }
        let body = Self.spans(2)
        connection.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nContent-Length: \(body.count)\r\n\r\n")
        connection.send(body)
        #expect(connection.reader.read(method: "POST")?.status == 200)
        #expect(store.statistics.spans == 2)
        #expect(forwarded.withLock { $0 } == [body])
        #expect(receiver.statistics.acceptedSpans == 2)
    }

    @Test func bodiesOverTheLimitAre413OnTheWireChunkedOrDeclared() throws {
        let store = TraceStore()
        let receiver = try Self.start(store: store, settings: .init(maxBodyBytes: 1024))
        defer { receiver.stop() }
        let declared = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { declared.close() }
        declared.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nContent-Length: 5000\r\n\r\n")
        #expect(declared.reader.read(method: "POST")?.status == 413)
        let chunked = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { chunked.close() }
        chunked.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<4 { chunked.send("200\r\n" + String(repeating: "x", count: 512) + "\r\n") }
        #expect(chunked.reader.read(method: "POST")?.status == 413)
        #expect(store.statistics.spans == 0)
    }

    @Test func theSpansOfATraceOverTheCapArePartialSuccess() throws {
        let store = TraceStore(limits: .init(maxSpansPerTrace: 3))
        let receiver = try Self.start(store: store)
        defer { receiver.stop() }
        let connection = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { connection.close() }
        let body = Self.spans(5)
        connection.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nContent-Length: \(body.count)\r\n\r\n")
        connection.send(body)
        let response = try #require(connection.reader.read(method: "POST"))
        #expect(response.status == 200)
        let (rejected, message) = try #require(Self.partialSuccess(response.body))
        #expect(rejected == 2)
        #expect(message.contains("most spans the store keeps per trace"))
    }

    @Test func anHTTP2PrefaceIsClosedAndExplainedOnce() throws {
        let capture = LogCapture()
        let receiver = try Self.start(store: TraceStore(), capture: capture)
        defer { receiver.stop() }
        for _ in 0..<2 {
            let connection = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
            connection.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            #expect(connection.reader.isClosedByPeer())
            connection.close()
        }
        let hints = capture.messages.withLock { $0 }.filter { $0.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf") }
        #expect(hints.count == 1)
    }

    @Test func aBusyReceiverAnswers503WithRetryAfter() throws {
        let receiver = try Self.start(store: TraceStore(), settings: .init(maxBodyBytes: 48 * 1024 * 1024))
        defer { receiver.stop() }
        // Two uploads declared at 40 MiB each: the first is being read, the second would
        // pass the 64 MiB the receiver holds for bodies in progress.
        let first = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { first.close() }
        first.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nContent-Length: \(40 << 20)\r\n\r\nxx")
        // The first head is read before the second connection's (one thread, in order).
        let probe = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        probe.send("GET /v1/traces HTTP/1.1\r\nHost: r\r\n\r\n")
        #expect(probe.reader.read()?.status == 405)
        probe.close()
        let second = TestConnection(fd: try #require(TestSocket.connect(port: receiver.boundAddress.port)))
        defer { second.close() }
        second.send("POST /v1/traces HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-protobuf\r\nContent-Length: \(40 << 20)\r\n\r\n")
        let response = try #require(second.reader.read(method: "POST"))
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "1")
    }
}
