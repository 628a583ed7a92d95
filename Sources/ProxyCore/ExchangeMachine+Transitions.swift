#if canImport(Glibc)
import Glibc  // ECONNREFUSED only
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP1

/// The transitions: `start`, then one `handle` per event.
extension ExchangeMachine {
    /// Starts the exchange once its route is looked up.
    public mutating func start(routeFound: Bool, serverAvailable: Bool, clientGone: Bool) -> Action {
        guard state == .idle else { preconditionFailure("start in state \(state)") }
        guard routeFound else { return fail(.noRoute) }
        // The client closed or reset its connection after sending this request: it is
        // gone, so nothing goes upstream (as nginx does; HAProxy's abortonclose).
        guard !clientGone else { return abort(.clientGone) }
        guard serverAvailable else { return fail(.unresolved) }
        attempts = 1
        state = .connecting(Attempt(number: 1, reused: false))
        return .connect(pooled: true, sendContinue: request.expectsContinue && request.hasBody)
    }

    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .requestBodyComplete:
            requestBodyDone = true
            return .requestBodyRead
        case .requestBodyFailed(let failure):
            return fail(failure)
        case .clientEnded:
            if state == .tunnelling { return endTunnel(.clientClosed) }
            if !requestBodyDone { return abort(.clientClosedMidRequest) }
            // Nothing went upstream yet: a client that has gone is not served.
            if case .connecting = state { return abort(.clientGone) }
            // A half-close after the whole request: still answer it.
            clientHalfClosed = true
            return .none
        case .clientFailed:
            return state == .tunnelling ? endTunnel(.clientFailed) : abort(.clientFailed)
        case .clientTimedOut:
            if state == .tunnelling { return endTunnel(.clientFailed) }
            return requestBodyDone ? abort(.clientTimeout) : fail(.requestBodyTimeout)
        default:
            return handleUpstream(event)
        }
    }

    private mutating func handleUpstream(_ event: Event) -> Action {
        switch state {
        case .connecting(let attempt): return connecting(attempt, event)
        case .sending(let attempt), .awaitingHead(let attempt): return awaitingResponse(attempt, event)
        case .streaming(let attempt, let response): return streaming(attempt, response, event)
        case .tunnelling: return tunnelling(event)
        case .idle, .finished: preconditionFailure("\(event) in state \(state)")
        }
    }

    private mutating func connecting(_ attempt: Attempt, _ event: Event) -> Action {
        switch event {
        case .connecting:
            return .startDeadline(.connect)
        case .connectionReused:
            state = .sending(Attempt(number: attempt.number, reused: true))
            return .cancelDeadline
        case .connected:
            state = .sending(attempt)
            return .cancelDeadline
        case .connectFailed(let failure):
            return retryOrFail(failure, attempt: attempt, responseBytesSeen: false)
        case .deadlinePassed:
            return retryOrFail(.connectTimeout, attempt: attempt, responseBytesSeen: false)
        case .upstreamEnded:
            return retryOrFail(.connectRefused, attempt: attempt, responseBytesSeen: false)
        case .upstreamFailed(let code, _):
            return retryOrFail(.connect(code: code), attempt: attempt, responseBytesSeen: false)
        case .upstreamTimedOut:
            return retryOrFail(.connectTimeout, attempt: attempt, responseBytesSeen: false)
        case .noServer:
            return fail(.unresolved)
        case .requestWritten:
            return .none
        default:
            preconditionFailure("\(event) while connecting")
        }
    }

    /// Connected, before a response head: `sending`, then `awaitingHead`.
    private mutating func awaitingResponse(_ attempt: Attempt, _ event: Event) -> Action {
        switch event {
        case .requestWritten:
            guard requestBodyDone, case .sending = state else { return .none }
            state = .awaitingHead(attempt)
            return .startDeadline(.responseHead)
        case .responseHead(let status, let reusable, let closeDelimited):
            return responseHead(attempt, status: status, reusable: reusable, closeDelimited: closeDelimited)
        case .responseFailed(let failure):
            return fail(failure)
        case .upstreamEnded(let seen):
            return retryOrFail(.upstreamClosedEarly, attempt: attempt, responseBytesSeen: seen)
        case .upstreamFailed(let code, let seen):
            return retryOrFail(.upstreamReset(code: code), attempt: attempt, responseBytesSeen: seen)
        case .upstreamTimedOut(let seen):
            // Before a response only the write side has a timeout: the request stalled.
            return retryOrFail(.upstreamWriteTimeout, attempt: attempt, responseBytesSeen: seen)
        case .deadlinePassed:
            guard case .awaitingHead = state else { return .none }
            return fail(.responseHeadTimeout)
        default:
            preconditionFailure("\(event) in state \(state)")
        }
    }

    private mutating func responseHead(_ attempt: Attempt, status: Int, reusable: Bool, closeDelimited: Bool) -> Action {
        if status == 101 {
            // A switch nobody asked for is not a valid response.
            guard request.wantsUpgrade else { return fail(.malformedResponse(.invalidStatusLine)) }
            self.status = 101
            responseStarted = true
            state = .tunnelling
            return .startTunnel
        }
        // Interim responses (100, 103) are dropped: the proxy answered Expect itself.
        if status < 200 { return .none }
        self.status = status
        responseStarted = true
        let closeClient = !request.keepAlive || closeDelimited || clientHalfClosed || !requestBodyDone
        state = .streaming(attempt, Response(closeClient: closeClient, reusable: reusable))
        return .forwardResponseHead(closeClient: closeClient)
    }

    private mutating func streaming(_ attempt: Attempt, _ response: Response, _ event: Event) -> Action {
        switch event {
        case .responseComplete(let upstreamIdle):
            state = .finished
            // A body the client did not finish sending would be taken for the next request.
            let reuse = response.reusable && requestBodyDone && upstreamIdle && !response.upstreamEnded
            return .finish(reuseUpstream: reuse, closeClient: response.closeClient || !requestBodyDone || clientHalfClosed)
        case .responseFailed(let failure):
            return fail(failure)
        case .upstreamEnded:
            var ended = response
            ended.upstreamEnded = true
            state = .streaming(attempt, ended)
            return .passOnRemainingResponse
        case .upstreamFailed(let code, _):
            return fail(.upstreamReset(code: code))
        case .upstreamTimedOut:
            return fail(.responseBodyTimeout)
        case .deadlinePassed, .requestWritten:
            return .none
        default:
            preconditionFailure("\(event) while streaming")
        }
    }

    private mutating func tunnelling(_ event: Event) -> Action {
        switch event {
        case .upstreamEnded: return endTunnel(.upstreamClosed)
        case .upstreamFailed, .upstreamTimedOut: return endTunnel(.upstreamFailed)
        case .deadlinePassed: return endTunnel(.idleTimeout)
        case .requestWritten: return .none
        default: preconditionFailure("\(event) while tunnelling")
        }
    }

    /// Another attempt when the failure's rule allows it, otherwise the failure.
    private mutating func retryOrFail(_ failure: ProxyFailure, attempt: Attempt, responseBytesSeen: Bool) -> Action {
        let allowed: Bool = switch failure.retryRule {
        case .never: false
        case .nothingWasSent: true
        case .ifStaleConnection:
            attempt.reused && !responseBytesSeen && !responseStarted && request.idempotent && !request.hasBody
        }
        guard allowed, attempts < 2 else { return fail(failure) }
        attempts += 1
        state = .connecting(Attempt(number: attempts, reused: false))
        return .retry(after: failure, carryQueued: failure.retryRule == .nothingWasSent)
    }

    /// Fails the exchange: an answer of the failure's status if the client has seen
    /// nothing yet, otherwise its connection closes on what it got (no fabricated end).
    mutating func fail(_ failure: ProxyFailure) -> Action {
        self.failure = failure
        state = .finished
        if responseStarted { return .fail(failure, answerClient: false, closeClient: true) }
        responseStarted = true
        status = failure.status
        // A body not read to its end would be taken for the next request: close instead.
        let closeClient = !request.keepAlive || !requestBodyDone || clientHalfClosed
        return .fail(failure, answerClient: true, closeClient: closeClient)
    }

    private mutating func abort(_ failure: ProxyFailure) -> Action {
        self.failure = failure
        if status == 0 { status = failure.status }
        state = .finished
        return .abort(failure)
    }

    private mutating func endTunnel(_ reason: TunnelEnd) -> Action {
        if tunnelEnd == nil { tunnelEnd = reason }
        state = .finished
        return .endTunnel(reason)
    }

    /// The proxy is stopping with the tunnel open.
    public mutating func tunnelCutByShutdown() {
        if state == .tunnelling, tunnelEnd == nil { tunnelEnd = .shutdown }
    }
}

extension ProxyFailure {
    /// A failed connect: refused, or another socket error.
    public static func connect(code: Int32) -> ProxyFailure {
        code == ECONNREFUSED ? .connectRefused : .connectFailed(code: code)
    }
}
