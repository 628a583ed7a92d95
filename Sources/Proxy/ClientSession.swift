import Config
import HTTP1
import Libevent
import Tracing

/// One client connection: reads requests one at a time, proxies each, answers in order.
///
/// Phases: `waitingForRequest` (reading a head: the client connection's read timeout
/// is the idle limit, or the first request's head limit until a byte comes; a partial
/// head has a whole-head deadline),
/// `proxying` (an `Exchange` is in flight; pipelined bytes wait in the input buffer),
/// `tunnelling` (after a real 101), `closed`. The session is the delegate of both its
/// client connection and the upstream connection of its exchange.
/// Loop thread only.
final class ClientSession: ConnectionDelegate {
    enum Phase: Equatable {
        case waitingForRequest
        case proxying
        case tunnelling
        case closed
    }

    /// Bytes queued toward one side before reading from the other pauses.
    static let highWatermark = 256 * 1024
    static let lowWatermark = 64 * 1024

    unowned let worker: Worker
    let client: Connection
    let peerIP: PeerIP
    let peerText: String
    /// The peer for span attributes, formatted once.
    let spanPeer: Peer
    var configuration: RuntimeConfiguration
    var phase: Phase = .waitingForRequest
    var scanner: HeadScanner
    var exchange: Exchange?
    /// The client sent FIN after its request; answer, then close.
    var clientFinished = false
    /// The one deadline a session keeps at a time, taken from the worker while needed:
    /// the whole request head (a partial head), connecting upstream, the response head,
    /// the tunnel's inactivity. What it means follows from `phase`.
    var deadline: Timer?
    /// When the current request head's time started: the connection's accept, or the
    /// first byte of a later request (monotonic nanoseconds).
    var headStartNanoseconds: Int64
    /// A partial head is buffered and its deadline runs.
    var headDeadlineRunning = false
    /// Between requests with nothing received yet.
    private var isIdle = false
    private var isServingBufferedRequests = false

    init(worker: Worker, client: Connection, peer: SocketAddress, configuration: RuntimeConfiguration) {
        self.worker = worker
        self.client = client
        self.peerIP = PeerIP(peer)
        self.peerText = peer.description
        self.spanPeer = Peer(peer)
        self.configuration = configuration
        self.headStartNanoseconds = Timestamp.monotonicNanoseconds()
        self.scanner = HeadScanner(maxHeadBytes: configuration.limits.maxHeaderBytes)
        client.delegate = self
        // The session counts as open (and keeps a draining worker running) until its
        // client connection has finished flushing and is really closed.
        client.didClose = { [unowned self, unowned worker] in worker.sessionDidClose(self) }
        client.setReadHighWatermark(configuration.limits.maxHeaderBytes + 16 * 1024)
        // Until a first byte comes, the read timeout is the head's deadline: a client that
        // never speaks is closed quietly (the worker holds no timer for it).
        client.setTimeouts(readMilliseconds: configuration.timeouts.requestHeader, writeMilliseconds: configuration.timeouts.idle)
    }

    // MARK: Client callbacks

    // Every callback ends by writing what it queued on either side (`flushOutputs`).

    func connectionDidRead(_ connection: Connection) {
        if connection === client { clientDidRead() } else { upstreamDidRead(connection) }
        flushOutputs()
    }

    func connectionDidDrain(_ connection: Connection) {
        if connection === client { clientDidDrain() } else { upstreamDidDrain(connection) }
        flushOutputs()
    }

    func connection(_ connection: Connection, didReceive event: ConnectionEvent) {
        if connection === client { clientDidReceive(event) } else { upstream(connection, didReceive: event) }
        flushOutputs()
    }

    func flushOutputs() {
        if let exchange, let upstream = exchange.upstream {
            upstream.flush()
            if !exchange.requestSent, exchange.requestBodyDone, upstream.output.isEmpty { requestWasSent(exchange) }
        }
        client.flush()
        client.resumeReadingIfDrained()
    }

    private func clientDidRead() {
        switch phase {
        case .waitingForRequest:
            serveBufferedRequests()
        case .proxying:
            if let exchange, !exchange.requestBodyDone { pumpRequestBody(exchange) }
        case .tunnelling:
            tunnelPump(from: client)
        case .closed:
            break
        }
    }

