import HTTP1
import Tracing
import Libevent

/// How an exchange ends: the proxy's own responses, the access-log line, and what
/// happens to the client connection next.
extension ClientSession {
    /// Answers `exchange` with the proxy's own error response.
    func finishLocally(_ exchange: Exchange, error: ProxyError, forceClose: Bool = false) {
        exchange.error = error
        exchange.status = error.status
        cancelDeadline()
        endAttempt(exchange, error: error)
        exchange.upstream?.close()
        exchange.upstream = nil
        if exchange.responseStarted {
            finishExchange(exchange, closeClient: true)
            return
        }
        // A body we did not read would be taken for the next request: close instead.
        let closeClient = forceClose || !exchange.head.keepAlive || !exchange.requestBodyDone
            || worker.isDraining || clientFinished
        client.output.append(LocalResponse.bytes(status: error.status, message: error.message, close: closeClient))
        exchange.responseStarted = true
        finishExchange(exchange, closeClient: closeClient)
    }

    /// A request whose head could not be parsed: one 4xx, then nothing more is read.
    func rejectRequest(_ error: HTTPParseError) {
        respondWithoutExchange(.malformedRequest(error))
    }

    /// Answers without a parsed request (malformed head, head timeout), then closes.
    func respondWithoutExchange(_ error: ProxyError) {
        cancelDeadline()
        client.output.append(LocalResponse.bytes(status: error.status, message: error.message, close: true))
        let spanIDs = recordRejectionSpan(error)
        if let log = worker.accessLog {
            let now = Timestamp.wallNanoseconds()
            log.write(AccessLog.Record(
                startWallNanoseconds: now, client: peerText, method: "-", target: "-", version: "1.1",
                status: error.status, bytesIn: 0, bytesOut: 0, durationMicroseconds: 0, route: nil,
                upstream: nil, error: error.kind.rawValue, traceID: spanIDs.traceID, spanID: spanIDs.spanID))
        }
        closeAfterFlush()
    }

    /// The response is complete (or cut): log it and keep or close the client.
    func finishExchange(_ exchange: Exchange, closeClient: Bool) {
        endAttempt(exchange, error: exchange.error)
        recordServerSpan(exchange)
        writeAccessLog(exchange)
        if closeClient || !exchange.head.keepAlive || worker.isDraining {
            closeAfterFlush()
        } else {
            awaitNextRequest()
        }
    }

    /// The client went away mid-exchange.
    func abort(_ exchange: Exchange, reason: ProxyError) {
        exchange.error = reason
        if exchange.status == 0 { exchange.status = reason.status }
        writeAccessLog(exchange)
        close()
    }

    func writeAccessLog(_ exchange: Exchange) {
        guard let log = worker.accessLog else { return }
        let head = exchange.head
        log.write(AccessLog.Record(
            startWallNanoseconds: exchange.startWallNanoseconds,
            client: peerText,
            method: head.methodString,
            target: head.targetString,
            version: head.version.description,
            status: exchange.status,
            bytesIn: exchange.bytesIn,
            bytesOut: exchange.bytesOut,
            durationMicroseconds: (Timestamp.monotonicNanoseconds() - exchange.startMonotonicNanoseconds) / 1000,
            route: exchange.route?.name,
            upstream: exchange.server?.configured,
            error: exchange.error?.kind.rawValue,
            traceID: exchange.trace.traceID.description,
            spanID: exchange.serverSpanID.description))
    }
}

/// The proxy's own responses: a status line, a short plain-text body saying what happened.
enum LocalResponse {
    static func bytes(status: Int, message: String, close: Bool) -> [UInt8] {
        let reason = reasonPhrase(status)
        let body = "\(status) \(reason): \(message)\n"
        var writer = HeadWriter(capacity: 256)
        writer.append("HTTP/1.1 ")
        writer.appendDecimal(UInt64(status))
        writer.append(" ")
        writer.append(reason)
        writer.append("\r\nContent-Type: text/plain; charset=utf-8\r\n")
        writer.appendContentLength(UInt64(body.utf8.count))
        if close { writer.append("Connection: close\r\n") }
        if status == 405 { writer.append("Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE\r\n") }
        writer.appendCRLF()
        writer.append(body)
        return writer.bytes
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 417: return "Expectation Failed"
        case 431: return "Request Header Fields Too Large"
        case 499: return "Client Closed Request"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Error"
        }
    }
}
