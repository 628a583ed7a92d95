import HTTP1

/// The decisions of one exchange — one request, its upstream attempts and its response —
/// as a pure state machine: it is told what happened (`Event`) and answers what to do
/// (`Action`). It reads no socket, no clock and no configuration, so every rule is tested
/// without a network (`Tests/ProxyCoreTests`). `ClientSession` carries the actions out.
///
/// One event gives one action; an action the executor cannot finish by itself (taking a
/// pooled connection, say) ends by telling the machine what came of it, which gives the
/// next action. Nothing here allocates.
///
/// The response side is `State`; the request body's progress is a second, independent
/// fact (`requestBodyDone`), because an upstream may answer before it has read the body.
public struct ExchangeMachine: Sendable {
    /// What the machine needs to know of the request head.
    public struct Request: Equatable, Sendable {
        public var idempotent: Bool
        public var hasBody: Bool
        public var keepAlive: Bool
        public var expectsContinue: Bool
        public var wantsUpgrade: Bool

        public init(idempotent: Bool, hasBody: Bool, keepAlive: Bool, expectsContinue: Bool = false, wantsUpgrade: Bool = false) {
            self.idempotent = idempotent
            self.hasBody = hasBody
            self.keepAlive = keepAlive
            self.expectsContinue = expectsContinue
            self.wantsUpgrade = wantsUpgrade
        }

        public init(_ head: RequestHead) {
            self.init(
                idempotent: head.methodKind.isIdempotent, hasBody: head.framing != .none, keepAlive: head.keepAlive,
                expectsContinue: head.expectsContinue, wantsUpgrade: head.upgrade != nil)
        }
    }

    /// One upstream attempt.
    public struct Attempt: Equatable, Sendable {
        /// 1 for the first, 2 for the one retry.
        public var number: Int
        /// On a kept-alive connection taken from the pool.
        public var reused: Bool

        public init(number: Int, reused: Bool) {
            self.number = number
            self.reused = reused
        }
    }

    /// A response whose head went to the client.
    public struct Response: Equatable, Sendable {
        /// The client connection closes once the response is complete.
        public var closeClient: Bool
        /// The upstream allows its connection to be kept.
        public var reusable: Bool
        /// The upstream sent FIN; the bytes before it are still being passed on.
        public var upstreamEnded = false

        public init(closeClient: Bool, reusable: Bool, upstreamEnded: Bool = false) {
            self.closeClient = closeClient
            self.reusable = reusable
            self.upstreamEnded = upstreamEnded
        }
    }

    public enum State: Equatable, Sendable {
        /// Before `start`.
        case idle
        /// A new connection is being made (the `connect` deadline runs).
        case connecting(Attempt)
        /// Connected; the request is being written (the upstream must keep taking it).
        case sending(Attempt)
        /// The whole request is written; the `upstream_header` deadline runs.
        case awaitingHead(Attempt)
        /// The response head went to the client; its body follows.
        case streaming(Attempt, Response)
        /// After a 101: bytes pass both ways until one side ends.
        case tunnelling
        case finished
    }

    /// The deadlines of an attempt (their durations are configuration). A tunnel's
    /// inactivity deadline restarts with every byte: the executor keeps it, and reports
    /// `deadlinePassed`.
    public enum Deadline: Equatable, Sendable {
        case connect
        case responseHead
    }

