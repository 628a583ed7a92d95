import Config
import HTTP1

/// One compiled route: byte strings ready for matching a request without `String`s.
public struct CompiledRoute: Sendable {
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

    func matchesHost(_ host: [UInt8]) -> Bool {
        switch self.host {
        case .any: return true
        case .exact(let expected): return host == expected
        case .subdomain(let suffix): return host.count > suffix.count && host.suffix(suffix.count).elementsEqual(suffix)
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
        let host = Self.normalizedHost(head)
        let path = head.path.isEmpty ? [UInt8(ascii: "/")] : nil
        for route in routes where route.matchesHost(host) {
            if let path {
                if route.matchesPath(path, 0..<1) { return route }
            } else if route.matchesPath(head.bytes, head.path) {
                return route
            }
        }
        return nil
    }

    /// The request's host, lowercased, without port.
    static func normalizedHost(_ head: RequestHead) -> [UInt8] {
        guard let range = head.host else { return [] }
        var host = head.bytes[range].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        if host.first == UInt8(ascii: "[") {
            if let close = host.firstIndex(of: UInt8(ascii: "]")) { host.removeSubrange((close + 1)...) }
        } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            host.removeSubrange(colon...)
        }
        return host
    }
}
