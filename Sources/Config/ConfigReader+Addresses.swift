import HTTP1
import Yams

/// Addresses as written: where hoptrace listens, and the upstream servers it sends to. Both
/// come out as `host:port` (`[v6]:port`), the form `SocketAddress.split` takes, so runtime
/// code sees one form whatever shorthand the file used.
extension ConfigReader {
    /// `host:port`, `[v6]:port`, or `:port` for every IPv4 interface (`0.0.0.0:port`, as Go,
    /// Traefik and Caddy users write it). Port 0 asks the system for any free port.
    mutating func listenAddress(_ key: String, _ node: Node) -> String? {
        guard let text = scalar(key, node) else { return nil }
        switch Self.addressParts(text[...]) {
        case .parts(let host, let port?):
            return host.isEmpty ? "0.0.0.0:\(port)" : text
        case .unbracketedIPv6:
            problem(key, node, "an IPv6 address needs brackets, like [::]:8080, not '\(text)'")
        case .parts(_, nil), .badPort, .malformed:
            problem(key, node, "must be host:port, like 0.0.0.0:8080 or :8080, not '\(text)'")
        }
        return nil
    }

    /// `host:port`, `[v6]:port`, or `http://host[:port][/]` (port 80 when none), returned as
    /// `host:port`. Refused: port 0, no host, https, and a URL's path, query or userinfo —
    /// each of which hoptrace would otherwise drop or misread in silence.
    mutating func serverAddress(_ key: String, _ node: Node) -> String? {
        guard let text = scalar(key, node) else { return nil }
        var authority = text[...]
        var isURL = false
        if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
            let scheme = text[..<colon].lowercased()
            guard scheme == "http" else {
                if scheme == "https" {
                    problem(key, node, "https upstreams are not supported yet: hoptrace speaks plain HTTP to upstreams; terminate TLS elsewhere or use http://, not '\(text)'")
                } else {
                    problem(key, node, "'\(scheme)://' is not a scheme hoptrace sends to: write host:port or http://host:port, not '\(text)'")
                }
                return nil
            }
            isURL = true
            let rest = text[text.index(colon, offsetBy: 3)...]
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            authority = rest[..<end]
            let path = rest[end...].prefix { $0 != "?" && $0 != "#" }
            if path.count > 1 {
                problem(key, node, "a path in an upstream server is not supported: requests keep their own path (a route's strip_prefix can remove a prefix); write http://\(authority), not '\(text)'")
                return nil
            }
            if path.endIndex != rest.endIndex {
                problem(key, node, "a query or fragment in an upstream server is not supported: write http://\(authority), not '\(text)'")
                return nil
            }
            if authority.contains("@") {
                problem(key, node, "credentials in an upstream server (user@host) are not supported: hoptrace sends none upstream; remove them from '\(text)'")
                return nil
            }
        }
        switch Self.addressParts(authority) {
        case .parts(let host, _) where host.isEmpty:
            problem(key, node, "'\(text)' has no host: name the server, like 127.0.0.1:8080 or backend:8080")
        case .parts(_, 0):
            problem(key, node, "port 0 is not a port an upstream can listen on: write the port the server serves on, not '\(text)'")
        case .parts(let host, let port?):
            return "\(host):\(port)"
        case .parts(let host, nil) where isURL:
            return "\(host):80"
        case .unbracketedIPv6:
            problem(key, node, "an IPv6 address needs brackets, like [::1]:4567, not '\(text)'")
        case .parts(_, nil), .badPort, .malformed:
            problem(key, node, "must be host:port or http://host:port, like 127.0.0.1:4567, not '\(text)'")
        }
        return nil
    }

    /// `host:port` or `[v6]:port` taken apart by form alone (nothing is resolved).
    enum AddressParts: Equatable {
        /// The host keeps its brackets; it may be empty (the caller decides). `port` is nil
        /// when none is written.
        case parts(host: Substring, port: Int?)
        /// An IPv6 literal without brackets, like `::1:8080`: which colon ends the host?
        case unbracketedIPv6
        /// A colon with no port of 0–65535 after it.
        case badPort
        /// Brackets that do not close, or a character no host has.
        case malformed
    }

    static func addressParts(_ text: Substring) -> AddressParts {
        let isForeign: (Character) -> Bool = { $0 == "/" || $0 == "@" || $0 == "?" || $0 == "#" || $0.isWhitespace }
        guard let authority = Authority(splitting: text.utf8) else {
            // Without a `[`, only a colon in the host is refused by the split.
            if !text.hasPrefix("["), let colon = text.lastIndex(of: ":"), !text[..<colon].contains(where: isForeign) {
                return .unbracketedIPv6
            }
            return .malformed
        }
        let host = text[authority.host]
        if host.contains(where: isForeign) { return .malformed }
        guard authority.portText != nil else { return .parts(host: host, port: nil) }
        guard let port = authority.port(in: text.utf8) else { return .badPort }
        return .parts(host: host, port: port)
    }
}
