import HTTP1
import Libevent
import ProxyCore
import Tracing
import W3CTraceContext

/// One request's journey through the proxy as the executor sees it: its decisions
/// (`machine`), and the I/O state that carries them out — the upstream connection, the
/// decoders, the head to send, the byte counts and the open attempt's times. Owned by
/// its `ClientSession`; loop thread only.
final class Exchange {
    // What the request is, fixed when the exchange starts: the summary and the spans
    // read these (the exchange is shared with them, not copied).
    let head: RequestHead
    let route: CompiledRoute?
    /// The trace this request belongs to, decided before any span.
    let trace: TraceDecision
    let serverSpanID: SpanID
    let startWallNanoseconds: Int64
    let startMonotonicNanoseconds: Int64

    var machine: ExchangeMachine

    /// Bytes of head (trace fields included) queued on the current attempt's connection.
    /// Each attempt writes its head anew, with its own `traceparent`.
    var sentHeadLength = 0
    var upstream: Connection?
    var server: UpstreamServer?
    /// The upstream attempt in progress: its CLIENT span, until it ends.
    var attempt: UpstreamAttempt?
    /// Both spans were recorded (once only, however the exchange ends).
    var spansRecorded = false
    /// `request_id:`: decided as the exchange starts.
    var requestID = RequestID.none
    /// The trace id's hex digits, written once for every `traceparent` (and the request
    /// id) that carries them.
    var traceIDHex = HexID()
    /// The metrics' label sets as far as the start tells them (route or group, method,
    /// version); the end adds the status (`MetricKey`).
    var serverMetricsKey: UInt64 = 0
    var clientMetricsKey: UInt64 = 0
    /// Ended attempts of an unsampled exchange, held while `tracing.keep` may still want
    /// their CLIENT spans (only then; the facts, not encoded spans): the first in place,
    /// any retries after it in a list (no allocation for the usual single attempt).
    var heldAttempt: HeldAttempt?
    var holdsAttempts = false
    var laterHeldAttempts: [HeldAttempt] = []

    /// nil when the request has no body.
    var requestDecoder: BodyDecoder?
    var waitingForUpstreamDrain = false
    var responseScanner: HeadScanner
    var response: ResponseHead?
    var responseDecoder: BodyDecoder?
    var clientFraming: HeaderPolicy.ClientFraming = .none
    var waitingForClientDrain = false

    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0

    init(head: RequestHead, route: CompiledRoute?, limits: HTTPLimits, trace: TraceDecision, serverSpanID: SpanID) {
        machine = ExchangeMachine(request: ExchangeMachine.Request(head))
        requestDecoder = BodyDecoder(for: head.framing, limits: limits)
        responseScanner = HeadScanner(maxHeadBytes: limits.maxHeaderBytes)
        self.route = route
        self.trace = trace
        self.serverSpanID = serverSpanID
        startWallNanoseconds = Timestamp.wallNanoseconds()
        startMonotonicNanoseconds = Timestamp.monotonicNanoseconds()
        self.head = head  // last: moved in, not copied
    }

    /// The failure in words, naming the server of the last attempt.
    func error(_ failure: ProxyFailure) -> ProxyError {
        ProxyError(failure, server: server?.configured, group: route?.upstream)
    }

    /// What spans and the access log read once the exchange has ended (or its tunnel
    /// started).
    var summary: ExchangeSummary {
        ExchangeSummary(
            exchange: self, status: machine.status, error: machine.failure.map(error), bytesIn: bytesIn,
            bytesOut: bytesOut, server: server, attempts: machine.attempts, tunnelEnd: machine.tunnelEnd)
    }
}

/// An exchange as it ended: the one thing spans and the access log read, with the
/// exchange's fixed facts (`head`, `route`, `trace`, ids, start times), never its I/O state.
struct ExchangeSummary {
    let exchange: Exchange
    /// The status the client got (0: none, the client went first).
    let status: Int
    let error: ProxyError?
    let bytesIn: UInt64
    let bytesOut: UInt64
    /// The last attempt's server.
    let server: UpstreamServer?
    let attempts: Int
    let tunnelEnd: TunnelEnd?
}

/// One upstream attempt: the CLIENT span being timed.
struct UpstreamAttempt {
    var spanID: SpanID
    var server: UpstreamServer
    /// 1 for the first attempt (`http.request.resend_count` is one less).
    var number: Int
    var startNanoseconds: UInt64
    var reused = false
    var connectedNanoseconds: UInt64?
    var firstByteNanoseconds: UInt64?
    var status: Int?
}

/// An ended upstream attempt as its CLIENT span would describe it, held by an unsampled
/// exchange until its end says whether `tracing.keep` records it.
struct HeldAttempt {
    var attempt: UpstreamAttempt
    var endNanoseconds: UInt64
    var error: ProxyError?
    var bytesIn: UInt64
    var bytesOut: UInt64
    var tunnelEnd: TunnelEnd?
}
