import ProxyCore
import Testing

/// When the client and upstream connections are kept, and when they close: the response
/// head says `Connection: close` when the client connection will not be kept, and
/// `finish` says what becomes of both.
@Suite struct KeepAliveTests {
    static let ok = Path.ok
    static let closeDelimited = ExchangeMachine.Event.responseHead(status: 200, reusable: false, closeDelimited: true)
    static let notReusable = ExchangeMachine.Event.responseHead(status: 200, reusable: false, closeDelimited: false)

    static let heads: [Transition] = [
        .init(
            "keep-alive both ways", after: Path.awaitingHeadNew, ok, .forwardResponseHead(closeClient: false),
            .streaming(.first, .keepAlive)),
        .init(
            "the client asked to close", .getClosing, after: Path.awaitingHeadNew, ok,
            .forwardResponseHead(closeClient: true), .streaming(.first, .init(closeClient: true, reusable: true))),
        .init(
            "a close-delimited response", after: Path.awaitingHeadNew, closeDelimited,
            .forwardResponseHead(closeClient: true), .streaming(.first, .init(closeClient: true, reusable: false))),
        .init(
            "the client half-closed after its request", after: Path.awaitingHeadNew + [.clientEnded], ok,
            .forwardResponseHead(closeClient: true), .streaming(.first, .init(closeClient: true, reusable: true))),
        .init(
            "an answer before the request body is done", .postWithBody, after: Path.sendingNew, ok,
            .forwardResponseHead(closeClient: true), .streaming(.first, .init(closeClient: true, reusable: true))),
        .init(
            "an upstream that will not keep its connection", after: Path.awaitingHeadNew, notReusable,
            .forwardResponseHead(closeClient: false), .streaming(.first, .init(closeClient: false, reusable: false))),
        .init(
            "a request with its body read", .postWithBody, after: Path.bodyRead(Path.awaitingHeadNew), ok,
            .forwardResponseHead(closeClient: false), .streaming(.first, .keepAlive)),
    ]

    @Test(arguments: heads)
    func responseHeadSaysWhetherTheClientConnectionCloses(_ row: Transition) {
        row.check()
    }

    static let finishes: [Transition] = [
        .init(
            "keep-alive both ways", after: Path.streaming, .responseComplete(upstreamIdle: true),
            .finish(reuseUpstream: true, closeClient: false), .finished),
        .init(
            "the client asked to close", .getClosing, after: Path.awaitingHeadNew + [ok],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: true, closeClient: true), .finished),
        .init(
            "a close-delimited response ends with the upstream's close",
            after: Path.awaitingHeadNew + [closeDelimited, .upstreamEnded(responseBytesSeen: true)],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: false, closeClient: true), .finished),
        .init(
            "the client half-closed before the head", after: Path.awaitingHeadNew + [.clientEnded, ok],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: true, closeClient: true), .finished),
        .init(
            "the client half-closed while the body streams", after: Path.streaming + [.clientEnded],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: true, closeClient: true), .finished),
        .init(
            "the request body is not finished", .postWithBody, after: Path.sendingNew + [ok],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: false, closeClient: true), .finished),
        .init(
            "the request body finished after an early answer", .postWithBody,
            after: Path.sendingNew + [ok, .requestBodyComplete], .responseComplete(upstreamIdle: true),
            .finish(reuseUpstream: true, closeClient: true), .finished),
        .init(
            "an upstream that will not keep its connection", after: Path.awaitingHeadNew + [notReusable],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: false, closeClient: false), .finished),
        .init(
            "bytes came after the response", after: Path.streaming, .responseComplete(upstreamIdle: false),
            .finish(reuseUpstream: false, closeClient: false), .finished),
        .init(
            "the upstream ended during the body", after: Path.streaming + [.upstreamEnded(responseBytesSeen: true)],
            .responseComplete(upstreamIdle: true), .finish(reuseUpstream: false, closeClient: false), .finished),
    ]

    @Test(arguments: finishes)
    func finishKeepsOrClosesEachConnection(_ row: Transition) {
        row.check()
    }

    @Test func halfCloseAfterTheWholeRequestIsAnsweredThenClosed() {
        var machine = startedMachine(.get, after: Path.sendingNew)
        #expect(machine.handle(.clientEnded) == .none)
        #expect(machine.clientHalfClosed)
        #expect(machine.state == .sending(.first))
        #expect(machine.handle(.requestWritten) == .startDeadline(.responseHead))
        #expect(machine.handle(Path.ok) == .forwardResponseHead(closeClient: true))
        #expect(machine.handle(.responseComplete(upstreamIdle: true)) == .finish(reuseUpstream: true, closeClient: true))
    }

    /// The proxy's own answers (`fail` with `answerClient`): kept alive only when the
    /// client may send another request on the connection.
    static let localAnswers: [Transition] = [
        .init(
            "a connect failure, nothing pending", after: Path.retried + [.connecting], .connectFailed(.connectRefused),
            .fail(.connectRefused, answerClient: true, closeClient: false), .finished),
        .init(
            "a connect failure with the body unread", .postWithBody, after: Path.retried + [.connecting],
            .connectFailed(.connectRefused), .fail(.connectRefused, answerClient: true, closeClient: true), .finished),
        .init(
            "a connect failure with the body read", .postWithBody, after: Path.bodyRead(Path.retried + [.connecting]),
            .connectFailed(.connectRefused), .fail(.connectRefused, answerClient: true, closeClient: false), .finished),
        .init(
            "a connect failure for a client that asked to close", .getClosing, after: Path.retried + [.connecting],
            .connectFailed(.connectRefused), .fail(.connectRefused, answerClient: true, closeClient: true), .finished),
        .init(
            "an upstream closed early after a half-close", after: Path.retried + [.connecting, .connected, .clientEnded],
            .upstreamEnded(responseBytesSeen: false), .fail(.upstreamClosedEarly, answerClient: true, closeClient: true),
            .finished),
        .init(
            "a request body too large", .postWithBody, after: Path.sendingNew,
            .requestBodyFailed(.malformedRequest(.bodyTooLarge)),
            .fail(.malformedRequest(.bodyTooLarge), answerClient: true, closeClient: true), .finished),
        .init(
            "an invalid request body", .postWithBody, after: Path.connecting,
            .requestBodyFailed(.malformedRequest(.invalidChunkSize)),
            .fail(.malformedRequest(.invalidChunkSize), answerClient: true, closeClient: true), .finished),
        .init(
            "a response-head timeout with the body read", .putWithBody, after: Path.bodyRead(Path.awaitingHeadNew),
            .deadlinePassed, .fail(.responseHeadTimeout, answerClient: true, closeClient: false), .finished),
    ]

    @Test(arguments: localAnswers)
    func localAnswerClosesWhenTheBodyWasNotRead(_ row: Transition) {
        row.check()
    }

    static let starts: [(RequestKind, Bool)] = [(.get, false), (.getClosing, true), (.postWithBody, true), (.postWithoutBody, false)]

    @Test(arguments: starts)
    func noRouteIsAnsweredAndClosesOnlyWhenItMust(_ kind: RequestKind, _ closeClient: Bool) {
        var machine = ExchangeMachine(request: kind.request)
        #expect(machine.start(routeFound: false, serverAvailable: true, clientGone: false)
            == .fail(.noRoute, answerClient: true, closeClient: closeClient))
    }
}
