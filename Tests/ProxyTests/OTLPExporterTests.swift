import Foundation
import Libevent
import Logging
import Synchronization
import Testing
@testable import Tracing
import W3CTraceContext

/// The OTLP/HTTP exporter against a fake collector (a stub HTTP server) on 127.0.0.1.
@Suite struct OTLPExporterTests {
    static let span = SpanRecord(
        traceID: TraceID(bytes: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
        spanID: SpanID(bytes: (1, 2, 3, 4, 5, 6, 7, 8)), parentSpanID: nil, flags: .sampled, kind: .server,
        name: "GET /api/*", startNanoseconds: 1, endNanoseconds: 2)
    static let resource = TraceResource(attributes: [.string("service.name", "edge-proxy")])

    static func exporter(port: Int, _ environment: [String: String] = [:]) throws -> OTLPHTTPExporter {
        var variables = ["OTEL_EXPORTER_OTLP_HEADERS": "x-honeycomb-team=test%20key", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1"]
        variables.merge(environment) { $1 }
        let settings = try #require(OTLPExporterSettings.fromEnvironment(url: "http://127.0.0.1:\(port)/v1/traces", variables).settings)
        return OTLPHTTPExporter(settings: settings, resource: resource, logger: Logger(label: "test"))
    }

    /// When each request reached the fake collector, on the exporter's own monotonic
    /// clock (the one its pauses are set on), to order requests against a pause.
    final class Times: @unchecked Sendable {
        let lock = NSLock()
        var values: [UInt64] = []
        /// Notes a request; returns how many there were, this one included.
        @discardableResult
        func add() -> Int {
            lock.lock()
            defer { lock.unlock() }
            values.append(ExportConnection.monotonicNanoseconds())
            return values.count
        }
        var all: [UInt64] { lock.lock(); defer { lock.unlock() }; return values }
    }

    @Test func postsProtobufWithTheConfiguredHeaders() throws {
        let collector = StubUpstream { _, client in
            client.respond(body: "")
            return .keepReading
        }
        let exporter = try Self.exporter(port: collector.port)
        exporter.export([Self.span])
        exporter.forceFlush()
        let request = try #require(collector.requests.first)
        #expect(request.method == "POST")
        #expect(request.target == "/v1/traces")
        #expect(request.header("content-type") == "application/x-protobuf")
        #expect(request.header("x-honeycomb-team") == "test key")
        let body = request.body
        #expect(body.count > 40)
        #expect(String(decoding: body, as: UTF8.self).contains("edge-proxy"))
        #expect(exporter.currentCounters.exportedSpans == 1)
    }

    @Test func jsonAndGzipAreUsedWhenConfigured() throws {
        let collector = StubUpstream { _, client in
            client.respond(body: "{}")
            return .keepReading
        }
        let exporter = try Self.exporter(port: collector.port, ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"])
        exporter.export([Self.span])
        exporter.forceFlush()
        let request = try #require(collector.requests.first)
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("content-encoding") == "gzip")
        #expect(Array(request.body.prefix(2)) == [0x1f, 0x8b])
    }

    @Test func tooManyRequestsIsRetriedAfterRetryAfter() throws {
        let times = Times()
        let collector = StubUpstream { _, client in
            if times.add() == 1 {
                client.respond(status: 429, headers: ["Retry-After: 1"])
            } else {
                client.respond(body: "")
            }
            return .close
        }
        let exporter = try Self.exporter(port: collector.port)
        exporter.export([Self.span])
        exporter.forceFlush()
        let stamps = times.all
        #expect(stamps.count == 2)
        // The 429 paused sending for its Retry-After (1 s), counted from after the 429,
        // and the retry came only once that pause was over.
        let pausedUntil = exporter.pausedUntil.load(ordering: .relaxed)
        if stamps.count == 2 {
            #expect(pausedUntil >= stamps[0] + 1_000_000_000)
            #expect(stamps[1] >= pausedUntil)
        }
        #expect(exporter.currentCounters.retries == 1)
        #expect(exporter.currentCounters.exportedSpans == 1)
    }

    @Test func serviceUnavailableBacksOffWithGrowingGapsWithinTheTimeout() throws {
        let times = Times()
        let collector = StubUpstream { _, client in
            times.add()
            client.respond(status: 503)
            return .close
        }
        let exporter = try Self.exporter(port: collector.port, ["OTEL_EXPORTER_OTLP_TIMEOUT": "4500"])
        exporter.export([Self.span])
        // The deadline on this wait: twice the export timeout. An export that kept
        // retrying past its own timeout would still be in flight, and counted nowhere.
        exporter.forceFlush(timeoutMilliseconds: 9_000)
        let stamps = times.all
        #expect(stamps.count >= 2)
        let counters = exporter.currentCounters
        #expect(counters.failedExports == 1, "the export had not given up when forceFlush's 9 s deadline passed")
        #expect(counters.droppedSpans == 1)
        // Each retry is one more request at the collector, except perhaps the last: the
        // export timeout may cut it before it gets there (a loaded machine).
        #expect(
            counters.retries == stamps.count - 1 || counters.retries == stamps.count,
            "\(counters.retries) retries, \(stamps.count) requests at the collector")
    }

    @Test func badRequestIsNotRetried() throws {
        let collector = StubUpstream { _, client in
            client.respond(status: 400, body: "bad")
            return .close
        }
        let exporter = try Self.exporter(port: collector.port)
        exporter.export([Self.span])
        exporter.forceFlush()
        #expect(collector.requests.count == 1)
        #expect(exporter.currentCounters.failedExports == 1)
        #expect(exporter.currentCounters.retries == 0)
    }

    @Test func collectorThatNeverAnswersTimesOut() throws {
        // The collector reads the request and stays silent until the test is over (30 s
        // at most): an export that ends before then was cut by its own 800 ms timeout.
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let collector = StubUpstream { _, _ in
            _ = testOver.wait(timeout: .now() + 30)
            return .close
        }
        let exporter = try Self.exporter(port: collector.port, ["OTEL_EXPORTER_OTLP_TIMEOUT": "800"])
        exporter.export([Self.span])
        exporter.forceFlush(timeoutMilliseconds: 5_000)
        #expect(exporter.currentCounters.failedExports == 1, "the export was still waiting when forceFlush's 5 s deadline passed")
        #expect(collector.requests.count == 1)
    }

    @Test func anExportInFlightGetsTheShutdownDeadlineThenIsCut() throws {
        let testOver = DispatchSemaphore(value: 0)
        let arrived = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let collector = StubUpstream { _, _ in
            arrived.signal()
            _ = testOver.wait(timeout: .now() + 20)
            return .close
        }
        let exporter = try Self.exporter(port: collector.port, ["OTEL_EXPORTER_OTLP_TIMEOUT": "10000"])
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            exporter.export([Self.span])
            exporter.forceFlush()
            finished.signal()
        }
        // Interrupt once the request is at the collector, as a shutdown would: the export
        // may still finish within the shutdown deadline (3 s), not the 10 s export timeout,
        // and the collector holds it 20 s. Ending within this wait's deadline (shutdown
        // deadline + 2 s, well short of 10 s) is the shutdown deadline cutting it.
        #expect(arrived.wait(timeout: .now() + 5) == .success)
        exporter.interrupt()
        let waitSeconds = Double(OTLPHTTPExporter.shutdownMilliseconds) / 1000 + 2
        #expect(finished.wait(timeout: .now() + waitSeconds) == .success, "the export was not cut within \(waitSeconds) s of the interrupt")
        #expect(exporter.currentCounters.failedExports == 1)
    }

