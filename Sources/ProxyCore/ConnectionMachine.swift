import HTTP1

/// The decisions of one client connection between and around its exchanges: waiting for
/// a head (the idle limit, the first head's limit, the whole-head deadline), keep-alive
/// and pipelining, and how it ends. Pure, like `ExchangeMachine`: `ClientSession` feeds
/// it events and carries out its actions.
///
/// Pipelining is a loop in the executor: while the state is `awaitingHead` and bytes
/// are buffered, it scans the next head; an exchange that ends at once (the proxy's own
/// answer) returns the state to `awaitingHead` and the loop goes on, never recursing.
public struct ConnectionMachine: Sendable {
    public enum State: Equatable, Sendable {
        case awaitingHead(HeadWait)
        /// An exchange is in flight; pipelined bytes wait in the input buffer.
        case exchanging
        /// After a 101.
        case tunnelling
        /// Closing: a last answer (if any) is being written. The executor reports
        /// `closed` once it has closed the connection.
        case closing
        case closed
    }

    /// How far the next head is, and so which limit applies.
    public enum HeadWait: Equatable, Sendable {
        /// The connection's first request, no byte yet: the read timeout is
        /// `request_header` from the accept (a client that never speaks costs no timer).
        case firstRequest
        /// Kept alive after a response, nothing received: the read timeout is `idle`.
        case idle
        /// Bytes of a head are here (or pipelined bytes wait): its time has started.
        case started
        /// A partial head: the rest must come within `request_header` of its start,
        /// however it trickles (a read timeout would restart with each byte).
        case partial
    }

    public enum Event: Equatable, Sendable {
        /// Bytes wait in the input while a head is awaited.
        case bytesArrived
        case headIncomplete
        case headComplete
        case headRejected(HTTPParseError)
        case deadlinePassed
        /// The client closed, failed, or its read timeout passed.
        case clientEnded
        /// `closeClient` includes the worker draining; `bytesPending`: pipelined bytes wait.
        case exchangeFinished(closeClient: Bool, bytesPending: Bool)
        case tunnelStarted
        /// The worker is draining: an idle connection closes now.
        case drain
        /// The connection was closed (by the executor, for any reason).
        case closed
    }

    public enum Action: Equatable, Sendable {
        case none
        /// The head's time starts now (the first byte of a later request).
        case startHeadClock
        /// Drop the read timeout; run a deadline for what is left of `request_header`.
        case startHeadDeadline
        /// Parse the head and start its exchange.
        case startExchange
        /// Answer with the failure's status, then close.
        case reject(ProxyFailure)
        /// Close without a word (an idle or silent connection).
        case closeQuietly
        /// Wait for the next request: no deadline, reading resumed; `idle`: nothing is
        /// buffered, so the read timeout is `idle`; otherwise the next head's time starts.
        case awaitNextRequest(idle: Bool)
        /// Send what is queued, then close.
        case closeAfterFlush
    }

    public private(set) var state: State = .awaitingHead(.firstRequest)

    public init() {}

    public mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (_, .closed):
            state = .closed
            return .none
        case (.awaitingHead(let wait), .bytesArrived):
            switch wait {
            case .firstRequest:
                state = .awaitingHead(.started)
                return .none
            case .idle:
                state = .awaitingHead(.started)
                return .startHeadClock
            case .started, .partial:
                return .none
            }
        case (.awaitingHead(let wait), .headIncomplete):
            guard wait != .partial else { return .none }
            state = .awaitingHead(.partial)
            return .startHeadDeadline
        case (.awaitingHead, .headComplete):
            state = .exchanging
            return .startExchange
        case (.awaitingHead, .headRejected(let error)):
            state = .closing
            return .reject(.malformedRequest(error))
        case (.awaitingHead(let wait), .deadlinePassed):
            guard wait == .partial else {
                state = .closing
                return .closeQuietly
            }
            state = .closing
            return .reject(.requestHeadTimeout)
        case (.awaitingHead, .clientEnded):
            state = .closing
            return .closeQuietly
        case (.awaitingHead(let wait), .drain):
            guard wait == .firstRequest || wait == .idle else { return .none }
            state = .closing
            return .closeQuietly
        case (.exchanging, .exchangeFinished(let closeClient, let bytesPending)):
            if closeClient {
                state = .closing
                return .closeAfterFlush
            }
            state = .awaitingHead(bytesPending ? .started : .idle)
            return .awaitNextRequest(idle: !bytesPending)
        case (.exchanging, .tunnelStarted):
            state = .tunnelling
            return .none
        case (.exchanging, .drain), (.tunnelling, .drain), (.closing, _):
            return .none
        case (.closed, _):
            return .none
        default:
            preconditionFailure("\(event) in state \(state)")
        }
    }
}
