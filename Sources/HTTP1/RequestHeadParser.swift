/// Parses a complete request head (as delimited by `HeadScanner`) strictly, per
/// RFC 9112 §3 (request line), §5 (fields), §6 (framing) and §9.3 (persistence).
public struct RequestHeadParser: Sendable {
    public var limits: HTTPLimits

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// Parses `bytes`, which hold exactly one head ending in CRLF CRLF.
    public func parse(_ bytes: [UInt8]) throws(HTTPParseError) -> RequestHead {
        var head: RequestHead?
        var failure: HTTPParseError?
        bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                head = try parse(buffer, keeping: bytes)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return head!
    }

    private func parse(_ head: UnsafeRawBufferPointer, keeping bytes: [UInt8]) throws(HTTPParseError) -> RequestHead {
        // request-line = method SP request-target SP HTTP-version CRLF (§3)
        var index = 0
        while index < head.count, head[index] != ASCII.space, head[index] != ASCII.cr { index += 1 }
        let method = 0..<index
        guard !method.isEmpty else { throw .invalidRequestLine }
        for position in method where !ASCII.isToken(head[position]) { throw .invalidMethod }
        guard index < head.count, head[index] == ASCII.space else { throw .invalidRequestLine }
        index += 1
        let targetStart = index
        // A word at a time over the bytes a target may hold (none is SP or CR), then
        // byte by byte past any it may not (RequestTarget.parse rejects those).
        index = WordSearch.firstNonTargetByte(in: head, from: index)
        while index < head.count, head[index] != ASCII.space, head[index] != ASCII.cr { index += 1 }
        let target = targetStart..<index
        guard !target.isEmpty else { throw .invalidRequestLine }
        // HTTP/0.9's "GET /" has no version: reject.
        guard index < head.count, head[index] == ASCII.space else { throw .invalidVersion }
        index += 1
        let versionStart = index
        while index < head.count, head[index] != ASCII.cr { index += 1 }
        let versionRange = versionStart..<index
        for position in versionRange where head[position] == ASCII.space { throw .invalidRequestLine }
        guard let version = HTTPVersion.parse(head, versionRange), version.major >= 1 else {
            throw .invalidVersion
        }
        guard version.major == 1 else { throw .unsupportedVersion }
        index += 2

        let methodKind = HTTPMethod.classify(head, method)
        if methodKind == .connect { throw .connectNotSupported }
        let form = try RequestTarget.parse(head, target, method: methodKind)

        var fields: [HeaderField] = []
        fields.reserveCapacity(16)
        try FieldLineParser.parse(head, from: index, maxFieldCount: limits.maxHeaderCount, into: &fields)

        // Interpret the fields the proxy decides on.
        var hostField: Range<Int>?
        var framingFields = FramingFields()
        var connection = ConnectionOptions()
        var upgradeValue: Range<Int>?
        var expectsContinue = false
        for field in fields {
            switch field.kind {
            case .host:
                if hostField != nil { throw .duplicateHost }
                guard FieldValues.isValidHost(head, field.value) else { throw .invalidHost }
                hostField = field.value
            case .contentLength, .transferEncoding:
                try framingFields.add(head, field)
            case .connection:
                try connection.add(head, field.value)
            case .upgrade:
                upgradeValue = field.value
            case .expect:
                // RFC 9110 §10.1.1: a 100-continue from HTTP/1.0 is ignored.
                if version == .http10 { continue }
                try FieldValues.forEachElement(head, field.value) { (token: Range<Int>) throws(HTTPParseError) in
                    guard FieldValues.equalsLowercase(head, token, "100-continue") else {
                        throw .unsupportedExpectation
                    }
                    expectsContinue = true
                }
            default:
                continue
            }
        }

        let contentLength = framingFields.contentLength
        let transferEncodings = framingFields.transferEncodings

        // §3.2: an HTTP/1.1 request carries exactly one Host.
        if version.minor >= 1, hostField == nil { throw .missingHost }

        // §6.3: body length.
        let framing: RequestHead.Framing
        if !transferEncodings.isEmpty {
            if version == .http10 { throw .transferEncodingInHTTP10 }
            if contentLength != nil { throw .contentLengthWithTransferEncoding }
            switch try FieldValues.transferCoding(head, transferEncodings) {
            case .chunked: framing = .chunked
            case .chunkedWithOtherCodings: throw .unsupportedTransferCoding
            case .notChunked: throw .invalidTransferEncoding
            }
        } else if let contentLength {
            if limits.maxBodyBytes > 0, contentLength > limits.maxBodyBytes { throw .bodyTooLarge }
            framing = contentLength == 0 ? .none : .length(contentLength)
        } else {
            framing = .none
        }

        var upgrade: Range<Int>?
        if connection.upgrade, let upgradeValue, !upgradeValue.isEmpty {
            // h2c is never tunnelled: such a request is forwarded as a plain request.
            var isH2C = false
            try FieldValues.forEachElement(head, upgradeValue) { (token: Range<Int>) throws(HTTPParseError) in
                if FieldValues.equalsLowercase(head, token, "h2c") { isH2C = true }
            }
            if !isH2C { upgrade = upgradeValue }
        }

        return RequestHead(
            bytes: bytes, method: method, methodKind: methodKind, target: target, path: form.path,
            query: form.query, version: version, fields: fields, host: form.authority ?? hostField,
            framing: framing, keepAlive: version.minor >= 1 && !connection.close,
            connectionOptions: connection.fieldNames, expectsContinue: expectsContinue, upgrade: upgrade
        )
    }
}

