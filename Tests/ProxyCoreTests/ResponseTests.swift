#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProxyCore
import Testing

/// The response side: interim heads, 100-continue, the upstream's EOF at each point, a
/// body that fails, and the status the exchange records.
@Suite struct ResponseTests {
    static let waiting: [[ExchangeMachine.Event]] = [Path.sendingNew, Path.sendingReused, Path.awaitingHeadNew]

    @Test(arguments: [100, 102, 103], waiting)
    func interimResponseIsDroppedAndChangesNothing(_ status: Int, _ path: [ExchangeMachine.Event]) {
        var machine = startedMachine(.get, after: path)
        let before = machine.state
        #expect(machine.handle(.responseHead(status: status, reusable: true, closeDelimited: false)) == .none)
        #expect(machine.state == before)
        #expect(machine.status == 0)
        #expect(!machine.responseStarted)
        #expect(machine.awaitsResponseHead)
        #expect(machine.handle(Path.ok) == .forwardResponseHead(closeClient: false))
        #expect(machine.status == 200)
    }

    @Test(arguments: [
        (RequestKind.postExpectingContinue, true), (.postWithBody, false), (.get, false), (.putWithBody, false),
    ])
    func continueIsSentOnlyForABodyThatExpectsIt(_ kind: RequestKind, _ sendContinue: Bool) {
        var machine = ExchangeMachine(request: kind.request)
        #expect(machine.start(routeFound: true, serverAvailable: true, clientGone: false)
            == .connect(pooled: true, sendContinue: sendContinue))
        #expect(machine.state == .connecting(.first))
        #expect(machine.attempts == 1)
    }

    @Test func expectWithoutABodySendsNoContinue() {
        let request = ExchangeMachine.Request(idempotent: true, hasBody: false, keepAlive: true, expectsContinue: true)
        var machine = ExchangeMachine(request: request)
        #expect(machine.start(routeFound: true, serverAvailable: true, clientGone: false)
            == .connect(pooled: true, sendContinue: false))
    }

    /// The upstream's EOF at each point of the exchange.
    static let upstreamEnds: [Transition] = [
        .init(
            "while connecting: refused, retried", after: Path.connecting, .upstreamEnded(responseBytesSeen: false),
            .retry(after: .connectRefused, carryQueued: true), .connecting(.second)),
        .init(
            "while sending on a new connection: 502", .postWithBody, after: Path.sendingNew,
            .upstreamEnded(responseBytesSeen: false),
            .fail(.upstreamClosedEarly, answerClient: true, closeClient: true), .finished),
        .init(
            "while sending on a reused connection: stale, retried", after: Path.sendingReused,
            .upstreamEnded(responseBytesSeen: false), .retry(after: .upstreamClosedEarly, carryQueued: false),
            .connecting(.second)),
        .init(
            "while awaiting the head: 502", after: Path.awaitingHeadNew, .upstreamEnded(responseBytesSeen: false),
            .fail(.upstreamClosedEarly, answerClient: true, closeClient: false), .finished),
        .init(
            "within a partial head: 502", after: Path.awaitingHeadReused, .upstreamEnded(responseBytesSeen: true),
            .fail(.upstreamClosedEarly, answerClient: true, closeClient: false), .finished),
        .init(
            "while streaming: the rest is passed on", after: Path.streaming, .upstreamEnded(responseBytesSeen: true),
            .passOnRemainingResponse, .streaming(.first, .init(closeClient: false, reusable: true, upstreamEnded: true))),
        .init(
            "while tunnelling: the tunnel ends", .upgrade, after: Path.tunnelling, .upstreamEnded(responseBytesSeen: true),
            .endTunnel(.upstreamClosed), .finished),
    ]

    @Test(arguments: upstreamEnds)
    func upstreamEndAtEachPoint(_ row: Transition) {
        row.check()
    }

    @Test func upstreamEndDuringTheBodyThenCompleteFinishesWithoutReuse() {
        var machine = startedMachine(.get, after: Path.streaming)
        #expect(machine.handle(.upstreamEnded(responseBytesSeen: true)) == .passOnRemainingResponse)
        #expect(machine.upstreamEnded)
        #expect(machine.handle(.responseComplete(upstreamIdle: true)) == .finish(reuseUpstream: false, closeClient: false))
        #expect(machine.failure == nil)
        #expect(machine.status == 200)
    }

    @Test func upstreamEndDuringTheBodyThenTruncatedClosesWithoutAnAnswer() {
        var machine = startedMachine(.get, after: Path.streaming + [.upstreamEnded(responseBytesSeen: true)])
        #expect(machine.handle(.responseFailed(.upstreamBodyTruncated))
            == .fail(.upstreamBodyTruncated, answerClient: false, closeClient: true))
        #expect(machine.failure == .upstreamBodyTruncated)
        #expect(machine.status == 200)
        #expect(machine.state == .finished)
    }

    /// A failure after the head went to the client answers nothing and closes.
    static let streamingFailures: [(ExchangeMachine.Event, ProxyFailure)] = [
        (.upstreamFailed(code: ECONNRESET, responseBytesSeen: true), .upstreamReset(code: ECONNRESET)),
        (.upstreamTimedOut(responseBytesSeen: true), .responseBodyTimeout),
        (.responseFailed(.malformedResponse(.invalidChunkSize)), .malformedResponse(.invalidChunkSize)),
        (.requestBodyFailed(.malformedRequest(.invalidChunkFraming)), .malformedRequest(.invalidChunkFraming)),
    ]

    @Test(arguments: streamingFailures)
    func failureAfterTheResponseStartedKeepsItsStatusAndCloses(_ event: ExchangeMachine.Event, _ failure: ProxyFailure) {
        let created = ExchangeMachine.Event.responseHead(status: 201, reusable: true, closeDelimited: false)
        var machine = startedMachine(.postWithBody, after: Path.sendingNew + [created])
        #expect(machine.handle(event) == .fail(failure, answerClient: false, closeClient: true))
        #expect(machine.status == 201)
        #expect(machine.failure == failure)
        #expect(machine.state == .finished)
    }

    @Test(arguments: [200, 204, 304, 404, 500, 503])
    func statusIsTheUpstreamsAfterAForwardedHead(_ status: Int) {
        var machine = startedMachine(.get, after: Path.awaitingHeadNew)
        #expect(machine.handle(.responseHead(status: status, reusable: true, closeDelimited: false))
            == .forwardResponseHead(closeClient: false))
        #expect(machine.status == status)
        #expect(machine.responseStarted)
        _ = machine.handle(.responseComplete(upstreamIdle: true))
        #expect(machine.status == status)
        #expect(machine.failure == nil)
    }

    @Test func statusIsTheFailuresAfterALocalAnswer() {
        var machine = startedMachine(.get, after: Path.awaitingHeadNew)
        #expect(machine.status == 0)
        _ = machine.handle(.deadlinePassed)
        #expect(machine.status == 504)
        #expect(machine.responseStarted)
    }

    @Test func abortAfterTheResponseStartedKeepsTheUpstreamsStatus() {
        var machine = startedMachine(.get, after: Path.streaming)
        #expect(machine.handle(.clientFailed) == .abort(.clientFailed))
        #expect(machine.status == 200)
        #expect(machine.failure == .clientFailed)
    }

    /// Network reports the executor may send in states where they mean nothing.
    static let ignored: [Transition] = [
        .init("request written while connecting", after: Path.connecting, .requestWritten, .none, .connecting(.first)),
        .init("request written again while awaiting the head", after: Path.awaitingHeadNew, .requestWritten, .none, .awaitingHead(.first)),
        .init("request written while streaming", after: Path.streaming, .requestWritten, .none, .streaming(.first, .keepAlive)),
        .init("request written while tunnelling", .upgrade, after: Path.tunnelling, .requestWritten, .none, .tunnelling),
        .init("deadline passed while sending", after: Path.sendingReused, .deadlinePassed, .none, .sending(.firstReused)),
        .init("deadline passed while streaming", after: Path.streaming, .deadlinePassed, .none, .streaming(.first, .keepAlive)),
        .init(
            "an interim head while streaming the request body", .postWithBody, after: Path.sendingNew,
            .responseHead(status: 100, reusable: true, closeDelimited: false), .none, .sending(.first)),
    ]

    @Test(arguments: ignored)
    func reportWithoutMeaningInItsStateIsIgnored(_ row: Transition) {
        row.check()
    }

    @Test func requestBodyCompleteMarksTheBodyReadInAnyState() {
        var machine = startedMachine(.postWithBody, after: Path.sendingNew)
        #expect(!machine.requestBodyDone)
        #expect(machine.handle(.requestBodyComplete) == .requestBodyRead)
        #expect(machine.requestBodyDone)
        #expect(machine.state == .sending(.first))
        #expect(ExchangeMachine(request: RequestKind.get.request).requestBodyDone)
    }
}
