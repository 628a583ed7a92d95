import HTTP1
import Libevent

/// One request's journey through the proxy: the request as received, the upstream
/// attempt(s), the response, and the counts logged at the end. Owned by its
/// `ClientSession`; loop thread only.
final class Exchange {
    let head: RequestHead
    let route: CompiledRoute?
    let startWallNanoseconds: Int64
    let startMonotonicNanoseconds: Int64

    /// The head sent upstream, kept for a retry on a fresh connection.
    var upstreamHead: [UInt8] = []
    var upstream: Connection?
    var server: UpstreamServer?
    var upstreamReused = false
    var upstreamConnected = false
    var attempts = 0

    /// nil when the request has no body.
    var requestDecoder: BodyDecoder?
    var requestBodyDone: Bool
    var waitingForUpstreamDrain = false

    var responseScanner: HeadScanner
    var response: ResponseHead?
    var responseDecoder: BodyDecoder?
    var clientFraming: HeaderPolicy.ClientFraming = .none
    /// Any byte of the response (head included) went to the client: no retry, no error page.
    var responseStarted = false
    var waitingForClientDrain = false
    /// The upstream sent FIN while response bytes may still wait in its input buffer.
    var upstreamEnded = false
    var closeClientAfterResponse = false

    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    var status = 0
    var error: ProxyError?

    init(head: RequestHead, route: CompiledRoute?, limits: HTTPLimits) {
        self.head = head
        self.route = route
        startWallNanoseconds = Timestamp.wallNanoseconds()
        startMonotonicNanoseconds = Timestamp.monotonicNanoseconds()
        switch head.framing {
        case .none:
            requestBodyDone = true
        case .length(let length):
            requestDecoder = BodyDecoder(framing: .length(length), limits: limits)
            requestBodyDone = false
        case .chunked:
            requestDecoder = BodyDecoder(framing: .chunked, limits: limits)
            requestBodyDone = false
        }
        responseScanner = HeadScanner(maxHeadBytes: limits.maxHeaderBytes)
    }

    /// A reused connection that failed before any response byte may be retried on a new
    /// one when the request is idempotent and has no body to replay.
    var mayRetryAfterStaleConnection: Bool {
        attempts < 2 && upstreamReused && !responseStarted && response == nil
            && head.methodKind.isIdempotent && head.framing == .none
    }
}