/// The forms of request-target (RFC 9112 §3.2) a reverse proxy accepts.
enum RequestTarget {
    struct Form {
        var path: Range<Int>
        var query: Range<Int>?
        var authority: Range<Int>?
    }

    static func parse(_ head: UnsafeRawBufferPointer, _ target: Range<Int>, method: HTTPMethod) throws(HTTPParseError) -> Form {
        // No whitespace, CTL, DEL, non-ASCII or fragment in a target.
        let targetBytes = UnsafeRawBufferPointer(rebasing: head[target])
        guard WordSearch.firstNonTargetByte(in: targetBytes, from: 0) == target.count else { throw .invalidTarget }
        let first = head[target.lowerBound]
        if first == UInt8(ascii: "/") {
            return splitPathAndQuery(head, target, authority: nil)
        }
        if target.count == 1, first == UInt8(ascii: "*") {
            // asterisk-form is only for OPTIONS (§3.2.4).
            guard method == .options else { throw .invalidTarget }
            return Form(path: target, query: nil, authority: nil)
        }
        // absolute-form (§3.2.2): http://authority/path?query
        for candidate in 0..<2 {
            // Chosen by index: an array literal of the two would be allocated on every call.
            let scheme: StaticString = candidate == 0 ? "http://" : "https://"
            let length = scheme.utf8CodeUnitCount
            guard target.count > length else { continue }
            let prefix = target.lowerBound..<(target.lowerBound + length)
            guard FieldValues.equalsLowercase(head, prefix, scheme) else { continue }
            var index = prefix.upperBound
            while index < target.upperBound, head[index] != UInt8(ascii: "/"), head[index] != UInt8(ascii: "?") {
                index += 1
            }
            let authority = prefix.upperBound..<index
            guard FieldValues.isValidHost(head, authority) else { throw .invalidTarget }
            return splitPathAndQuery(head, index..<target.upperBound, authority: authority)
        }
        throw .invalidTarget
    }

    private static func splitPathAndQuery(_ head: UnsafeRawBufferPointer, _ range: Range<Int>, authority: Range<Int>?) -> Form {
        let index = range.lowerBound + WordSearch.first(UInt8(ascii: "?"), in: UnsafeRawBufferPointer(rebasing: head[range]), from: 0)
        let query = index < range.upperBound ? (index + 1)..<range.upperBound : nil
        return Form(path: range.lowerBound..<index, query: query, authority: authority)
    }
}
