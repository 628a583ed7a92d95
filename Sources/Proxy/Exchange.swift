import HTTP1
import Libevent
import Tracing
import W3CTraceContext

/// One request's journey through the proxy: the request as received, the upstream
/// attempt(s), the response, and the counts logged at the end. Owned by its
/// `ClientSession`; loop thread only.
final class Exchange {
    let head: RequestHead
    let route: CompiledRoute?
    let startWallNanoseconds: Int64
    let startMonotonicNanoseconds: Int64

    /// The trace this request belongs to, decided before any span.
    let trace: TraceDecision
    let serverSpanID: SpanID
    /// The upstream attempt in progress: its CLIENT span, until it ends.
    var attempt: UpstreamAttempt?
    /// Both spans were recorded (once only, however the exchange ends).
    var spansRecorded = false

    /// The head sent upstream without its trace fields and final CRLF, kept for a retry:
    /// each attempt writes its own `traceparent`.
    var upstreamHead: [UInt8] = []
    /// Bytes of head (trace fields included) queued on the current attempt's connection.
    var sentHeadLength = 0
    var upstream: Connection?
    var server: UpstreamServer?
    var upstreamReused = false
    var upstreamConnected = false
    /// The whole request is written to the current attempt's connection: the response
    /// head deadline runs.
    var requestSent = false
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

    /// Why the WebSocket tunnel ended (recorded on both spans).
    var tunnelEnd: TunnelEnd?

    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    var status = 0
    var error: ProxyError?

    init(head: RequestHead, route: CompiledRoute?, limits: HTTPLimits, trace: TraceDecision, serverSpanID: SpanID) {
        self.head = head
        self.route = route
        self.trace = trace
        self.serverSpanID = serverSpanID
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

/// Why a tunnel (after a 101) ended: `hoptrace.tunnel.end_reason` on its spans.
enum TunnelEnd: String, Sendable {
    case clientClosed = "client_closed"
    case upstreamClosed = "upstream_closed"
    case clientFailed = "client_error"
    case upstreamFailed = "upstream_error"
    /// No byte either way for `timeouts.tunnel`.
    case idleTimeout = "idle_timeout"
    /// The proxy stopped.
    case shutdown
}

/// One upstream attempt: the CLIENT span being timed.
struct UpstreamAttempt {
    var spanID: SpanID
    var server: UpstreamServer
    var startNanoseconds: UInt64
    var reused = false
    var connectedNanoseconds: UInt64?
    var firstByteNanoseconds: UInt64?
    var status: Int?
}
