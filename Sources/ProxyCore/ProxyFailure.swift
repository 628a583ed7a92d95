import HTTP1

/// Why an exchange failed: the one place a failure maps to the status the client is
/// told, the side that caused it, its `error.type` on spans and in the access log, and
/// whether the request may be tried again on another connection (Pingora's errors carry
/// the same three facts). No text here: `ProxyError` adds the words and the server.
public enum ProxyFailure: Equatable, Sendable {
    /// The request head or body broke a rule of RFC 9112 (its status says which).
    case malformedRequest(HTTPParseError)
    case noRoute
    /// No server of the route's group has an address (its names do not resolve yet).
    case unresolved
    case connectRefused
    case connectFailed(code: Int32)
    case connectTimeout
    /// The request was written; no response head came within `upstream_header`.
    case responseHeadTimeout
    /// The upstream took no byte of the request for `idle`.
    case upstreamWriteTimeout
    /// The upstream sent no byte of the response body for `upstream_header`.
    case responseBodyTimeout
    /// The upstream closed before a response head.
    case upstreamClosedEarly
    case upstreamReset(code: Int32)
    case malformedResponse(HTTPParseError)
    /// The upstream closed in the middle of a response body.
    case upstreamBodyTruncated
    case requestHeadTimeout
    case requestBodyTimeout
    /// The client closed before it had sent its whole request.
    case clientClosedMidRequest
    /// The client closed or reset its connection before the request went upstream.
    case clientGone
    case clientFailed
    /// The client took no byte of the response for `idle`.
    case clientTimeout

    /// Which side caused a failure.
    public enum Side: String, Sendable {
        case downstream
        case upstream
        case `internal`
    }

    /// `error.type` on spans and `error` in the access log.
    public enum Kind: String, Sendable, CaseIterable {
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

    /// When another attempt is allowed after this failure (`ExchangeMachine` also
    /// requires a first attempt and no response byte).
    public enum RetryRule: Equatable, Sendable {
        case never
        /// Nothing reached the upstream: any request may go to the next server, its
        /// queued bytes (head and body so far) carried over.
        case nothingWasSent
        /// A kept-alive connection that the upstream had closed while idle: an
        /// idempotent request without a body is sent again on a new connection.
        case ifStaleConnection
    }

    public var status: Int {
        switch self {
        case .malformedRequest(let error): error.status
        case .noRoute: 404
        case .unresolved, .connectRefused, .connectFailed, .connectTimeout, .upstreamClosedEarly, .upstreamReset,
            .malformedResponse, .upstreamBodyTruncated:
            502
        case .responseHeadTimeout, .upstreamWriteTimeout, .responseBodyTimeout: 504
        case .requestHeadTimeout, .requestBodyTimeout: 408
        case .clientClosedMidRequest, .clientGone, .clientFailed, .clientTimeout: 499
        }
    }

    public var side: Side {
        switch self {
        case .malformedRequest, .noRoute, .requestHeadTimeout, .requestBodyTimeout, .clientClosedMidRequest, .clientGone,
            .clientFailed, .clientTimeout:
            .downstream
        default: .upstream
        }
    }

    public var kind: Kind {
        switch self {
        case .malformedRequest: .malformedRequest
        case .noRoute: .noRoute
        case .unresolved: .unresolved
        case .connectRefused: .connectRefused
        case .connectFailed: .connectFailed
        case .connectTimeout: .connectTimeout
        case .responseHeadTimeout: .upstreamHeaderTimeout
        case .upstreamWriteTimeout: .upstreamWriteTimeout
        case .responseBodyTimeout: .upstreamBodyTimeout
        case .upstreamClosedEarly: .upstreamClosed
        case .upstreamReset: .upstreamReset
        case .malformedResponse: .malformedResponse
        case .upstreamBodyTruncated: .upstreamBodyTruncated
        case .requestHeadTimeout: .requestHeadTimeout
        case .requestBodyTimeout: .requestBodyTimeout
        case .clientClosedMidRequest, .clientGone, .clientFailed: .clientClosed
        case .clientTimeout: .clientTimeout
        }
    }

    public var retryRule: RetryRule {
        switch self {
        case .connectRefused, .connectFailed, .connectTimeout: .nothingWasSent
        case .upstreamClosedEarly, .upstreamReset, .upstreamWriteTimeout: .ifStaleConnection
        default: .never
        }
    }

    /// The upstream could not be reached: its address may have moved.
    public var isConnectFailure: Bool { retryRule == .nothingWasSent }
}

/// Why a tunnel (after a 101) ended: `hoptrace.tunnel.end_reason` on its spans.
public enum TunnelEnd: String, Sendable {
    case clientClosed = "client_closed"
    case upstreamClosed = "upstream_closed"
    case clientFailed = "client_error"
    case upstreamFailed = "upstream_error"
    /// No byte either way for `timeouts.tunnel`.
    case idleTimeout = "idle_timeout"
    /// The proxy stopped.
    case shutdown
}
