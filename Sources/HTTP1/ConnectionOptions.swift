/// What the `Connection` fields of a head say (RFC 9110 §7.6.1), read together.
///
/// `close`, `keep-alive` and `upgrade` are noted; every other token names a hop-by-hop
/// field to remove, except Content-Length, Transfer-Encoding and Host, which a
/// `Connection` header must never make a proxy drop (the token is ignored).
struct ConnectionOptions {
    var close = false
    var keepAlive = false
    var upgrade = false
    /// Tokens naming fields to remove when forwarding.
    var fieldNames: [Range<Int>] = []

    mutating func add(_ head: UnsafeRawBufferPointer, _ value: Range<Int>) throws(HTTPParseError) {
        try FieldValues.forEachElement(head, value) { (token: Range<Int>) throws(HTTPParseError) in
            if token.isEmpty { return }
            for position in token where !ASCII.isToken(head[position]) { throw .invalidFieldValue }
            if FieldValues.equalsLowercase(head, token, "close") {
                close = true
            } else if FieldValues.equalsLowercase(head, token, "keep-alive") {
                keepAlive = true
            } else if FieldValues.equalsLowercase(head, token, "upgrade") {
                upgrade = true
            } else {
                let kind = FieldKind.classify(UnsafeRawBufferPointer(rebasing: head[token]))
                if kind == .contentLength || kind == .transferEncoding || kind == .host { return }
                fieldNames.append(token)
            }
        }
    }

    /// Whether `field`'s name is one of `names` (case-insensitive), all within `bytes`.
    static func names(_ names: [Range<Int>], in bytes: [UInt8], include field: HeaderField) -> Bool {
        names.contains { option in
            option.count == field.name.count
                && zip(bytes[option], bytes[field.name]).allSatisfy { ASCII.lowercased($0) == ASCII.lowercased($1) }
        }
    }
}
