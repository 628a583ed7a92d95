/// The networks whose `traceparent` is trusted: their trace is continued and their
/// sampled flag honoured. Default: loopback and private ranges (RFC 1918, RFC 4193,
/// link-local), where the proxy's own instrumented clients usually are.
public struct TrustedNetworks: Sendable, Equatable {
    /// An address prefix: 4 or 16 bytes and a prefix length.
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        public var address: [UInt8]
        public var prefixLength: Int

        /// Parses `10.0.0.0/8`, `::1/128`, or an address alone (a host).
        public init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = IPAddress.parse(String(parts[0])) else { return nil }
            let maximum = address.count * 8
            if parts.count == 2 {
                guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
                prefixLength = length
            } else {
                prefixLength = maximum
            }
            self.address = address
        }

        public func contains(_ candidate: [UInt8]) -> Bool {
            guard candidate.count == address.count else { return false }
            var remaining = prefixLength
            for index in 0..<address.count where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if candidate[index] & mask != address[index] & mask { return false }
                remaining -= bits
            }
            return true
        }

        public var description: String { "\(IPAddress.format(address))/\(prefixLength)" }
    }

    public var networks: [Network]

    public init(_ networks: [Network]) {
        self.networks = networks
    }

    public static let privateAndLoopback = TrustedNetworks([
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
        "::1/128", "fc00::/7", "fe80::/10",
    ].compactMap(Network.init))

    /// Whether a peer address (4 or 16 bytes; IPv4-mapped IPv6 is read as IPv4) is trusted.
    public func contains(_ address: [UInt8]) -> Bool {
        let candidate = IPAddress.unmapped(address)
        return networks.contains { $0.contains(candidate) }
    }
}

/// IPv4 and IPv6 addresses as bytes, without the C library.
public enum IPAddress {
    public static func parse(_ text: String) -> [UInt8]? {
        text.contains(":") ? parseIPv6(text) : parseIPv4(text)
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var groups = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if text.hasPrefix("::") { groups.removeFirst() }
        if text.hasSuffix("::") { groups.removeLast() }
        var embeddedIPv4: [UInt8]?
        for (index, group) in groups.enumerated() {
            if group.isEmpty {
                guard !sawGap else { return nil }
                sawGap = true
                continue
            }
            if index == groups.count - 1, group.contains(".") {
                guard let ipv4 = parseIPv4(group) else { return nil }
                embeddedIPv4 = ipv4
                continue
            }
            guard group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
            if sawGap { tail.append(value) } else { head.append(value) }
        }
        let groupCount = head.count + tail.count + (embeddedIPv4 == nil ? 0 : 2)
        guard sawGap ? groupCount < 8 : groupCount == 8 else { return nil }
        var words = head + [UInt16](repeating: 0, count: 8 - groupCount) + tail
        if let embeddedIPv4 {
            words.append(UInt16(embeddedIPv4[0]) << 8 | UInt16(embeddedIPv4[1]))
            words.append(UInt16(embeddedIPv4[2]) << 8 | UInt16(embeddedIPv4[3]))
        }
        return words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// `::ffff:a.b.c.d` → the IPv4 bytes; anything else unchanged.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF
        else { return address }
        return Array(address[12..<16])
    }

    static func format(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: address.count, by: 2)
            .map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
