import ProxyCore
import Testing

/// What the client's close, failure and timeout mean at each point of an exchange, and
/// how `start` treats a client already gone, no route and no server.
@Suite struct ClientEventTests {
    static let transitions: [Transition] = [
        .init(
            "ended before the body is complete, while sending", .postWithBody, after: Path.sendingNew, .clientEnded,
            .abort(.clientClosedMidRequest), .finished),
        .init(
            "ended before the body is complete, while connecting", .postWithBody, after: Path.connecting, .clientEnded,
            .abort(.clientClosedMidRequest), .finished),
        .init(
            "ended before the body is complete, after an early answer", .postWithBody, after: Path.sendingNew + [Path.ok],
            .clientEnded, .abort(.clientClosedMidRequest), .finished),
        .init("ended while connecting", after: Path.connecting, .clientEnded, .abort(.clientGone), .finished),
        .init("ended while the retry connects", after: Path.retried, .clientEnded, .abort(.clientGone), .finished),
        .init("ended after the whole request, sending", after: Path.sendingNew, .clientEnded, .none, .sending(.first)),
        .init(
            "ended after the whole request, awaiting the head", after: Path.awaitingHeadNew, .clientEnded, .none,
            .awaitingHead(.first)),
        .init(
            "ended while the response streams", after: Path.streaming, .clientEnded, .none, .streaming(.first, .keepAlive)),
        .init("failed while connecting", after: Path.connecting, .clientFailed, .abort(.clientFailed), .finished),
        .init("failed while sending", .postWithBody, after: Path.sendingNew, .clientFailed, .abort(.clientFailed), .finished),
        .init("failed while awaiting the head", after: Path.awaitingHeadNew, .clientFailed, .abort(.clientFailed), .finished),
        .init("failed while streaming", after: Path.streaming, .clientFailed, .abort(.clientFailed), .finished),
        .init(
            "timed out with the body done: it stopped reading", after: Path.streaming, .clientTimedOut,
            .abort(.clientTimeout), .finished),
        .init(
            "timed out with the body done, awaiting the head", after: Path.awaitingHeadNew, .clientTimedOut,
            .abort(.clientTimeout), .finished),
        .init(
            "timed out with the body pending: 408", .postWithBody, after: Path.sendingNew, .clientTimedOut,
            .fail(.requestBodyTimeout, answerClient: true, closeClient: true), .finished),
        .init(
            "timed out with the body pending while connecting: 408", .postWithBody, after: Path.connecting,
            .clientTimedOut, .fail(.requestBodyTimeout, answerClient: true, closeClient: true), .finished),
        .init(
            "timed out with the body pending after an early answer", .postWithBody, after: Path.sendingNew + [Path.ok],
            .clientTimedOut, .fail(.requestBodyTimeout, answerClient: false, closeClient: true), .finished),
    ]

    @Test(arguments: transitions)
    func clientEventAtEachPoint(_ row: Transition) {
        row.check()
    }

    @Test(arguments: [
        (ExchangeMachine.Event.clientEnded, ProxyFailure.clientClosedMidRequest),
        (.clientFailed, .clientFailed),
    ])
    func abortBeforeAnyResponseRecordsClientClosedRequest(_ event: ExchangeMachine.Event, _ failure: ProxyFailure) {
        var machine = startedMachine(.postWithBody, after: Path.sendingNew)
        #expect(machine.handle(event) == .abort(failure))
        #expect(machine.failure == failure)
        #expect(machine.status == 499)
        #expect(failure.kind == .clientClosed)
    }

    @Test func requestBodyTimeoutIsAnsweredWithRequestTimeout() {
        var machine = startedMachine(.postWithBody, after: Path.sendingNew)
        _ = machine.handle(.clientTimedOut)
        #expect(machine.status == 408)
        #expect(machine.failure == .requestBodyTimeout)
    }

    @Test func halfCloseIsRemembered() {
        var machine = startedMachine(.get, after: Path.awaitingHeadNew)
        #expect(!machine.clientHalfClosed)
        _ = machine.handle(.clientEnded)
        #expect(machine.clientHalfClosed)
        #expect(machine.failure == nil)
    }

    struct StartCase: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var routeFound = true
        var serverAvailable = true
        var clientGone = false
        var action: ExchangeMachine.Action
        var status: Int

        static let all: [StartCase] = [
            .init(testDescription: "a route and a server", action: .connect(pooled: true, sendContinue: false), status: 0),
            .init(testDescription: "the client is gone", clientGone: true, action: .abort(.clientGone), status: 499),
            .init(
                testDescription: "no route", routeFound: false,
                action: .fail(.noRoute, answerClient: true, closeClient: false), status: 404),
            .init(
                testDescription: "no route, the client gone too", routeFound: false, clientGone: true,
                action: .fail(.noRoute, answerClient: true, closeClient: false), status: 404),
            .init(
                testDescription: "no server", serverAvailable: false,
                action: .fail(.unresolved, answerClient: true, closeClient: false), status: 502),
            .init(
                testDescription: "no server, the client gone", serverAvailable: false, clientGone: true,
                action: .abort(.clientGone), status: 499),
        ]
    }

    @Test(arguments: StartCase.all)
    func startDecidesFromRouteServerAndClient(_ item: StartCase) {
        var machine = ExchangeMachine(request: RequestKind.get.request)
        let action = machine.start(routeFound: item.routeFound, serverAvailable: item.serverAvailable, clientGone: item.clientGone)
        #expect(action == item.action)
        #expect(machine.status == item.status)
        if case .connect = item.action {
            #expect(machine.state == .connecting(.first))
            #expect(machine.attempts == 1)
        } else {
            #expect(machine.state == .finished)
            #expect(machine.attempts == 0)
        }
    }
}
