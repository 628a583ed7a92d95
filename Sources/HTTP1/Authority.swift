/// `host[:port]` or `[v6]:port` taken apart by form (RFC 3986 §3.2.2–3.2.3, the
/// authority of a Host field, RFC 9110 §7.2, and of an `http` URL). The one place
/// hoptrace splits a host from its port: routing, spans, configuration and the
/// exporter's endpoint all use it.
///
/// The parts are index ranges into what was split, so splitting copies nothing and
/// works on a head's bytes, a slice or a `String`'s UTF-8 alike. Nothing is resolved,
/// and the host's characters are not checked (`FieldValues.isValidHost` checks a
/// received Host; configuration checks its own).
///
/// `public` rather than `package` (CONVENTIONS.md, 2) for the optimizer's sake: Swift 6.3
/// did not specialize the `@inlinable package` split in the modules that call it, and the
/// generic version cost routing about 6,000 instructions a request (callgrind,
/// Tests/Benchmarks/instructions.sh); `public`, it is specialized and inlined.
public struct Authority<Index: Comparable>: Equatable {
    /// The host as written, brackets kept (`[::1]`, `example.com`); empty for `:8080`.
    public var host: Range<Index>
    /// The host without its brackets: the address inside them, else `host`.
    public var hostname: Range<Index>
    /// What follows the colon that ends the host: nil when there is no such colon, empty
    /// for `host:`, not necessarily digits (`port(in:)` reads it as a number).
    public var portText: Range<Index>?

    /// Splits `bytes`; nil when they are not of the form `host[:port]` or `[v6][:port]`:
    /// a `[` that does not close, empty brackets, anything but `:` after the `]`, or a
    /// colon in an unbracketed host (an IPv6 address without brackets: which colon would
    /// end the host?).
    @inlinable
    public init?<Bytes: BidirectionalCollection<UInt8>>(splitting bytes: Bytes) where Bytes.Index == Index {
        let colon = UInt8(ascii: ":")
        let start = bytes.startIndex
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let inside = bytes.index(after: start)
            guard inside < close else { return nil }
            let afterClose = bytes.index(after: close)
            host = start..<afterClose
            hostname = inside..<close
            if afterClose == bytes.endIndex {
                portText = nil
            } else {
                guard bytes[afterClose] == colon else { return nil }
                portText = bytes.index(after: afterClose)..<bytes.endIndex
            }
        } else if let last = bytes.lastIndex(of: colon) {
            guard bytes[start..<last].firstIndex(of: colon) == nil else { return nil }
            host = start..<last
            hostname = host
            portText = bytes.index(after: last)..<bytes.endIndex
        } else {
            host = start..<bytes.endIndex
            hostname = host
            portText = nil
        }
    }

    /// The port as a number: 1 to 5 ASCII digits, at most 65535 (port 0 included; the
    /// caller decides whether it may be used). Nil when there is no port, an empty one
    /// or anything else.
    @inlinable
    public func port<Bytes: Collection<UInt8>>(in bytes: Bytes) -> Int? where Bytes.Index == Index {
        guard let portText else { return nil }
        var port = 0
        var digits = 0
        for byte in bytes[portText] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 5 else { return nil }
            port = port * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 && port <= 65535 ? port : nil
    }
}

extension Authority: Sendable where Index: Sendable {}
