import HTTP1
import Yams

/// The `limits:` section: the sizes the HTTP/1 parsers enforce, each within a range that
/// keeps ordinary clients working and one connection's buffers bounded.
extension ConfigReader {
    /// Below 1 KiB a browser's request with a few cookies would be refused; above 1 MiB a
    /// head is no longer a head, and each connection may buffer this much. Default 64 KiB.
    static let maxHeaderBytesRange = 1 << 10...1 << 20
    /// Field lines per head. Default 100; 10,000 is far past any real client.
    static let maxHeaderCountRange = 1...10_000

    mutating func limits(_ node: Node) -> HTTPLimits {
        var limits = HTTPLimits()
        eachEntry("limits", node) { reader, key, keyNode, value in
            let path = "limits.\(key)"
            switch key {
            case "max_header_bytes":
                limits.maxHeaderBytes = reader.byteSize(path, value, in: Self.maxHeaderBytesRange) ?? limits.maxHeaderBytes
            case "max_header_count":
                limits.maxHeaderCount = reader.integer(path, value, in: Self.maxHeaderCountRange) ?? limits.maxHeaderCount
            case "max_body_bytes":
                limits.maxBodyBytes = reader.byteSize(path, value, minimum: 0).map(UInt64.init) ?? limits.maxBodyBytes
            default: reader.problem(path, keyNode, "unknown limit (expected max_header_bytes, max_header_count, max_body_bytes)")
            }
        }
        return limits
    }
}
