/// Size limits the parsers enforce. Defaults follow the configuration contract.
public struct HTTPLimits: Sendable, Equatable {
    /// Bytes in a head: request or status line, fields, and the blank line. Default 65536.
    /// A request line alone longer than this is answered 414, otherwise 431.
    public var maxHeaderBytes: Int
    /// Field lines in a head. Default 100. More → 431.
    public var maxHeaderCount: Int
    /// Declared request body size cap; 0 means no cap. Above it → 413 before any body byte is read.
    public var maxBodyBytes: UInt64
    /// Bytes of chunk extensions on one chunk-size line. Default 4096 (RFC 9112 §7.1.1 asks for a limit).
    public var maxChunkExtensionBytes: Int
    /// Bytes of the trailer section after the last chunk. Default 16384.
    public var maxTrailerBytes: Int

    public init(
        maxHeaderBytes: Int = 65536,
        maxHeaderCount: Int = 100,
        maxBodyBytes: UInt64 = 0,
        maxChunkExtensionBytes: Int = 4096,
        maxTrailerBytes: Int = 16384
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkExtensionBytes = maxChunkExtensionBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    public static let `default` = HTTPLimits()
}
