import ProxyCore
import Testing

/// Every exchange timeout as a deadline action: what starts it, what cancels it, and what
/// its passing means in each state.
@Suite struct ExchangeDeadlineTests {
    static let starts: [Transition] = [
        .init("a new connection starts the connect deadline", after: [], .connecting, .startDeadline(.connect), .connecting(.first)),
        .init(
            "the retry's new connection starts it again", after: Path.retried, .connecting, .startDeadline(.connect),
            .connecting(.second)),
        .init("connected cancels it", after: Path.connecting, .connected, .cancelDeadline, .sending(.first)),
        .init("a reused connection cancels it", after: [], .connectionReused, .cancelDeadline, .sending(.firstReused)),
        .init(
            "the whole request written starts the response-head deadline", after: Path.sendingNew, .requestWritten,
            .startDeadline(.responseHead), .awaitingHead(.first)),
        .init(
            "so does a request written on a reused connection", after: Path.sendingReused, .requestWritten,
            .startDeadline(.responseHead), .awaitingHead(.firstReused)),
        .init(
            "a request whose body was read and written starts it", .postWithBody, after: Path.bodyRead(Path.sendingNew),
            .requestWritten, .startDeadline(.responseHead), .awaitingHead(.first)),
        .init(
            "a body read after the queue drained starts it on the next report", .postWithBody,
            after: Path.sendingNew + [.requestWritten, .requestBodyComplete], .requestWritten,
            .startDeadline(.responseHead), .awaitingHead(.first)),
        .init(
            "the queue drained before the body is done starts nothing", .postWithBody, after: Path.sendingNew,
            .requestWritten, .none, .sending(.first)),
        .init(
            "the response-head deadline starts once", after: Path.awaitingHeadNew, .requestWritten, .none,
            .awaitingHead(.first)),
    ]

    @Test(arguments: starts)
    func deadlineStartsAndStops(_ row: Transition) {
        row.check()
    }

    static let passes: [Transition] = [
        .init(
            "while connecting: a connect timeout, retried", after: Path.connecting, .deadlinePassed,
            .retry(after: .connectTimeout, carryQueued: true), .connecting(.second)),
        .init(
            "while the retry connects: a connect timeout, failed", after: Path.retried + [.connecting], .deadlinePassed,
            .fail(.connectTimeout, answerClient: true, closeClient: false), .finished),
        .init("while sending: none runs, ignored", after: Path.sendingNew, .deadlinePassed, .none, .sending(.first)),
        .init(
            "while sending a body: none runs, ignored", .postWithBody, after: Path.sendingNew, .deadlinePassed, .none,
            .sending(.first)),
        .init(
            "while awaiting the head: 504", after: Path.awaitingHeadNew, .deadlinePassed,
            .fail(.responseHeadTimeout, answerClient: true, closeClient: false), .finished),
        .init(
            "while streaming: the head's late deadline, ignored", after: Path.streaming, .deadlinePassed, .none,
            .streaming(.first, .keepAlive)),
        .init(
            "while tunnelling: idle for timeouts.tunnel", .upgrade, after: Path.tunnelling, .deadlinePassed,
            .endTunnel(.idleTimeout), .finished),
    ]

    @Test(arguments: passes)
    func deadlinePassingInEachState(_ row: Transition) {
        row.check()
    }

    @Test func tunnelIdleTimeoutIsRecordedAsTheTunnelEnd() {
        var machine = startedMachine(.upgrade, after: Path.tunnelling)
        _ = machine.handle(.deadlinePassed)
        #expect(machine.tunnelEnd == .idleTimeout)
        #expect(machine.status == 101)
        #expect(machine.failure == nil)
    }

    @Test func responseHeadTimeoutAfterAnInterimResponseStillFails() {
        let interim = ExchangeMachine.Event.responseHead(status: 100, reusable: true, closeDelimited: false)
        var machine = startedMachine(.get, after: Path.awaitingHeadNew + [interim])
        #expect(machine.handle(.deadlinePassed) == .fail(.responseHeadTimeout, answerClient: true, closeClient: false))
        #expect(machine.status == 504)
    }
}
