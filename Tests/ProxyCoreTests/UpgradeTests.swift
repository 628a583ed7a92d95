#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProxyCore
import Testing

/// A 101 to a request that asked for an upgrade starts a tunnel; how it ends is recorded.
@Suite struct UpgradeTests {
    static let switching = ExchangeMachine.Event.responseHead(status: 101, reusable: false, closeDelimited: false)

    @Test func switchingProtocolsForAnUpgradeStartsTheTunnel() {
        var machine = startedMachine(.upgrade, after: Path.awaitingHeadNew)
        #expect(machine.handle(Self.switching) == .startTunnel)
        #expect(machine.state == .tunnelling)
        #expect(machine.isTunnelling)
        #expect(machine.status == 101)
        #expect(machine.responseStarted)
        #expect(!machine.awaitsResponseHead)
        #expect(machine.tunnelEnd == nil)
    }

    @Test(arguments: [RequestKind.get, .postWithoutBody])
    func switchingProtocolsNobodyAskedForIsBadGateway(_ kind: RequestKind) {
        var machine = startedMachine(kind, after: Path.awaitingHeadNew)
        let failure = ProxyFailure.malformedResponse(.invalidStatusLine)
        #expect(machine.handle(Self.switching) == .fail(failure, answerClient: true, closeClient: false))
        #expect(machine.status == 502)
        #expect(machine.failure == failure)
        #expect(machine.state == .finished)
    }

    @Test func upgradeRequestAnsweredWithoutASwitchIsAnOrdinaryResponse() {
        var machine = startedMachine(.upgrade, after: Path.awaitingHeadNew)
        #expect(machine.handle(Path.ok) == .forwardResponseHead(closeClient: false))
        #expect(machine.state == .streaming(.first, .keepAlive))
    }

    static let ends: [(ExchangeMachine.Event, TunnelEnd)] = [
        (.clientEnded, .clientClosed),
        (.clientFailed, .clientFailed),
        (.clientTimedOut, .clientFailed),
        (.upstreamEnded(responseBytesSeen: true), .upstreamClosed),
        (.upstreamFailed(code: ECONNRESET, responseBytesSeen: true), .upstreamFailed),
        (.upstreamTimedOut(responseBytesSeen: true), .upstreamFailed),
        (.deadlinePassed, .idleTimeout),
    ]

    @Test(arguments: ends)
    func tunnelEndsAndRecordsWhy(_ event: ExchangeMachine.Event, _ end: TunnelEnd) {
        var machine = startedMachine(.upgrade, after: Path.tunnelling)
        #expect(machine.handle(event) == .endTunnel(end))
        #expect(machine.tunnelEnd == end)
        #expect(machine.state == .finished)
        #expect(machine.failure == nil)
        #expect(machine.status == 101)
    }

    @Test func shutdownIsRecordedForAnOpenTunnelOnly() {
        var open = startedMachine(.upgrade, after: Path.tunnelling)
        open.tunnelCutByShutdown()
        #expect(open.tunnelEnd == .shutdown)

        var ended = startedMachine(.upgrade, after: Path.tunnelling + [.clientEnded])
        ended.tunnelCutByShutdown()
        #expect(ended.tunnelEnd == .clientClosed)

        var streaming = startedMachine(.get, after: Path.streaming)
        streaming.tunnelCutByShutdown()
        #expect(streaming.tunnelEnd == nil)
    }
}
