/// Attribute values as text, for the `key=value` filter: strings as they are, integers
/// in decimal, booleans as `true`/`false`, doubles as Swift prints them. Arrays, maps
/// and bytes have no text form here and never match.
enum AttributeText {
    /// The text of the value of the `KeyValue` at `keyValue`.
    static func value(_ bytes: [UInt8], inKeyValue keyValue: Range<Int>) -> String? {
        var reader = ProtobufReader(bytes, range: keyValue)
        var text: String?
        while let (field, value) = (try? reader.next()) ?? nil {
            if field == 2, case .bytes(let any) = value { text = self.value(bytes, any: any) }
        }
        return text
    }

    /// The text of an `AnyValue`.
    static func value(_ bytes: [UInt8], any: Range<Int>) -> String? {
        var reader = ProtobufReader(bytes, range: any)
        var text: String?
        while let (field, value) = (try? reader.next()) ?? nil {
            switch (field, value) {
            case (1, .bytes(let string)): text = String(decoding: bytes[string], as: UTF8.self)
            case (2, .varint(let flag)): text = flag != 0 ? "true" : "false"
            case (3, .varint(let number)): text = String(Int64(bitPattern: number))
            case (4, .fixed64(let bits)): text = "\(Double(bitPattern: bits))"
            case (5, _), (6, _), (7, _): text = nil
            default: break
            }
        }
        return text
    }

    /// Calls `body` with the key and text of every attribute (field `field`) of the
    /// message at `range`.
    static func forEach(_ bytes: [UInt8], in range: Range<Int>, field wanted: Int, _ body: (ArraySlice<UInt8>, String) -> Void) {
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard field == wanted, case .bytes(let keyValue) = value, let text = self.value(bytes, inKeyValue: keyValue) else { continue }
            body(SpanFacts.string(bytes, in: keyValue, field: 1), text)
        }
    }

    /// FNV-1a of `key=value`: the attribute index holds these.
    static func hash<Key: Sequence<UInt8>>(key: Key, value: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        for byte in key { mix(byte) }
        mix(UInt8(ascii: "="))
        for byte in value.utf8 { mix(byte) }
        return hash
    }
}
