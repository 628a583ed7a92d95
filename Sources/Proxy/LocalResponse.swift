import HTTP1
import Libevent

/// The proxy's own responses: a status line, a short plain-text body saying what happened.
enum LocalResponse {
    /// Appends the response to `output`.
    /// `fields` adds the proxy's own (the request id).
    static func write(
        status: Int, message: String, close: Bool, to output: Buffer, fields: (inout HeadWriter) -> Void = { _ in }
    ) {
        head(status: status, message: message, close: close, fields: fields).withUnsafeBytes { output.append($0) }
    }

    private static func head(status: Int, message: String, close: Bool, fields: (inout HeadWriter) -> Void) -> HeadWriter {
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
        fields(&writer)
        writer.appendCRLF()
        writer.append(body)
        return writer
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