    private func clientDidDrain() {
        switch phase {
        case .proxying:
            guard let exchange, exchange.waitingForClientDrain else { return }
            exchange.waitingForClientDrain = false
            client.setWriteLowWatermark(0)
            exchange.upstream?.enableReading()
            pumpResponse(exchange)
        case .tunnelling:
            tunnelDidDrain(client)
        case .waitingForRequest, .closed:
            break
        }
    }

    private func clientDidReceive(_ event: ConnectionEvent) {
        switch (phase, event) {
        case (.proxying, .endOfStream):
            guard let exchange else { return }
            if !exchange.requestBodyDone {
                abort(exchange, reason: ProxyError(kind: .clientClosed, side: .downstream, status: 499, message: "client closed before sending the whole request"))
            } else if !exchange.upstreamConnected {
                // Nothing was sent upstream yet: a client that has gone is not served.
                abort(exchange, reason: .clientGone)
            } else {
                // A half-close after a request being sent: still answer it.
                clientFinished = true
            }
        case (.proxying, .timedOut):
            guard let exchange else { return close() }
            if exchange.requestBodyDone {
                abort(exchange, reason: .clientTimeout)
            } else {
                failRequestBody(exchange, .requestBodyTimeout)
            }
        case (.tunnelling, .endOfStream):
            endTunnel(.clientClosed)
        case (.tunnelling, _):
            endTunnel(.clientFailed)
        case (.proxying, _):
            if let exchange {
                abort(exchange, reason: ProxyError(kind: .clientClosed, side: .downstream, status: 499, message: "client connection failed"))
            } else {
                close()
            }
        default:
            close()
        }
    }

    // MARK: Reading requests

    /// Parses and serves requests already buffered, until one has to wait on I/O.
    /// Re-entered from a response that completes synchronously (the proxy's own), it
    /// returns at once and the loop below goes on: pipelined requests never recurse.
    func serveBufferedRequests() {
        guard !isServingBufferedRequests else { return }
        isServingBufferedRequests = true
        defer { isServingBufferedRequests = false }
        while phase == .waitingForRequest, !client.input.isEmpty {
            if isIdle {
                // The first byte of a request on a kept-alive connection starts its head's time.
                isIdle = false
                headStartNanoseconds = Timestamp.monotonicNanoseconds()
            }
            switch scanner.scan({ client.input.forEachChunk(from: $0, $1) }) {
            case .needMore:
                startHeadDeadline()
                return
            case .failed(let error):
                rejectRequest(error)
                return
            case .complete(let leading, let end):
                client.input.drain(leading)
                let bytes = client.input.remove(end - leading)
                scanner.reset()
                do throws(HTTPParseError) {
                    let head = try RequestHeadParser(limits: configuration.limits).parse(bytes)
                    startExchange(head)
                } catch {
                    rejectRequest(error)
                    return
                }
            }
        }
    }

    private func startExchange(_ head: RequestHead) {
        cancelDeadline()
        headDeadlineRunning = false
        configuration = worker.configuration
        let route = configuration.routing.match(head)
        let exchange = Exchange(
            head: head, route: route, limits: configuration.limits,
            trace: worker.decideTrace(head, peerIP: peerIP), serverSpanID: worker.ids.spanID())
        self.exchange = exchange
        phase = .proxying
        guard let route else {
            finishLocally(exchange, error: .noRoute)
            return
        }
        if client.peerHasClosed {
            // The client closed or reset its connection after sending this request: it
            // is gone, so nothing goes upstream (as nginx does; HAProxy's abortonclose).
            abort(exchange, reason: .clientGone)
            return
        }
        exchange.upstreamHead = HeaderPolicy.upstreamRequestHead(head, route: route, peerHost: spanPeer.host)
        if head.expectsContinue, head.framing != .none {
            client.output.append("HTTP/1.1 100 Continue\r\n\r\n")
        }
        // A body must keep coming (`idle`); a complete request waits on the upstream alone.
        client.setTimeouts(
            readMilliseconds: head.framing == .none ? nil : configuration.timeouts.idle,
            writeMilliseconds: configuration.timeouts.idle)
        guard let server = worker.pools.nextServer(of: route.upstream) else {
            finishLocally(exchange, error: .unresolved(route.upstream), forceClose: !exchange.requestBodyDone)
            return
        }
        connectUpstream(exchange, server: server, allowPooled: true, carrying: nil)
        if phase == .proxying, self.exchange === exchange { pumpRequestBody(exchange) }
    }

