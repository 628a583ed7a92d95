/// A parsed response head, with the framing decided for the request it answers.
public struct ResponseHead: Sendable {
    /// How the response body is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Equatable {
        case none
        case length(UInt64)
        case chunked
        case untilClose
    }

    public var bytes: [UInt8]
    public var version: HTTPVersion
    public var status: Int
    public var reason: Range<Int>
    public var fields: [HeaderField]
    public var framing: Framing
    /// Whether the upstream connection may carry another request after this response:
    /// false on `Connection: close`, on HTTP/1.0 without keep-alive, on close-delimited
    /// bodies, and when framing was ambiguous (Transfer-Encoding with Content-Length).
    public var reusable: Bool
    /// Field names listed in `Connection` (hop-by-hop), except framing fields.
    public var connectionOptions: [Range<Int>]

    public var isInterim: Bool { status >= 100 && status < 200 }

    public func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    public func value(of kind: FieldKind) -> String? {
        fields.first { $0.kind == kind }.map { string($0.value) }
    }

    /// True when `field` is named by this response's `Connection` header.
    public func isConnectionOption(_ field: HeaderField) -> Bool {
        ConnectionOptions.names(connectionOptions, in: bytes, include: field)
    }
}

/// Parses a complete response head strictly. The proxy answers every failure with 502.
public struct ResponseHeadParser: Sendable {
    public var limits: HTTPLimits

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// - Parameter requestMethod: the method of the request this answers; a response to
    ///   HEAD has no body whatever its fields say.
    public func parse(_ bytes: [UInt8], requestMethod: HTTPMethod) throws(HTTPParseError) -> ResponseHead {
        var result: Result<ResponseHead, HTTPParseError> = .failure(.invalidStatusLine)
        bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                result = .success(try parse(buffer, keeping: bytes, requestMethod: requestMethod))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private func parse(
        _ head: UnsafeRawBufferPointer, keeping bytes: [UInt8], requestMethod: HTTPMethod
    ) throws(HTTPParseError) -> ResponseHead {
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (§4).
        // A missing SP after the code is tolerated: it changes no framing.
        guard head.count >= 14, let version = HTTPVersion.parse(head, 0..<8), version.major == 1,
            head[8] == ASCII.space
        else { throw .invalidStatusLine }
        var status = 0
        for index in 9..<12 {
            let byte = head[index]
            guard byte >= 0x30, byte <= 0x39 else { throw .invalidStatusLine }
            status = status * 10 + Int(byte - 0x30)
        }
        guard status >= 100 else { throw .invalidStatusLine }
        var index = 12
        if head[index] == ASCII.space { index += 1 } else if head[index] != ASCII.cr { throw .invalidStatusLine }
        let reasonStart = index
        while head[index] != ASCII.cr {
            guard ASCII.isFieldValueByte(head[index]) else { throw .invalidStatusLine }
            index += 1
        }
        let reason = reasonStart..<index
        index += 2

        var fields: [HeaderField] = []
        fields.reserveCapacity(16)
        try FieldLineParser.parse(head, from: index, maxFieldCount: limits.maxHeaderCount, into: &fields)

        var framingFields = FramingFields()
        var connection = ConnectionOptions()
        for field in fields {
            switch field.kind {
            case .contentLength, .transferEncoding:
                try framingFields.add(head, field)
            case .connection:
                try connection.add(head, field.value)
            default:
                continue
            }
        }

        let contentLength = framingFields.contentLength
        let transferEncodings = framingFields.transferEncodings
        var reusable = version.minor >= 1 ? !connection.close : connection.keepAlive && !connection.close
        let framing: ResponseHead.Framing
        if requestMethod == .head || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if !transferEncodings.isEmpty {
            if version == .http10 { throw .transferEncodingInHTTP10 }
            switch try FieldValues.transferCoding(head, transferEncodings) {
            case .chunked:
                framing = .chunked
                // Both framings: frame by TE, drop CL, and do not reuse the connection.
                if contentLength != nil { reusable = false }
            case .chunkedWithOtherCodings:
                throw .unsupportedTransferCoding
            case .notChunked:
                framing = .untilClose
                reusable = false
            }
        } else if let contentLength {
            framing = contentLength == 0 ? .none : .length(contentLength)
        } else {
            framing = .untilClose
            reusable = false
        }

        return ResponseHead(
            bytes: bytes, version: version, status: status, reason: reason, fields: fields,
            framing: framing, reusable: reusable, connectionOptions: connection.fieldNames
        )
    }
}
