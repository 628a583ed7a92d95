import Config
import HTTP1
import Tracing

/// One compiled route: byte strings ready for matching a request without `String`s.
/// A final class: an exchange, its spans and its summary each hold the route with one
/// retain instead of copying five fields.
public final class CompiledRoute: Sendable {
    public enum HostPattern: Sendable, Equatable {
        case any
        /// Lowercase host, no port.
        case exact([UInt8])
        /// Lowercase `.suffix`: matches any name ending in it (not the bare suffix).
        case subdomain([UInt8])
    }

    public let name: String
    public let host: HostPattern
    public let path: [UInt8]
    public let isPrefix: Bool
    public let stripPrefix: Bool
    public let upstream: UpstreamGroup
    /// The route's path as span names and `http.route` show it: `/api/*` for a prefix,
    /// the path itself for an exact route. Never the raw request path.
    public let template: String
    /// `http.route`, encoded once.
    let spanAttributes: EncodedAttributes
    /// `{method} {template}` for each method `SpanText.knownMethods` names: span names
    /// made once, not per span.
    let spanNames: [String]
    /// The route's own sampler (`tracing:` on the route); nil: the global one.
    public let sampler: Sampler?
    /// The route's number among the metrics' label values (`http_route`).
    let metricsIndex: Int

    public init(
        name: String, host: HostPattern, path: [UInt8], isPrefix: Bool, stripPrefix: Bool, upstream: UpstreamGroup,
        sampler: Sampler? = nil
    ) {
        self.name = name
        self.host = host
        self.path = path
        self.isPrefix = isPrefix
        self.stripPrefix = stripPrefix
        self.upstream = upstream
        self.sampler = sampler
        metricsIndex = MetricNames.shared.route(name)
        let text = String(decoding: path, as: UTF8.self)
        let template = isPrefix && text != "/" ? (text.hasSuffix("/") ? text + "*" : text + "/*") : text
        self.template = template
        spanAttributes = EncodedAttributes([.string("http.route", template)])
        spanNames = SpanText.knownMethods.map { "\($0.name) \(template)" }
    }

    /// Whether `path` (the request's path bytes) falls under this route. A prefix matches
    /// at a segment boundary: `/api` matches `/api`, `/api/x` and `/api?q`, not `/apiary`.
    func matchesPath(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        if !isPrefix {
            return range.count == path.count && bytes[range].elementsEqual(path)
        }
        guard range.count >= path.count, bytes[range.lowerBound..<(range.lowerBound + path.count)].elementsEqual(path) else {
            return false
        }
        if range.count == path.count || path.last == UInt8(ascii: "/") { return true }
        return bytes[range.lowerBound + path.count] == UInt8(ascii: "/")
    }

    /// Case-insensitive; `host` is the request's host (no port) within `bytes`.
    func matchesHost(_ bytes: [UInt8], _ host: Range<Int>) -> Bool {
        func equalsLowercase(_ range: Range<Int>, _ expected: [UInt8]) -> Bool {
            range.count == expected.count && zip(bytes[range], expected).allSatisfy { pair in
                (pair.0 >= 0x41 && pair.0 <= 0x5A ? pair.0 | 0x20 : pair.0) == pair.1
            }
        }
        switch self.host {
        case .any:
            return true
        case .exact(let expected):
            return equalsLowercase(host, expected)
        case .subdomain(let suffix):
            return host.count > suffix.count && equalsLowercase((host.upperBound - suffix.count)..<host.upperBound, suffix)
        }
    }
}

/// Routes in configuration order; the first match wins.
public struct RoutingTable: Sendable {
    public let routes: [CompiledRoute]

    public init(routes: [CompiledRoute]) {
        self.routes = routes
    }

    /// Finds the route for a request head; nil means 404.
    public func match(_ head: RequestHead) -> CompiledRoute? {
        let host = Self.hostWithoutPort(head)
        for route in routes where route.matchesHost(head.bytes, host) {
            if head.path.isEmpty {
                // absolute-form with no path: the path is "/".
                if route.matchesPath([UInt8(ascii: "/")], 0..<1) { return route }
            } else if route.matchesPath(head.bytes, head.path) {
                return route
            }
        }
        return nil
    }

    /// Where the request's host lies in its head, without port (and brackets kept).
    static func hostWithoutPort(_ head: RequestHead) -> Range<Int> {
        guard let range = head.host else { return 0..<0 }
        return Authority(splitting: head.bytes[range])?.host ?? range
    }
}
