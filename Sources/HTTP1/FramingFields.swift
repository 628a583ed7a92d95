/// The framing fields of a head, read together: Content-Length values (all equal, or an
/// error) and the Transfer-Encoding lines, decided on by the request and response parsers.
struct FramingFields {
    var contentLength: UInt64?
    var transferEncodings: [Range<Int>] = []

    mutating func add(_ head: UnsafeRawBufferPointer, _ field: HeaderField) throws(HTTPParseError) {
        if field.kind == .contentLength {
            let value = try FieldValues.contentLength(head, field.value)
            if let contentLength, contentLength != value { throw .conflictingContentLength }
            contentLength = value
        } else {
            transferEncodings.append(field.value)
        }
    }
}
