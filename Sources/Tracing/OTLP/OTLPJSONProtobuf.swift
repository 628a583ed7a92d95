/// Turns OTLP/JSON into OTLP protobuf, so that the receiver reads, stores and forwards
/// one form whichever a sender used.
///
/// As the OTLP specification's JSON mapping says: ids are hex (either case), enums are
/// integers (their names are also taken), 64-bit integers are decimal strings or
/// numbers, field names are lowerCamelCase (protobuf's snake_case names are also taken),
/// unknown fields are ignored and `null` means absent. A value of the wrong type is an
/// error naming where it is.
enum OTLPJSONProtobuf {
    /// An `ExportTraceServiceRequest` in JSON, as protobuf.
    static func traceRequest(_ json: JSONValue) throws(OTLPDecodingError) -> [UInt8] {
        var writer = ProtobufWriter(capacity: 4096)
        try write(json, as: .exportTraceServiceRequest, into: &writer, path: "")
        return writer.finish()
    }

    static func write(_ json: JSONValue, as message: OTLPMessage, into writer: inout ProtobufWriter, path: String) throws(OTLPDecodingError) {
        guard case .object(let members) = json else {
            throw OTLPDecodingError(path: path, reason: "expected an object")
        }
        for (key, value) in members {
            guard let field = message.field(jsonName: key), value != .null else { continue }
            let fieldPath = (path.isEmpty ? "" : path + ".") + field.name
            if field.repeated {
                guard case .array(let elements) = value else {
                    throw OTLPDecodingError(path: fieldPath, reason: "expected an array")
                }
                for (index, element) in elements.enumerated() where element != .null {
                    try writeField(element, field, into: &writer, path: "\(fieldPath)[\(index)]")
                }
            } else {
                try writeField(value, field, into: &writer, path: fieldPath)
            }
        }
    }

    private static func writeField(_ value: JSONValue, _ field: OTLPField, into writer: inout ProtobufWriter, path: String) throws(OTLPDecodingError) {
        func fail(_ reason: String) -> OTLPDecodingError { OTLPDecodingError(path: path, reason: reason) }
        switch field.kind {
        case .string:
            guard case .string(let text) = value else { throw fail("expected a string") }
            writer.stringField(field.number, text, evenIfEmpty: field.oneof)
        case .id:
            guard case .string(let text) = value else { throw fail("expected a hex string") }
            guard let bytes = HexDigits.decode(text) else { throw fail("'\(text.prefix(40))' is not hex") }
            if !bytes.isEmpty { bytes.withUnsafeBytes { writer.bytesField(field.number, $0) } }
        case .bytes:
            guard case .string(let text) = value, let bytes = Base64.decode(text) else { throw fail("expected base64") }
            bytes.withUnsafeBytes { writer.bytesField(field.number, $0) }
        case .uint32:
            writer.int64Field(field.number, Int64(try integer(value, in: 0...Int64(UInt32.max), path)))
        case .int64:
            writer.int64Field(field.number, try integer(value, in: Int64.min...Int64.max, path))
        case .fixed64:
            writer.fixed64Field(field.number, try unsigned64(value, path))
        case .fixed32:
            writer.fixed32Field(field.number, UInt32(try integer(value, in: 0...Int64(UInt32.max), path)))
        case .double:
            writer.doubleField(field.number, try double(value, path))
        case .bool:
            guard case .bool(let flag) = value else { throw fail("expected true or false") }
            writer.boolField(field.number, flag)
        case .enumeration(let names):
            if case .string(let name) = value, let number = names.firstIndex(of: name) {
                writer.int64Field(field.number, Int64(number))
            } else {
                writer.int64Field(field.number, try integer(value, in: Int64(Int32.min)...Int64(Int32.max), path))
            }
        case .message(let inner):
            var failure: OTLPDecodingError?
            writer.messageField(field.number) { nested in
                do throws(OTLPDecodingError) { try write(value, as: inner, into: &nested, path: path) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// An integer given as a number or a decimal string (`"1544712660000000000"`).
    private static func integer(_ value: JSONValue, in range: ClosedRange<Int64>, _ path: String) throws(OTLPDecodingError) -> Int64 {
        let text: String
        switch value {
        case .number(let number), .string(let number): text = number
        default: throw OTLPDecodingError(path: path, reason: "expected an integer")
        }
        if let exact = Int64(text), range.contains(exact) { return exact }
        // 1e3 or 12.0 are integers too; beyond 2^53 a double is not exact, so not taken.
        if let number = Double(text), number.rounded() == number, abs(number) <= 9_007_199_254_740_992,
            range.contains(Int64(number))
        {
            return Int64(number)
        }
        throw OTLPDecodingError(path: path, reason: "'\(text.prefix(40))' is not an integer from \(range.lowerBound) to \(range.upperBound)")
    }

    private static func unsigned64(_ value: JSONValue, _ path: String) throws(OTLPDecodingError) -> UInt64 {
        if case .string(let text) = value, let exact = UInt64(text) { return exact }
        if case .number(let text) = value, let exact = UInt64(text) { return exact }
        return UInt64(try integer(value, in: 0...Int64.max, path))
    }

    private static func double(_ value: JSONValue, _ path: String) throws(OTLPDecodingError) -> Double {
        switch value {
        case .number(let text):
            if let number = Double(text) { return number }
        case .string(let text):
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: if let number = Double(text), number.isFinite { return number }
            }
        default: break
        }
        throw OTLPDecodingError(path: path, reason: "expected a number")
    }
}
