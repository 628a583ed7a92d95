/// Parsers for the values of the fields that decide framing and routing.
enum FieldValues {
    /// Calls `body` with each element of a comma-separated list (RFC 9110 §5.6.1),
    /// trimmed of SP/HTAB. Empty elements are passed too; callers decide.
    static func forEachElement(
        _ head: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        _ body: (Range<Int>) throws(HTTPParseError) -> Void
    ) throws(HTTPParseError) {
        var start = range.lowerBound
        var index = start
        while true {
            if index == range.upperBound || head[index] == ASCII.comma {
                var lower = start
                var upper = index
                while lower < upper, ASCII.isWhitespace(head[lower]) { lower += 1 }
                while upper > lower, ASCII.isWhitespace(head[upper - 1]) { upper -= 1 }
                try body(lower..<upper)
                if index == range.upperBound { return }
                start = index + 1
            }
            index += 1
        }
    }

    /// Content-Length = 1*DIGIT (RFC 9110 §8.6). No sign, no hex, no inner space;
    /// leading zeros are decimal; overflow is an error. A list of identical values
    /// (`5, 5`) collapses to one; differing values are an error.
    static func contentLength(_ head: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) -> UInt64 {
        var result: UInt64?
        try forEachElement(head, range) { (element: Range<Int>) throws(HTTPParseError) in
            guard !element.isEmpty else { throw .invalidContentLength }
            var value: UInt64 = 0
            for index in element {
                let byte = head[index]
                guard byte >= 0x30, byte <= 0x39 else { throw .invalidContentLength }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
                guard !overflow1, !overflow2, sum <= UInt64(Int64.max) else { throw .invalidContentLength }
                value = sum
            }
            if let previous = result, previous != value { throw .conflictingContentLength }
            result = value
        }
        guard let result else { throw .invalidContentLength }
        return result
    }

    /// What a Transfer-Encoding list says about framing (RFC 9112 §6.1, §7).
    enum TransferCoding: Equatable {
        /// `chunked` is the final coding, and the only one.
        case chunked
        /// `chunked` is final but other codings precede it (e.g. `gzip, chunked`).
        case chunkedWithOtherCodings
        /// `chunked` is absent or not final.
        case notChunked
    }

    /// Parses the Transfer-Encoding values of a head (all lines taken together).
    /// `chunked` may appear at most once and carries no parameters; coding names are
    /// tokens, compared case-insensitively.
    static func transferCoding(_ head: UnsafeRawBufferPointer, _ ranges: [Range<Int>]) throws(HTTPParseError) -> TransferCoding {
        var chunkedCount = 0
        var lastIsChunked = false
        var codings = 0
        for range in ranges {
            try forEachElement(head, range) { (element: Range<Int>) throws(HTTPParseError) in
                guard !element.isEmpty else { throw .invalidTransferEncoding }
                // A coding is a token, optionally followed by parameters.
                var nameEnd = element.lowerBound
                while nameEnd < element.upperBound, ASCII.isToken(head[nameEnd]) { nameEnd += 1 }
                guard nameEnd > element.lowerBound else { throw .invalidTransferEncoding }
                let hasParameters = nameEnd < element.upperBound
                if hasParameters {
                    var rest = nameEnd
                    while rest < element.upperBound, ASCII.isWhitespace(head[rest]) { rest += 1 }
                    guard rest < element.upperBound, head[rest] == ASCII.semicolon else {
                        throw .invalidTransferEncoding
                    }
                }
                codings += 1
                let isChunked = equalsLowercase(head, element.lowerBound..<nameEnd, "chunked")
                if isChunked {
                    if hasParameters { throw .invalidTransferEncoding }
                    chunkedCount += 1
                }
                lastIsChunked = isChunked
            }
        }
        if chunkedCount > 1 { throw .invalidTransferEncoding }
        if !lastIsChunked { return .notChunked }
        return codings == 1 ? .chunked : .chunkedWithOtherCodings
    }

    /// Host = uri-host [ ":" port ] (RFC 9110 §7.2), where uri-host is an IP-literal
    /// in brackets or a reg-name (unreserved / pct-encoded / sub-delims, without `,`
    /// which would make it a list). userinfo (`@`) is not allowed.
    static func isValidHost(_ head: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        var index = range.lowerBound
        if head[index] == UInt8(ascii: "[") {
            while index < range.upperBound, head[index] != UInt8(ascii: "]") {
                let byte = head[index]
                guard byte == UInt8(ascii: "[") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
                    || ASCII.hexValue(byte) != nil || byte == UInt8(ascii: "v") else { return false }
                index += 1
            }
            guard index < range.upperBound else { return false }
            index += 1
        } else {
            while index < range.upperBound, head[index] != ASCII.colon {
                guard isRegNameByte(head[index]) else { return false }
                index += 1
            }
        }
        guard index < range.upperBound else { return true }
        guard head[index] == ASCII.colon else { return false }
        index += 1
        let digits = range.upperBound - index
        guard digits <= 5 else { return false }
        while index < range.upperBound {
            guard head[index] >= 0x30, head[index] <= 0x39 else { return false }
            index += 1
        }
        return true
    }

    /// unreserved / pct-encoded's "%" / sub-delims without ",": ALPHA, DIGIT and
    /// `-._~%!$&'()*+;=`, as a bitmap (`ASCII.isMember`).
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        ASCII.isMember(byte, low: 0x2BFF_6FF2_0000_0000, high: 0x47FF_FFFE_87FF_FFFE)
    }

    /// Whether the bytes in `range` are `lower` ignoring case (`ASCII.equalsIgnoringCase`,
    /// whose rule `lower` follows: no uppercase letter, no byte above `z`).
    static func equalsLowercase(_ head: UnsafeRawBufferPointer, _ range: Range<Int>, _ lower: StaticString) -> Bool {
        guard range.count == lower.utf8CodeUnitCount else { return false }
        return ASCII.equalsIgnoringCase(
            UnsafeRawBufferPointer(rebasing: head[range]),
            UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount))
    }
}
