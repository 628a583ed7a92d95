/// A parsed request head: the received bytes plus where each part lies in them.
///
/// Names and values are ranges into `bytes`, so forwarding a field costs no `String`.
/// Only what the proxy decides on is interpreted: method, target, version, Host,
/// framing, persistence, Expect and Upgrade.
public struct RequestHead: Sendable {
    /// How the request body is delimited (RFC 9112 §6.3). Requests are never read until close.
    public enum Framing: Sendable, Equatable {
        case none
        case length(UInt64)
        case chunked
    }

    /// The head as received, from the request line through the blank line.
    public var bytes: [UInt8]
    public var method: Range<Int>
    public var methodKind: HTTPMethod
    /// The request target as received.
    public var target: Range<Int>
    /// The path of the target (empty for absolute-form with no path, meaning "/").
    public var path: Range<Int>
    /// The query after `?`, without the `?`; nil when there is none.
    public var query: Range<Int>?
    public var version: HTTPVersion
    public var fields: [HeaderField]
    /// The authority the request is for: from an absolute-form target if present, else Host.
    public var host: Range<Int>?
    public var framing: Framing
    /// False when the client asked to close, and always for HTTP/1.0 (a proxy never keeps
    /// an HTTP/1.0 client connection open).
    public var keepAlive: Bool
    /// Field names listed in `Connection` other than close, keep-alive and upgrade. They
    /// are hop-by-hop and removed when forwarding. Names of framing fields and Host are
    /// never listed here (RFC 9110 §7.6.1: they must not make the proxy drop framing).
    public var connectionOptions: [Range<Int>]
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    public var expectsContinue: Bool
    /// The `Upgrade` value when the request asks for a protocol switch that may be
    /// tunnelled (`Connection: upgrade` plus `Upgrade`, and not `h2c`).
    public var upgrade: Range<Int>?

    public init(
        bytes: [UInt8], method: Range<Int>, methodKind: HTTPMethod, target: Range<Int>, path: Range<Int>,
        query: Range<Int>?, version: HTTPVersion, fields: [HeaderField], host: Range<Int>?,
        framing: Framing, keepAlive: Bool, connectionOptions: [Range<Int>], expectsContinue: Bool,
        upgrade: Range<Int>?
    ) {
        self.bytes = bytes
        self.method = method
        self.methodKind = methodKind
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.fields = fields
        self.host = host
        self.framing = framing
        self.keepAlive = keepAlive
        self.connectionOptions = connectionOptions
        self.expectsContinue = expectsContinue
        self.upgrade = upgrade
    }

    /// The bytes of a range as a `String` (for decisions and logs, not for forwarding).
    public func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    public var methodString: String { string(method) }
    public var targetString: String { string(target) }
    public var hostString: String? { host.map(string) }

    /// The value of the first field of a kind, as a string.
    public func value(of kind: FieldKind) -> String? {
        fields.first { $0.kind == kind }.map { string($0.value) }
    }

    /// True when `field` is named by this request's `Connection` header.
    public func isConnectionOption(_ field: HeaderField) -> Bool {
        ConnectionOptions.names(connectionOptions, in: bytes, include: field)
    }
}
