import Config
import HTTP1
import Libevent

/// One client connection: reads requests one at a time, proxies each, answers in order.
///
/// Phases: `waitingForRequest` (reading a head, under the idle or head deadline),
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
    let peer: SocketAddress
    let peerText: String
    let peerHost: [UInt8]
    /// The peer for span attributes, formatted once.
    let spanPeer: Peer
    var configuration: RuntimeConfiguration
    var phase: Phase = .waitingForRequest
    var scanner: HeadScanner
    var exchange: Exchange?
    /// The client sent FIN after its request; answer, then close.
    var clientFinished = false
    /// Deadline for the request head, or the idle deadline between requests.
    lazy var clientTimer = Timer(loop: client.loop) { [unowned self] in
        clientTimerFired()
        flushOutputs()
    }
    var clientTimerIsIdle = false
    private var isServingBufferedRequests = false
    /// Deadline for connecting upstream, then for the upstream response head.
    lazy var upstreamTimer = Timer(loop: client.loop) { [unowned self] in
        upstreamTimerFired()
        flushOutputs()
    }

    init(worker: Worker, client: Connection, peer: SocketAddress, configuration: RuntimeConfiguration) {
        self.worker = worker
        self.client = client
        self.peer = peer
        self.peerText = peer.description
        self.spanPeer = Peer(peer)
        self.peerHost = Array(spanPeer.host.utf8)
        self.configuration = configuration
        self.scanner = HeadScanner(maxHeadBytes: configuration.limits.maxHeaderBytes)
        client.delegate = self
        // The session counts as open (and keeps a draining worker running) until its
        // client connection has finished flushing and is really closed.
        client.didClose = { [unowned self, unowned worker] in worker.sessionDidClose(self) }
        client.setReadHighWatermark(configuration.limits.maxHeaderBytes + 16 * 1024)
        client.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
        clientTimer.schedule(milliseconds: configuration.timeouts.requestHeader)
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

    private func flushOutputs() {
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
            if clientTimerIsIdle {
                // The first byte of a request starts its whole-head deadline.
                clientTimerIsIdle = false
                clientTimer.schedule(milliseconds: configuration.timeouts.requestHeader)
            }
            switch scanner.scan({ client.input.forEachChunk(from: $0, $1) }) {
            case .needMore:
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
        clientTimer.cancel()
        configuration = worker.configuration
        let route = configuration.routing.match(head)
        let exchange = Exchange(
            head: head, route: route, limits: configuration.limits,
            trace: worker.decideTrace(head, peer: peer), serverSpanID: worker.ids.spanID())
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
        exchange.upstreamHead = HeaderPolicy.upstreamRequestHead(head, route: route, peerHost: peerHost)
        if head.expectsContinue, head.framing != .none {
            client.output.append("HTTP/1.1 100 Continue\r\n\r\n")
        }
        if head.framing != .none {
            client.setTimeouts(readMilliseconds: configuration.timeouts.idle, writeMilliseconds: configuration.timeouts.idle)
        }
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
        upstreamTimer.cancel()
        if exchange.responseStarted {
            exchange.error = error
            finishExchange(exchange, closeClient: true)
        } else {
            finishLocally(exchange, error: error, forceClose: true)
        }
    }

    // MARK: Timers

    private func clientTimerFired() {
        guard phase == .waitingForRequest else { return }
        if client.input.isEmpty && scanner.bytesScanned == 0 {
            // Idle keep-alive connection, or a client that never spoke: close quietly.
            close()
        } else {
            respondWithoutExchange(ProxyError(
                kind: .requestHeadTimeout, side: .downstream, status: 408, message: "request header not received in time"))
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
        client.enableReading()
        clientTimerIsIdle = client.input.isEmpty
        clientTimer.schedule(milliseconds: clientTimerIsIdle ? configuration.timeouts.idle : configuration.timeouts.requestHeader)
        serveBufferedRequests()
    }

    /// Releases everything at once (the client connection is cut).
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        clientTimer.cancel()
        upstreamTimer.cancel()
        if let exchange {
            if phase == .tunnelling, exchange.tunnelEnd == nil { exchange.tunnelEnd = .shutdown }
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
