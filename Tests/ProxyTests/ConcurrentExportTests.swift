import Foundation
import Logging
import Synchronization
import Testing
@testable import Tracing

/// Several exports in flight at once, against a fake collector that answers after a delay.
@Suite struct ConcurrentExportTests {
    static func exporter(port: Int, concurrency: Int, batch: Int = 1, timeout: Int = 10_000) throws -> OTLPHTTPExporter {
        var settings = try #require(OTLPExporterSettings.fromEnvironment(
            url: "http://127.0.0.1:\(port)/v1/traces",
            ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "\(batch)", "OTEL_EXPORTER_OTLP_TIMEOUT": "\(timeout)"]).settings)
        settings.maxConcurrentExports = concurrency
        return OTLPHTTPExporter(settings: settings, resource: OTLPExporterTests.resource, logger: Logger(label: "test"))
    }

    /// A collector that holds each request `delay` seconds before answering 200, and
    /// notes how many it held at once.
    final class Gauge: Sendable {
        let current = Atomic<Int>(0)
        let most = Atomic<Int>(0)

        func enter() {
            let now = current.add(1, ordering: .relaxed).newValue
            var seen = most.load(ordering: .relaxed)
            while now > seen {
                let (exchanged, original) = most.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
        }

        func leave() { current.subtract(1, ordering: .relaxed) }
    }

    final class SlowCollector: Sendable {
        let gauge = Gauge()
        let stub: StubUpstream
        var most: Int { gauge.most.load(ordering: .relaxed) }

        init(delay: TimeInterval) {
            let gauge = self.gauge
            stub = StubUpstream { _, client in
                gauge.enter()
                Thread.sleep(forTimeInterval: delay)
                gauge.leave()
                client.respond(body: "")
                return .keepReading
            }
        }
    }

    @Test func exportsGoOutConcurrentlyUpToTheBoundAndNoFurther() throws {
        let collector = SlowCollector(delay: 0.3)
        let exporter = try Self.exporter(port: collector.stub.port, concurrency: 3)
        for _ in 0..<10 { exporter.export([OTLPExporterTests.span]) }
        exporter.forceFlush()
        #expect(collector.most == 3)
        let counters = exporter.currentCounters
        #expect(counters.exportedSpans == 10)
        #expect(counters.maxInFlight == 3)
        // One kept connection per sender.
        #expect(collector.stub.acceptedConnections == 3)
    }

    @Test func batchesGrowWhileEverySenderIsBusy() throws {
        let collector = SlowCollector(delay: 0.3)
        let exporter = try Self.exporter(port: collector.stub.port, concurrency: 1, batch: 2)
        exporter.export([OTLPExporterTests.span, OTLPExporterTests.span])  // in flight
        exporter.export(Array(repeating: OTLPExporterTests.span, count: 10))  // waits, then goes as one
        exporter.forceFlush()
        #expect(exporter.currentCounters.exportedSpans == 12)
        #expect(collector.stub.requests.count == 2)
    }

    @Test func aTooManyRequestsAnswerPausesEverySender() throws {
        let times = OTLPExporterTests.Times()
        let collector = StubUpstream { _, client in
            if times.add() == 1 {
                client.respond(status: 429, headers: ["Retry-After: 1"])
            } else {
                client.respond(body: "")
            }
            return .keepReading
        }
        let exporter = try Self.exporter(port: collector.port, concurrency: 4)
        exporter.export([OTLPExporterTests.span])
        // Once the sender has read the 429, every sender is paused. (An atomic inside the
        // exporter: polled, with a deadline.)
        #expect(waitUntil { exporter.pausedUntil.load(ordering: .relaxed) != 0 }, "no pause within 5 s of the 429")
        let pausedUntil = exporter.pausedUntil.load(ordering: .relaxed)
        // Free senders exist, but the collector asked everyone to wait a second.
        exporter.export([OTLPExporterTests.span])
        exporter.export([OTLPExporterTests.span])
        exporter.forceFlush()
        let stamps = times.all
        #expect(stamps.count == 4)
        // The pause lasts the Retry-After (1 s) from after the 429, and no sender, busy or
        // free, started a request before it ended.
        if let throttled = stamps.first { #expect(pausedUntil >= throttled + 1_000_000_000) }
        for time in stamps.dropFirst() { #expect(time >= pausedUntil) }
        #expect(exporter.currentCounters.exportedSpans == 3)
    }

    @Test func shutdownLetsEveryExportInFlightFinishWithinItsDeadline() throws {
        let collector = SlowCollector(delay: 0.5)
        let exporter = try Self.exporter(port: collector.stub.port, concurrency: 4)
        for _ in 0..<4 { exporter.export([OTLPExporterTests.span]) }
        #expect(exporter.currentCounters.maxInFlight == 4)
        // Exports still in flight at the shutdown deadline would be cut and dropped: all
        // four delivered is all four finishing within it. The wait's own deadline only
        // guards against a shutdown that hangs.
        let waitSeconds = Double(OTLPHTTPExporter.shutdownMilliseconds) / 1000 + 2
        #expect(finishes(within: waitSeconds) {
            exporter.interrupt()
            exporter.shutdown()
        }, "shutdown did not return within \(waitSeconds) s")
        #expect(exporter.currentCounters.exportedSpans == 4)
        #expect(exporter.currentCounters.droppedSpans == 0)
    }

    @Test func aCollectorThatNeverAnswersHoldsAtMostTheBound() throws {
        let testOver = DispatchSemaphore(value: 0)
        defer { testOver.signal() }
        let held = Atomic<Int>(0)
        let collector = StubUpstream { _, _ in
            held.add(1, ordering: .relaxed)
            _ = testOver.wait(timeout: .now() + 20)
            return .close
        }
        let exporter = try Self.exporter(port: collector.port, concurrency: 2, timeout: 800)
        for _ in 0..<20 { exporter.export([OTLPExporterTests.span]) }
        // Two in flight; the rest wait as spans (bounded by the queue size), not as exports.
        #expect(exporter.currentCounters.maxInFlight == 2)
        exporter.forceFlush(timeoutMilliseconds: 5_000)
        let counters = exporter.currentCounters
        #expect(counters.maxInFlight == 2)
        #expect(counters.exportedSpans == 0)
        #expect(counters.droppedFailedExports > 0)
    }
}
