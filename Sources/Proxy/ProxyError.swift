#if canImport(Glibc)
import Glibc
#endif
import HTTP1

/// Why an exchange failed, which side caused it, and what the client is told.
/// The one place failures map to a status code (and, with tracing, to `error.type`).
public struct ProxyError: Error, Sendable, Equatable {
    public enum Side: String, Sendable {
        case downstream
        case upstream
        case `internal`
    }

    public enum Kind: String, Sendable {
        case malformedRequest = "malformed_request"
        case noRoute = "no_route"
        case connectRefused = "connection_refused"
        case connectFailed = "connect_error"
        case connectTimeout = "connect_timeout"
        case upstreamHeaderTimeout = "response_header_timeout"
        case upstreamClosed = "upstream_closed"
        case upstreamReset = "upstream_reset"
        case malformedResponse = "invalid_upstream_response"
        case upstreamBodyTruncated = "upstream_body_truncated"
        case requestHeadTimeout = "request_header_timeout"
        case clientClosed = "client_closed"
    }

    public var kind: Kind
    public var side: Side
    public var status: Int
    public var message: String

    public init(kind: Kind, side: Side, status: Int, message: String) {
        self.kind = kind
        self.side = side
        self.status = status
        self.message = message
    }

    public static func malformedRequest(_ error: HTTPParseError) -> ProxyError {
        ProxyError(kind: .malformedRequest, side: .downstream, status: error.status, message: error.reason)
    }

    public static let noRoute = ProxyError(kind: .noRoute, side: .downstream, status: 404, message: "no route matches this request")

    public static func connect(_ code: Int32, server: String) -> ProxyError {
        let refused = code == ECONNREFUSED
        return ProxyError(
            kind: refused ? .connectRefused : .connectFailed, side: .upstream, status: 502,
            message: "could not connect to upstream \(server): \(String(cString: strerror(code)))")
    }

    public static func connectTimeout(server: String) -> ProxyError {
        ProxyError(kind: .connectTimeout, side: .upstream, status: 502, message: "timed out connecting to upstream \(server)")
    }

    public static func headerTimeout(server: String) -> ProxyError {
        ProxyError(kind: .upstreamHeaderTimeout, side: .upstream, status: 504, message: "upstream \(server) sent no response header in time")
    }

    public static func closedEarly(server: String) -> ProxyError {
        ProxyError(kind: .upstreamClosed, side: .upstream, status: 502, message: "upstream \(server) closed the connection before responding")
    }

    public static func reset(server: String, code: Int32) -> ProxyError {
        ProxyError(kind: .upstreamReset, side: .upstream, status: 502, message: "upstream \(server) failed: \(String(cString: strerror(code)))")
    }

    public static func malformedResponse(server: String, _ error: HTTPParseError) -> ProxyError {
        ProxyError(kind: .malformedResponse, side: .upstream, status: 502, message: "upstream \(server) sent an invalid response: \(error.reason)")
    }
}
