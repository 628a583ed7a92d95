import HTTP1
import Libevent

/// One connection to a local listener: read a head, read its body whole (within the
/// caps), answer, and go on with the next request on the same connection.
final class LocalSession: ConnectionDelegate {
    private enum State {
        case head
        case body(LocalRequest, BodyDecoder)
        case closed
    }

    let connection: Connection
    private unowned let server: LocalHTTPServer
    private let handler: LocalHTTPHandler
    private var state = State.head
    private var scanner: HeadScanner
    /// Body bytes this session has counted in the server's `bufferedBodyBytes`.
    private var buffered = 0
    /// Answers wait while this much output is unsent (a client pipelining without reading).
    private static let outputPause = 1024 * 1024
    private static let http2Preface = Array("PRI * HTTP/2.0".utf8)

    init(connection: Connection, server: LocalHTTPServer, handler: LocalHTTPHandler) {
        self.connection = connection
        self.server = server
        self.handler = handler
        scanner = HeadScanner(maxHeadBytes: server.options.limits.maxHeaderBytes)
        connection.delegate = self
        connection.setWriteLowWatermark(0)
    }

    func connectionDidRead(_ connection: Connection) {
        process()
        connection.flush()
    }

    func connectionDidDrain(_ connection: Connection) {
        process()
        connection.flush()
    }

    func connection(_ connection: Connection, didReceive event: ConnectionEvent) {
        state = .closed
        connection.close()
    }

    /// Gives back the body bytes counted for this session (when it closes).
    func releaseBuffered() {
        server.bufferedBodyBytes -= buffered
        buffered = 0
    }

    private func process() {
        while connection.isOpen, !connection.input.isEmpty {
            switch state {
            case .closed:
                return
            case .head:
                guard connection.output.count < Self.outputPause else { return }
                guard readHead() else { return }
            case .body(var request, var decoder):
                state = .closed  // the body is held once while it grows, not copied on append
                let step = connection.input.withFirstChunk { decoder.step($0) }
                switch step {
                case .data(let count):
                    request.body += connection.input.remove(count)
                    if let refusal = self.count(count, of: request) {
                        refuse(refusal, request)
                        return
                    }
                    if decoder.isComplete {
                        answer(request)
                    } else {
                        state = .body(request, decoder)
                    }
                case .framing(let count), .chunkStart(_, let count), .chunkEnd(let count):
                    connection.input.drain(count)
                    state = .body(request, decoder)
                case .end(let consumed):
                    connection.input.drain(consumed)
                    answer(request)
                case .failed(let error):
                    finish(.text(error.status, error.reason), for: request, close: true)
                }
            }
        }
    }

    /// Reads a head if one is complete; false when more bytes are needed or the
    /// connection is done.
    private func readHead() -> Bool {
        if startsWithHTTP2Preface() {
            handler.didReceiveHTTP2Preface()
            state = .closed
            connection.close()
            return false
        }
        switch scanner.scan({ connection.input.forEachChunk(from: $0, $1) }) {
        case .needMore:
            return false
        case .failed(let error):
            respondWithoutRequest(.text(error.status, error.reason))
            return false
        case .complete(let leading, let end):
            connection.input.drain(leading)
            let bytes = connection.input.remove(end - leading)
            scanner.reset()
            let head: RequestHead
            do throws(HTTPParseError) {
                head = try RequestHeadParser(limits: server.options.limits).parse(bytes)
            } catch {
                respondWithoutRequest(.text(error.status, error.reason))
                return false
            }
            startBody(LocalRequest(head: head))
            return true
        }
    }

    private func startBody(_ request: LocalRequest) {
        let declared: UInt64
        switch request.head.framing {
        case .none:
            answer(request)
            return
        case .length(0):
            answer(request)
            return
        case .length(let length):
            declared = length
        case .chunked:
            declared = 0
        }
        let options = server.options
        if declared > UInt64(options.maxBodyBytes) {
            refuse(.bodyTooLarge(limit: options.maxBodyBytes), request)
            return
        }
        if server.bufferedBodyBytes + Int(declared) > options.maxBufferedBodyBytes {
            refuse(.busy, request)
            return
        }
        if let early = handler.respond(beforeBodyOf: request) {
            finish(early, for: request, close: true)
            return
        }
        // Counted before it arrives, so that concurrent uploads cannot together pass the cap.
        buffered += Int(declared)
        server.bufferedBodyBytes += Int(declared)
        if request.head.expectsContinue { connection.output.append("HTTP/1.1 100 Continue\r\n\r\n") }
        var reading = request
        reading.body.reserveCapacity(Int(declared))
        let framing: BodyDecoder.Framing = request.head.framing == .chunked ? .chunked : .length(declared)
        state = .body(reading, BodyDecoder(framing: framing, limits: server.options.limits))
    }

    /// Counts `count` more body bytes; a refusal when they pass a cap.
    private func count(_ count: Int, of request: LocalRequest) -> LocalRefusal? {
        let options = server.options
        if request.body.count > options.maxBodyBytes { return .bodyTooLarge(limit: options.maxBodyBytes) }
        // A declared length was counted in full already.
        if case .chunked = request.head.framing {
            buffered += count
            server.bufferedBodyBytes += count
            if server.bufferedBodyBytes > options.maxBufferedBodyBytes { return .busy }
        }
        return nil
    }

    private func refuse(_ refusal: LocalRefusal, _ request: LocalRequest) {
        finish(handler.respond(to: refusal, of: request), for: request, close: true)
    }

    private func answer(_ request: LocalRequest) {
        finish(handler.respond(to: request), for: request, close: false)
    }

    private func finish(_ response: LocalResponse, for request: LocalRequest, close: Bool) {
        releaseBuffered()
        let keepAlive = !close && !response.close && request.head.keepAlive
        connection.output.append(response.serialized(headRequest: request.head.methodKind == .head, keepAlive: keepAlive))
        if keepAlive {
            state = .head
        } else {
            state = .closed
            connection.closeAfterFlush()
        }
    }

    /// A head that could not be parsed: answered, and the connection closed.
    private func respondWithoutRequest(_ response: LocalResponse) {
        connection.output.append(response.serialized(headRequest: false, keepAlive: false))
        state = .closed
        connection.closeAfterFlush()
    }

    private func startsWithHTTP2Preface() -> Bool {
        guard scanner.bytesScanned == 0, connection.input.count >= Self.http2Preface.count else { return false }
        return connection.input.withFirstChunk { chunk in
            chunk.count >= Self.http2Preface.count && chunk.prefix(Self.http2Preface.count).elementsEqual(Self.http2Preface)
        }
    }
}
