import Libevent
import LocalServer
import Logging
import Synchronization
import Tracing

/// The OTLP/HTTP receiver (default `127.0.0.1:4318`): takes other services' spans into
/// the trace store, where they join the proxy's own by trace id, and forwards them to
/// the exporter when asked. Its own listener and thread: ingest never runs on a worker.
///
/// `@unchecked Sendable`: `ingest` is replaced only on the server's thread (`apply`
/// posts there); the counters are behind a lock for other threads to read.
public final class OTLPReceiver: LocalHTTPHandler, @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        public var requests = 0
        public var acceptedSpans = 0
        public var rejectedSpans: [SpanRejection: Int] = [:]
        /// Requests answered with another status than 200, by status.
        public var failures: [Int: Int] = [:]
    }

    private var ingest: OTLPIngest
    private let store: TraceStore?
    /// Sends an accepted request on to the exporter (the span pipeline's queue); nil
    /// when spans are not exported over OTLP.
    private let forwarder: (@Sendable (_ request: [UInt8], _ spanCount: Int) -> Void)?
    private let logger: Logger
    private var warnedAboutGRPC = false
    private let counters = Mutex(Statistics())
    private var server: LocalHTTPServer?

    /// Binds `address` now (a port in use is reported at start-up); `start()` serves.
    public init(
        address: SocketAddress, settings: OTLPIngest.Settings, store: TraceStore?,
        forwarder: (@Sendable (_ request: [UInt8], _ spanCount: Int) -> Void)?, logger: Logger
    ) throws(SystemError) {
        ingest = OTLPIngest(settings: settings)
        self.store = store
        self.forwarder = forwarder
        self.logger = logger
        var options = LocalHTTPServer.Options()
        options.maxBodyBytes = settings.maxBodyBytes
        server = try LocalHTTPServer(address: address, name: "hoptrace-otlp", options: options, handler: self)
    }

    public var boundAddress: SocketAddress { server!.boundAddress }
    public var statistics: Statistics { counters.withLock { $0 } }

    public func start() { server?.start() }

    public func stop() {
        server?.stop()
        server = nil
    }

    /// New settings (a reload): body limit and forwarding. The address stays.
    public func apply(_ settings: OTLPIngest.Settings) {
        guard let server else { return }
        var options = LocalHTTPServer.Options()
        options.maxBodyBytes = settings.maxBodyBytes
        server.apply(options)
        server.post { [self] in ingest.settings = settings }
    }

    // MARK: LocalHTTPHandler (on the receiver's thread)

    public func respond(beforeBodyOf request: LocalRequest) -> LocalResponse? {
        let early = ingest.check(request)
        if let early { count(early) }
        return early
    }

    public func respond(to request: LocalRequest) -> LocalResponse {
        let outcome = ingest.handle(request)
        var refusedHere = 0
        if let spans = outcome.spans {
            refusedHere = store?.add(spans) ?? 0
            if ingest.settings.forward, spans.acceptedCount > 0, let forwarder {
                forwarder(spans.bytes, spans.acceptedCount)
            }
        }
        var rejected = outcome.spans?.rejected ?? [:]
        if refusedHere > 0 { rejected[.traceFull, default: 0] += refusedHere }
        let response = refusedHere > 0 ? OTLPIngest.accepted(rejected: rejected, OTLPIngest.encoding(request)!) : outcome.response
        counters.withLock { statistics in
            statistics.acceptedSpans += (outcome.spans?.acceptedCount ?? 0) - refusedHere
            for (reason, count) in rejected { statistics.rejectedSpans[reason, default: 0] += count }
        }
        count(response)
        return response
    }

    public func respond(to refusal: LocalRefusal, of request: LocalRequest) -> LocalResponse {
        let encoding = OTLPIngest.encoding(request) ?? .protobuf
        let response: LocalResponse
        switch refusal {
        case .bodyTooLarge(let limit):
            response = OTLPIngest.failure(413, code: 8, "the body is larger than \(limit) bytes", encoding)
        case .busy:
            response = OTLPIngest.failure(503, code: 14, "the receiver is reading as much as it holds; retry shortly", encoding,
                                          headers: [.init("Retry-After", "1")])
        }
        count(response)
        return response
    }

    public func didReceiveHTTP2Preface() {
        guard !warnedAboutGRPC else { return }
        warnedAboutGRPC = true
        logger.warning("an OTLP/gRPC exporter is sending to the OTLP/HTTP receiver: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf in that service", metadata: [
            "receiver": "\(server.map { "\($0.boundAddress)" } ?? "")",
        ])
    }

    private func count(_ response: LocalResponse) {
        counters.withLock { statistics in
            statistics.requests += 1
            if response.status != 200 { statistics.failures[response.status, default: 0] += 1 }
        }
    }
}
