/// A wire-format reader for tests, written from the protocol buffers encoding spec and
/// independent of the encoder: it splits a message into (field number, value) pairs.
struct ProtobufMessage {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])
    }

    var fields: [(number: Int, value: Value)] = []

    init?(_ bytes: [UInt8]) {
        var index = 0
        func readVarint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }
        while index < bytes.count {
            guard let key = readVarint() else { return nil }
            let number = Int(key >> 3)
            switch key & 7 {
            case 0:
                guard let value = readVarint() else { return nil }
                fields.append((number, .varint(value)))
            case 1:
                guard index + 8 <= bytes.count else { return nil }
                var value: UInt64 = 0
                for offset in 0..<8 { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
                index += 8
                fields.append((number, .fixed64(value)))
            case 2:
                guard let length = readVarint(), index + Int(length) <= bytes.count else { return nil }
                fields.append((number, .bytes(Array(bytes[index..<(index + Int(length))]))))
                index += Int(length)
            case 5:
                guard index + 4 <= bytes.count else { return nil }
                var value: UInt32 = 0
                for offset in 0..<4 { value |= UInt32(bytes[index + offset]) << (8 * UInt32(offset)) }
                index += 4
                fields.append((number, .fixed32(value)))
            default:
                return nil
            }
        }
    }

    func all(_ number: Int) -> [Value] { fields.filter { $0.number == number }.map(\.value) }

    func message(_ number: Int) -> ProtobufMessage? {
        guard case .bytes(let bytes)? = all(number).first else { return nil }
        return ProtobufMessage(bytes)
    }

    func messages(_ number: Int) -> [ProtobufMessage] {
        all(number).compactMap { if case .bytes(let bytes) = $0 { ProtobufMessage(bytes) } else { nil } }
    }

    func string(_ number: Int) -> String? {
        guard case .bytes(let bytes)? = all(number).first else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func bytes(_ number: Int) -> [UInt8]? {
        guard case .bytes(let bytes)? = all(number).first else { return nil }
        return bytes
    }

    func varint(_ number: Int) -> UInt64? {
        guard case .varint(let value)? = all(number).first else { return nil }
        return value
    }

    func fixed64(_ number: Int) -> UInt64? {
        guard case .fixed64(let value)? = all(number).first else { return nil }
        return value
    }

    func fixed32(_ number: Int) -> UInt32? {
        guard case .fixed32(let value)? = all(number).first else { return nil }
        return value
    }

    /// KeyValue list → [key: AnyValue message].
    func keyValues(_ number: Int) -> [String: ProtobufMessage] {
        var result: [String: ProtobufMessage] = [:]
        for pair in messages(number) {
            if let key = pair.string(1), let value = pair.message(2) { result[key] = value }
        }
        return result
    }
}