    @Test func interruptCutsABackoffShortAndTheFinalFlushStillRuns() throws {
        let answered = DispatchSemaphore(value: 0)
        let collector = StubUpstream { _, client in
            client.respond(status: 503)
            answered.signal()
            return .close
        }
        let exporter = try Self.exporter(port: collector.port, ["OTEL_EXPORTER_OTLP_TIMEOUT": "30000"])
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            exporter.export([Self.span])  // 503, then backs off within a 30 s budget
            exporter.forceFlush()
            finished.signal()
        }
        #expect(answered.wait(timeout: .now() + 5) == .success)
        exporter.interrupt()
        // Left alone, the export would go on backing off and retrying for 30 s: ending
        // within this wait's 5 s is the interrupt cutting the backoff.
        #expect(finished.wait(timeout: .now() + 5) == .success, "the export still backed off 5 s after the interrupt")
        #expect(exporter.currentCounters.failedExports == 1)
        // Spans that arrive later still get the final flush, bounded by its own deadline.
        exporter.export([Self.span])
        let waitSeconds = Double(OTLPHTTPExporter.shutdownMilliseconds) / 1000 + 2
        #expect(finishes(within: waitSeconds) { exporter.shutdown() }, "shutdown did not return within \(waitSeconds) s")
        #expect(collector.requests.count >= 2)
    }

    @Test func collectorDownCountsAFailureAndShutdownIsBounded() throws {
        let exporter = try Self.exporter(port: TestSocket.closedPort(), ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"])
        exporter.export([Self.span])
        // The export (10 s timeout) backs off against a refused connection; the shutdown
        // deadline (3 s) ends it. This wait's deadline is that bound plus room.
        let waitSeconds = Double(OTLPHTTPExporter.shutdownMilliseconds) / 1000 + 2
        #expect(finishes(within: waitSeconds) { exporter.shutdown() }, "shutdown did not return within \(waitSeconds) s")
        #expect(exporter.currentCounters.failedExports == 1)
        #expect(exporter.currentCounters.droppedSpans == 1)
    }

    @Test func exportResumesWhenTheCollectorComesBack() throws {
        let port = TestSocket.closedPort()
        let exporter = try Self.exporter(port: port, ["OTEL_EXPORTER_OTLP_TIMEOUT": "500"])
        exporter.export([Self.span])
        exporter.forceFlush()
        #expect(exporter.currentCounters.failedExports == 1)
        let collector = StubUpstream(port: port) { _, client in
            client.respond(body: "")
            return .keepReading
        }
        exporter.export([Self.span])
        exporter.forceFlush()
        #expect(collector.requests.count == 1)
        #expect(exporter.currentCounters.exportedSpans == 1)
        #expect(exporter.currentCounters.failedExports == 1)
    }

    @Test func exportsShareOneConnectionWhileTheCollectorKeepsIt() throws {
        let collector = StubUpstream { _, client in
            client.respond(body: "")
            return .keepReading
        }
        let exporter = try Self.exporter(port: collector.port)
        for _ in 0..<3 {
            exporter.export([Self.span])
            exporter.forceFlush()
        }
        #expect(collector.requests.count == 3)
        #expect(collector.acceptedConnections == 1)
        #expect(exporter.currentCounters.exportedSpans == 3)
    }

    @Test func aConnectionTheCollectorClosedWhileIdleIsReplacedWithoutARetry() throws {
        // Each answer leaves the connection looking reusable, then the collector closes it.
        let collector = StubUpstream { _, client in
            client.respond(body: "")
            return .close
        }
        let exporter = try Self.exporter(port: collector.port)
        for _ in 0..<3 {
            exporter.export([Self.span])
            exporter.forceFlush()
        }
        #expect(collector.requests.count == 3)
        #expect(collector.acceptedConnections == 3)
        #expect(exporter.currentCounters.exportedSpans == 3)
        #expect(exporter.currentCounters.retries == 0)
    }

    @Test func connectionCloseFromTheCollectorIsHonoured() throws {
        let collector = StubUpstream { _, client in
            client.respond(headers: ["Connection: close"])
            return .keepReading
        }
        let exporter = try Self.exporter(port: collector.port)
        for _ in 0..<2 {
            exporter.export([Self.span])
            exporter.forceFlush()
        }
        #expect(collector.requests.count == 2)
        #expect(collector.acceptedConnections == 2)
    }

    @Test func partialSuccessIsNotRetriedAndCountsRejectedSpans() throws {
        // ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1: 1 } }
        let collector = StubUpstream { _, client in
            client.send([UInt8]("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 4\r\n\r\n".utf8) + [0x0a, 0x02, 0x08, 0x01])
            return .close
        }
        let exporter = try Self.exporter(port: collector.port)
        exporter.export([Self.span])
        exporter.forceFlush()
        #expect(collector.requests.count == 1)
        #expect(exporter.currentCounters.droppedSpans == 1)
        #expect(exporter.currentCounters.exportedSpans == 0)
    }

    @Test func badVariablesAreReportedByNameAndDefaulted() {
        let (settings, problems) = OTLPExporterSettings.fromEnvironment(url: "https://api.honeycomb.io/v1/traces", [
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon",
            "OTEL_EXPORTER_OTLP_HEADERS": "novalue,x-honeycomb-team=abc",
        ])
        #expect(settings?.useTLS == true)
        #expect(settings?.port == 443)
        #expect(settings?.json == false)
        #expect(settings?.timeoutMilliseconds == 10_000)
        #expect(settings?.headers.first?.0 == "x-honeycomb-team")
        #expect(problems.contains { $0.contains("OTEL_EXPORTER_OTLP_PROTOCOL") })
        #expect(problems.contains { $0.contains("OTEL_EXPORTER_OTLP_TIMEOUT") })
        #expect(problems.contains { $0.contains("OTEL_EXPORTER_OTLP_HEADERS") })
    }

    @Test func retryAfterAcceptsAnHTTPDate() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777)
    }
}