    public enum Event: Equatable, Sendable {
        /// `connect`: a connection is being opened.
        case connecting
        /// `connect`: an idle pooled connection was taken.
        case connectionReused
        /// The new connection is established.
        case connected
        case connectFailed(ProxyFailure)
        /// `retry`: no server to try (the group lost its addresses).
        case noServer
        /// The last byte of the request body was read from the client.
        case requestBodyComplete
        case requestBodyFailed(ProxyFailure)
        /// Everything queued for the upstream (the whole request) is written.
        case requestWritten
        /// A response head arrived. `closeDelimited`: its body ends when the connection
        /// closes (for this client), so the client connection cannot be kept.
        case responseHead(status: Int, reusable: Bool, closeDelimited: Bool)
        /// The response's last byte went to the client. `upstreamIdle`: nothing more
        /// arrived after it.
        case responseComplete(upstreamIdle: Bool)
        /// An invalid response head or body, or a body cut short.
        case responseFailed(ProxyFailure)
        /// The upstream closed. `responseBytesSeen`: any byte of a response came first.
        case upstreamEnded(responseBytesSeen: Bool)
        case upstreamFailed(code: Int32, responseBytesSeen: Bool)
        /// The upstream connection's own timeout: writing before a response, reading after.
        case upstreamTimedOut(responseBytesSeen: Bool)
        case deadlinePassed
        case clientEnded
        case clientFailed
        /// The client connection's own timeout: reading a body, or writing the response.
        case clientTimedOut
    }

    public enum Action: Equatable, Sendable {
        case none
        /// Starts attempt 1: an idle pooled connection when `pooled`, else a new one; the
        /// request head queued on it with the attempt's trace fields; `100 Continue` to the
        /// client first when `sendContinue`. Report `connectionReused`, `connecting` or
        /// `connectFailed`.
        case connect(pooled: Bool, sendContinue: Bool)
        /// Ends the current attempt with `after`, then starts the next on the next server
        /// with a new connection. `carryQueued`: nothing was sent, so the bytes queued on
        /// the failed connection (head and body so far) move to the new one; otherwise
        /// only the head is sent again. Report as for `connect`, or `noServer`.
        case retry(after: ProxyFailure, carryQueued: Bool)
        case startDeadline(Deadline)
        case cancelDeadline
        /// The request body is read: the client's read timeout goes.
        case requestBodyRead
        /// Cancels the response-head deadline, sends the response head to the client,
        /// then its body as it comes.
        case forwardResponseHead(closeClient: Bool)
        /// The upstream ended: pass on what it sent, then report how the body ended.
        case passOnRemainingResponse
        /// Sends the 101 to the client and starts the tunnel.
        case startTunnel
        /// The exchange is complete: release the upstream connection (to the pool when
        /// `reuseUpstream`) and keep or close the client connection.
        case finish(reuseUpstream: Bool, closeClient: Bool)
        /// Ends the attempt with `failure` and closes the upstream connection; answers the
        /// client with the failure's status when `answerClient` (nothing of a response was
        /// sent yet), then keeps or closes the client connection.
        case fail(ProxyFailure, answerClient: Bool, closeClient: Bool)
        /// The client is gone: everything closes now.
        case abort(ProxyFailure)
        /// Passes on what is buffered each way, then closes both sides.
        case endTunnel(TunnelEnd)
    }

    public let request: Request
    public internal(set) var state: State = .idle
    public internal(set) var requestBodyDone: Bool
    /// The client sent FIN after its whole request: answer, then close.
    public internal(set) var clientHalfClosed = false
    /// Any byte of a response (the proxy's own included) went to the client: no retry,
    /// no error page after it.
    public internal(set) var responseStarted = false
    public internal(set) var attempts = 0
    /// The status the client got (0 while none).
    public internal(set) var status = 0
    public internal(set) var failure: ProxyFailure?
    public internal(set) var tunnelEnd: TunnelEnd?

    public init(request: Request) {
        self.request = request
        self.requestBodyDone = !request.hasBody
    }

    /// A tunnel may carry bytes.
    public var isTunnelling: Bool { state == .tunnelling }
    /// The attempt's connection is being made.
    public var isConnecting: Bool { if case .connecting = state { true } else { false } }
    /// The request is being written to a connected upstream.
    public var isSending: Bool { if case .sending = state { true } else { false } }
    /// A response head has not been forwarded yet (or an upstream attempt is connecting).
    public var awaitsResponseHead: Bool {
        switch state {
        case .connecting, .sending, .awaitingHead: true
        default: false
        }
    }
    public var isFinished: Bool { state == .finished }
    /// The upstream closed while its response body streams.
    public var upstreamEnded: Bool { if case .streaming(_, let response) = state { response.upstreamEnded } else { false } }
}
