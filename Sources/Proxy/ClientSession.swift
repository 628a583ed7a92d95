import HTTP1
import Libevent
import ProxyCore
import Tracing

/// One client connection: the executor of its two machines. `ConnectionMachine` decides
/// between requests (heads, keep-alive, pipelining, closing); the `ExchangeMachine` of
/// the request in flight decides everything about it. The session turns socket callbacks
/// into their events, carries out the actions they return, and moves the bytes.
///
/// The session is the delegate of its client connection and of its exchange's upstream
/// connection. Every callback ends in `settle()`: the pipelining loop, then the writes.
/// Loop thread only.
final class ClientSession: ConnectionDelegate {
    /// Bytes queued toward one side before reading from the other pauses.
    static let highWatermark = 256 * 1024
    static let lowWatermark = 64 * 1024

    /// Strong and `let`: the compiler then borrows the worker and its `let` members
    /// (pools, propagators) for a call instead of retaining and releasing them around it,
    /// which an `unowned(unsafe)` reference made it do some fifteen times per request. The
    /// cycle lasts only while the session is open: the worker forgets a session as it
    /// closes (`sessionDidClose`).
    let worker: Worker
    let client: Connection
    let peerIP: PeerIP
    let peerText: String
    /// The peer for span attributes, formatted once.
    let spanPeer: Peer
    /// The peer's span attributes, encoded when this connection first records a span.
    lazy var spanPeerAttributes = spanPeer.spanAttributes
    var configuration: RuntimeConfiguration
    var connection = ConnectionMachine()
    var scanner: HeadScanner
    var exchange: Exchange?
    /// The one deadline a session keeps at a time, taken from the worker while needed:
    /// a partial head's, an upstream attempt's, a tunnel's.
    var deadline: Timer?
    /// When the current request head's time started: the connection's accept, or the
    /// first byte of a later request (monotonic nanoseconds).
    var headStartNanoseconds: Int64

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

    // MARK: Callbacks → events

    func connectionDidRead(_ connection: Connection) {
        if connection === client { clientDidRead() } else { upstreamDidRead(connection) }
        settle()
    }

    func connectionDidDrain(_ connection: Connection) {
        if connection === client { clientDidDrain() } else { upstreamDidDrain(connection) }
        settle()
    }

    func connection(_ connection: Connection, didReceive event: ConnectionEvent) {
        if connection === client { clientDidReceive(event) } else { upstream(connection, didReceive: event) }
        settle()
    }

    /// Serves buffered requests, then writes what either side has queued.
    func settle() {
        serveBufferedRequests()
        if let exchange, let upstream = exchange.upstream {
            upstream.flush()
            if exchange.machine.isSending, exchange.machine.requestBodyDone, upstream.output.isEmpty {
                run(exchange, exchange.machine.handle(.requestWritten))
            }
        }
        client.flush()
        client.resumeReadingIfDrained()
    }

    private func clientDidRead() {
        switch connection.state {
        case .exchanging:
            if let exchange, exchange.requestDecoder != nil, !exchange.machine.requestBodyDone { pumpRequestBody(exchange) }
        case .tunnelling:
            tunnelPump(from: client)
        case .awaitingHead, .closing, .closed:
            break  // `settle` serves what is buffered
        }
    }

    private func clientDidDrain() {
        switch connection.state {
        case .exchanging:
            guard let exchange, exchange.waitingForClientDrain else { return }
            exchange.waitingForClientDrain = false
            client.setWriteLowWatermark(0)
            exchange.upstream?.enableReading()
            run(exchange, pumpResponse(exchange))
        case .tunnelling:
            tunnelDidDrain(client)
        case .awaitingHead, .closing, .closed:
            break
        }
    }

    private func clientDidReceive(_ event: ConnectionEvent) {
        switch connection.state {
        case .awaitingHead:
            perform(connection.handle(.clientEnded))
        case .exchanging, .tunnelling:
            guard let exchange else { return close() }
            switch event {
            case .endOfStream: run(exchange, exchange.machine.handle(.clientEnded))
            case .timedOut: run(exchange, exchange.machine.handle(.clientTimedOut))
            case .failed, .connected: run(exchange, exchange.machine.handle(.clientFailed))
            }
        case .closing, .closed:
            close()
        }
    }

    // MARK: Requests, one after another

    /// The pipelining loop: parses and starts buffered requests while the connection
    /// waits for a head. A request the proxy answers at once returns it to waiting, and
    /// the loop takes the next; one that goes upstream ends the loop until it is done.
    func serveBufferedRequests() {
        while case .awaitingHead = connection.state, !client.input.isEmpty {
            perform(connection.handle(.bytesArrived))
            switch scanner.scan({ client.input.forEachChunk(from: $0, $1) }) {
            case .needMore:
                perform(connection.handle(.headIncomplete))
                return
            case .failed(let error):
                perform(connection.handle(.headRejected(error)))
                return
            case .complete(let leading, let end):
                client.input.drain(leading)
                let bytes = client.input.remove(end - leading)
                scanner.reset()
                let head: RequestHead
                do throws(HTTPParseError) {
                    head = try RequestHeadParser(limits: configuration.limits).parse(bytes)
                } catch {
                    perform(connection.handle(.headRejected(error)))
                    return
                }
                guard connection.handle(.headComplete) == .startExchange else { preconditionFailure("a head without an exchange") }
                startExchange(head)
            }
        }
    }

    /// Carries out what the connection machine decided.
    func perform(_ action: ConnectionMachine.Action) {
        switch action {
        case .none, .startExchange:
            break
        case .startHeadClock:
            headStartNanoseconds = Timestamp.monotonicNanoseconds()
        case .startHeadDeadline:
            client.setTimeouts(readMilliseconds: nil, writeMilliseconds: configuration.timeouts.idle)
            let elapsed = Int((Timestamp.monotonicNanoseconds() - headStartNanoseconds) / 1_000_000)
            scheduleDeadline(milliseconds: configuration.timeouts.requestHeader - elapsed, shared: false)
        case .reject(let failure):
            respondWithoutExchange(ProxyError(failure, server: nil))
        case .closeQuietly:
            close()
        case .awaitNextRequest(let idle):
            releaseDeadline()
            client.enableReading()
            if idle {
                client.setTimeouts(readMilliseconds: configuration.timeouts.idle, writeMilliseconds: configuration.timeouts.idle)
            } else {
                // Pipelined bytes: the next head's time starts now.
                headStartNanoseconds = Timestamp.monotonicNanoseconds()
            }
        case .closeAfterFlush:
            closeAfterFlush()
        }
    }

    // MARK: Closing

    /// Releases everything at once (the client connection is cut).
    func close() {
        guard connection.state != .closed else { return }
        _ = connection.handle(.closed)
        releaseDeadline()
        if let exchange {
            self.exchange = nil
            // Cut mid-exchange (client gone, tunnel closed, shutdown): the spans still end.
            exchange.machine.tunnelCutByShutdown()
            exchange.upstream?.close()
            exchange.upstream = nil
            endAttempt(exchange, error: exchange.machine.failure.map(exchange.error))
            reportEnd(exchange, log: false)
        }
        if client.isOpen { client.close() }
    }

    /// Sends what is queued to the client, then closes.
    func closeAfterFlush() {
        guard connection.state != .closed else { return }
        client.closeAfterFlush()
        close()
    }

    /// Called by the worker when draining: an idle connection closes now.
    func drain() {
        perform(connection.handle(.drain))
    }
}
