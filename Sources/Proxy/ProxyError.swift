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
        case unresolved = "name_unresolved"
        case upstreamHeaderTimeout = "response_header_timeout"
        case upstreamClosed = "upstream_closed"
        case upstreamReset = "upstream_reset"
        case malformedResponse = "invalid_upstream_response"
        case upstreamBodyTruncated = "upstream_body_truncated"
        case upstreamWriteTimeout = "upstream_write_timeout"
        case upstreamBodyTimeout = "response_body_timeout"
        case requestHeadTimeout = "request_header_timeout"
        case requestBodyTimeout = "request_body_timeout"
        case clientClosed = "client_closed"
        case clientTimeout = "client_timeout"
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

    /// The upstream could not be reached: its address may have moved.
    var isConnectFailure: Bool { kind == .connectRefused || kind == .connectFailed || kind == .connectTimeout }

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

    /// No server of the group has an address: its names do not resolve (yet).
    public static func unresolved(_ group: UpstreamGroup) -> ProxyError {
        let names = group.unresolved.map { "'\($0)'" }.joined(separator: ", ")
        return ProxyError(
            kind: .unresolved, side: .upstream, status: 502,
            message: "upstream \(group.name): \(names) does not resolve (yet); hoptrace keeps looking it up")
    }

    public static func connectTimeout(server: String) -> ProxyError {
        ProxyError(kind: .connectTimeout, side: .upstream, status: 502, message: "timed out connecting to upstream \(server)")
    }

    public static func headerTimeout(server: String) -> ProxyError {
        ProxyError(kind: .upstreamHeaderTimeout, side: .upstream, status: 504, message: "upstream \(server) sent no response header in time")
    }

    /// The upstream took no byte of the request for `timeouts.idle` while it was sent.
    public static func writeTimeout(server: String) -> ProxyError {
        ProxyError(kind: .upstreamWriteTimeout, side: .upstream, status: 504, message: "upstream \(server) stopped reading the request")
    }

    /// The upstream sent no byte of the response body for `timeouts.upstream_header`.
    public static func bodyTimeout(server: String) -> ProxyError {
        ProxyError(kind: .upstreamBodyTimeout, side: .upstream, status: 504, message: "upstream \(server) stopped sending the response body")
    }

    /// The client sent no byte of its request body for `timeouts.idle`.
    public static let requestBodyTimeout = ProxyError(
        kind: .requestBodyTimeout, side: .downstream, status: 408, message: "request body not received in time")

    /// The client took no byte of the response for `timeouts.idle`.
    public static let clientTimeout = ProxyError(
        kind: .clientTimeout, side: .downstream, status: 499, message: "client stopped reading the response")

    /// The client closed or reset its connection before the request was sent upstream.
    public static let clientGone = ProxyError(
        kind: .clientClosed, side: .downstream, status: 499, message: "client closed the connection before the request was sent upstream")

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
