/// Why a message was refused by the codec, and the status code the proxy answers with.
///
/// One value per rule of RFC 9112 that the parsers enforce, so a test can say which rule
/// fired. `status` is the response a proxy sends for a malformed *request*; a malformed
/// *response* always maps to 502 in the proxy's error mapping, whatever this says.
public enum HTTPParseError: Error, Equatable, Sendable {
    case bareLineFeed
    case bareCarriageReturn
    case headerSectionTooLarge
    case tooManyFields
    case targetTooLong
    case invalidRequestLine
    case invalidMethod
    case invalidTarget
    case invalidVersion
    case unsupportedVersion
    case invalidStatusLine
    case invalidFieldName
    case invalidFieldValue
    case obsoleteLineFolding
    case missingHost
    case duplicateHost
    case invalidHost
    case invalidContentLength
    case conflictingContentLength
    case contentLengthWithTransferEncoding
    case invalidTransferEncoding
    case unsupportedTransferCoding
    case transferEncodingInHTTP10
    case invalidChunkSize
    case chunkExtensionTooLong
    case invalidChunkFraming
    case trailerSectionTooLarge
    case bodyTooLarge
    case unsupportedExpectation
    case connectNotSupported
    case truncatedBody

    /// The status a server answers a request with when this rule fires.
    public var status: Int {
        switch self {
        case .headerSectionTooLarge, .tooManyFields, .trailerSectionTooLarge: return 431
        case .targetTooLong: return 414
        case .unsupportedVersion: return 505
        case .unsupportedTransferCoding: return 501
        case .bodyTooLarge: return 413
        case .unsupportedExpectation: return 417
        case .connectNotSupported: return 405
        default: return 400
        }
    }

    /// A short human sentence, used as the body of the proxy's own error responses.
    public var reason: String {
        switch self {
        case .bareLineFeed: return "line ends must be CRLF, found a bare LF"
        case .bareCarriageReturn: return "found a CR that is not followed by LF"
        case .headerSectionTooLarge: return "request header section too large"
        case .tooManyFields: return "too many header fields"
        case .targetTooLong: return "request target too long"
        case .invalidRequestLine: return "malformed request line"
        case .invalidMethod: return "malformed method"
        case .invalidTarget: return "malformed request target"
        case .invalidVersion: return "malformed HTTP version"
        case .unsupportedVersion: return "HTTP version not supported"
        case .invalidStatusLine: return "malformed status line"
        case .invalidFieldName: return "malformed header field name"
        case .invalidFieldValue: return "malformed header field value"
        case .obsoleteLineFolding: return "obsolete line folding is not accepted"
        case .missingHost: return "missing Host header"
        case .duplicateHost: return "more than one Host header"
        case .invalidHost: return "malformed Host header"
        case .invalidContentLength: return "malformed Content-Length"
        case .conflictingContentLength: return "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: return "both Content-Length and Transfer-Encoding"
        case .invalidTransferEncoding: return "malformed Transfer-Encoding"
        case .unsupportedTransferCoding: return "transfer coding not implemented"
        case .transferEncodingInHTTP10: return "Transfer-Encoding in an HTTP/1.0 message"
        case .invalidChunkSize: return "malformed chunk size"
        case .chunkExtensionTooLong: return "chunk extension too long"
        case .invalidChunkFraming: return "malformed chunked framing"
        case .trailerSectionTooLarge: return "trailer section too large"
        case .bodyTooLarge: return "request body too large"
        case .unsupportedExpectation: return "only Expect: 100-continue is supported"
        case .connectNotSupported: return "CONNECT is not served by this reverse proxy"
        case .truncatedBody: return "message body ended before its declared length"
        }
    }
}
