#if canImport(Glibc)
import Glibc
#endif
import HTTP1
import ProxyCore

/// A failure in words: `ProxyFailure` (status, side, `error.type`, retry rule, all decided
/// in ProxyCore) with the sentence the client's error page, the span's status message and
/// the logs carry, naming the server where one is involved.
///
/// A class: failures are rare, and an exchange and its spans carry an optional one
/// that is almost always nil, which a reference copies for nothing (the enum inside
/// was copied through generic value witnesses, nil or not, for every span).
public final class ProxyError: Error, Sendable, Equatable {
    public let failure: ProxyFailure
    public let message: String

    public init(_ failure: ProxyFailure, message: String) {
        self.failure = failure
        self.message = message
    }

    public static func == (left: ProxyError, right: ProxyError) -> Bool {
        left.failure == right.failure && left.message == right.message
    }

    public var kind: ProxyFailure.Kind { failure.kind }
    public var side: ProxyFailure.Side { failure.side }
    public var status: Int { failure.status }

    /// `server`: the upstream server as configured (for upstream failures); `group`: the
    /// route's upstream group (for `unresolved`, which names what does not resolve).
    public convenience init(_ failure: ProxyFailure, server: String?, group: UpstreamGroup? = nil) {
        let server = server ?? "?"
        let message: String = switch failure {
        case .malformedRequest(let error): error.reason
        case .noRoute: "no route matches this request"
        case .unresolved:
            "upstream \(group?.name ?? "?"): \((group?.unresolved ?? []).map { "'\($0)'" }.joined(separator: ", ")) does not resolve (yet); hoptrace keeps looking it up"
        case .connectRefused: "could not connect to upstream \(server): \(Self.describe(ECONNREFUSED))"
        case .connectFailed(let code): "could not connect to upstream \(server): \(Self.describe(code))"
        case .connectTimeout: "timed out connecting to upstream \(server)"
        case .responseHeadTimeout: "upstream \(server) sent no response header in time"
        case .upstreamWriteTimeout: "upstream \(server) stopped reading the request"
        case .responseBodyTimeout: "upstream \(server) stopped sending the response body"
        case .upstreamClosedEarly: "upstream \(server) closed the connection before responding"
        case .upstreamReset(let code): "upstream \(server) failed: \(Self.describe(code))"
        case .malformedResponse(let error): "upstream \(server) sent an invalid response: \(error.reason)"
        case .upstreamBodyTruncated: "upstream \(server) closed the connection in the middle of the response body"
        case .requestHeadTimeout: "request header not received in time"
        case .requestBodyTimeout: "request body not received in time"
        case .clientClosedMidRequest: "client closed before sending the whole request"
        case .clientGone: "client closed the connection before the request was sent upstream"
        case .clientFailed: "client connection failed"
        case .clientTimeout: "client stopped reading the response"
        }
        self.init(failure, message: message)
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
