import HTTP1

/// A request to one of hoptrace's own listeners (admin, receiver), read whole.
public struct LocalRequest: Sendable {
    public var head: RequestHead
    /// The body, de-chunked; empty until it has been read.
    public var body: [UInt8]

    public init(head: RequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    public var method: String { head.methodString }
    /// The path as sent, `/` when empty.
    public var path: String { head.path.isEmpty ? "/" : head.string(head.path) }
    /// The query after `?`, without it; empty when there is none.
    public var query: String { head.query.map(head.string) ?? "" }

    /// The value of the first field named `name` (any case), or nil.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return head.fields.first { head.string($0.name).lowercased() == wanted }.map { head.string($0.value) }
    }
}

/// A response from one of hoptrace's own listeners.
public struct LocalResponse: Sendable, Equatable {
    public var status: Int
    /// Fields besides Content-Length and Connection, which the server writes.
    public var headers: [Header]
    public var body: [UInt8]
    /// Close the connection after this response.
    public var close = false

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(status: Int, contentType: String, body: [UInt8], headers: [Header] = []) {
        self.status = status
        self.headers = [Header("Content-Type", contentType)] + headers
        self.body = body
    }

    /// A plain-text answer: one sentence and a newline.
    public static func text(_ status: Int, _ message: String, headers: [Header] = []) -> LocalResponse {
        LocalResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8), headers: headers)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The head and body as sent; no body for HEAD (its length is still announced).
    func serialized(headRequest: Bool, keepAlive: Bool) -> [UInt8] {
        var writer = HeadWriter(capacity: 256)
        writer.append("HTTP/1.1 \(status) \(Self.reason(status))\r\n")
        for header in headers { writer.append("\(header.name): \(header.value)\r\n") }
        writer.append("Content-Length: \(body.count)\r\n")
        writer.append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n")
        var bytes = writer.bytes
        if !headRequest { bytes += body }
        return bytes
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// Why the server refused a body without reading it all.
public enum LocalRefusal: Sendable, Equatable {
    /// The body is larger than `LocalHTTPServer.Options.maxBodyBytes` (declared, or as it came).
    case bodyTooLarge(limit: Int)
    /// Bodies being read on this listener already take `maxBufferedBodyBytes`.
    case busy
}

/// What a listener does with requests. Called on the listener's thread only.
public protocol LocalHTTPHandler: AnyObject {
    /// The whole request is in: answer it.
    func respond(to request: LocalRequest) -> LocalResponse
    /// The head is in and a body follows: answer now instead of reading it (nil: read
    /// it). The connection closes after such an answer.
    func respond(beforeBodyOf request: LocalRequest) -> LocalResponse?
    /// The answer when the server refuses the body.
    func respond(to refusal: LocalRefusal, of request: LocalRequest) -> LocalResponse
    /// A connection began with the HTTP/2 preface (`PRI * HTTP/2.0`), which this
    /// HTTP/1.1 server does not speak; it is closed.
    func didReceiveHTTP2Preface()
}

extension LocalHTTPHandler {
    public func respond(beforeBodyOf request: LocalRequest) -> LocalResponse? { nil }

    public func respond(to refusal: LocalRefusal, of request: LocalRequest) -> LocalResponse {
        switch refusal {
        case .bodyTooLarge(let limit): return .text(413, "the body is larger than \(limit) bytes")
        case .busy: return .text(503, "too many requests are being read; try again", headers: [.init("Retry-After", "1")])
        }
    }

    public func didReceiveHTTP2Preface() {}
}