    /// Moves request body bytes from the client to the upstream, re-framing chunks.
    func pumpRequestBody(_ exchange: Exchange) {
        guard var decoder = exchange.requestDecoder, !exchange.requestBodyDone, let upstream = exchange.upstream else { return }
        let input = client.input
        let output = upstream.output
        let cap = configuration.limits.maxBodyBytes
        defer { exchange.requestDecoder = decoder }
        while !input.isEmpty {
            if output.count >= Self.highWatermark {
                exchange.waitingForUpstreamDrain = true
                client.disableReading()
                upstream.setWriteLowWatermark(Self.lowWatermark)
                return
            }
            let step = input.withFirstChunk { decoder.step($0) }
            switch step {
            case .data(let count):
                input.move(count, to: output)
                exchange.bytesIn += UInt64(count)
                if cap > 0, exchange.bytesIn > cap {
                    exchange.requestDecoder = decoder
                    failRequestBody(exchange, .bodyTooLarge)
                    return
                }
                if decoder.isComplete { exchange.requestBodyDone = true }
            case .framing(let count):
                input.drain(count)
            case .chunkStart(let size, let consumed):
                input.drain(consumed)
                output.append(HeadWriter.chunkHeader(size: size))
            case .chunkEnd(let consumed):
                input.drain(consumed)
                output.append(HeadWriter.chunkEnd)
            case .end(let consumed):
                input.drain(consumed)
                if exchange.head.framing == .chunked { output.append(HeadWriter.lastChunk) }
                exchange.requestBodyDone = true
            case .failed(let error):
                exchange.requestDecoder = decoder
                failRequestBody(exchange, error)
                return
            }
            if exchange.requestBodyDone {
                client.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
                return
            }
        }
    }

    /// A malformed or oversized request body: nothing more is read from this client.
    private func failRequestBody(_ exchange: Exchange, _ error: HTTPParseError) {
        failRequestBody(exchange, .malformedRequest(error))
    }

    /// The request body cannot be read to its end: the upstream attempt is cut, and the
    /// client gets `error`'s status if it has seen nothing yet; its connection closes.
    func failRequestBody(_ exchange: Exchange, _ error: ProxyError) {
        exchange.upstream?.close()
        exchange.upstream = nil
        cancelDeadline()
        if exchange.responseStarted {
            exchange.error = error
            finishExchange(exchange, closeClient: true)
        } else {
            finishLocally(exchange, error: error, forceClose: true)
        }
    }

    // MARK: Closing

    /// Starts waiting for the next request on a kept-alive connection.
    func awaitNextRequest() {
        exchange = nil
        phase = .waitingForRequest
        if worker.isDraining {
            closeAfterFlush()
            return
        }
        releaseDeadline()
        headDeadlineRunning = false
        client.enableReading()
        isIdle = client.input.isEmpty
        if isIdle {
            client.setTimeouts(readMilliseconds: configuration.timeouts.idle, writeMilliseconds: configuration.timeouts.idle)
        } else {
            // Pipelined bytes: the next head's time starts now.
            headStartNanoseconds = Timestamp.monotonicNanoseconds()
        }
        serveBufferedRequests()
    }

    /// Releases everything at once (the client connection is cut).
    func close() {
        guard phase != .closed else { return }
        let wasTunnelling = phase == .tunnelling
        phase = .closed
        releaseDeadline()
        if let exchange {
            if wasTunnelling, exchange.tunnelEnd == nil { exchange.tunnelEnd = .shutdown }
            // Cut mid-exchange (client gone, tunnel closed, shutdown): the spans still end.
            exchange.upstream?.close()
            endAttempt(exchange, error: exchange.error)
            recordServerSpan(exchange)
        }
        exchange = nil
        if client.isOpen { client.close() }
    }

    /// Sends what is queued to the client, then closes.
    func closeAfterFlush() {
        guard phase != .closed else { return }
        client.closeAfterFlush()
        close()
    }

    /// Called by the worker when draining: an idle connection closes now.
    func drain() {
        if phase == .waitingForRequest && client.input.isEmpty && scanner.bytesScanned == 0 { close() }
    }
}
