#if canImport(Glibc)
import Glibc
#endif

// What the exporter reads in a collector's answer: protobuf fields of an
// `ExportTraceServiceResponse` (partial success) and the HTTP-date of `Retry-After`.

/// Reads protobuf fields (for the collector's response).
struct WireReader {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case other
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    mutating func next() -> (Int, Value)? {
        guard index < bytes.count, let key = varint() else { return nil }
        switch key & 7 {
        case 0:
            guard let value = varint() else { return nil }
            return (Int(key >> 3), .varint(value))
        case 1:
            index += 8
            return index <= bytes.count ? (Int(key >> 3), .other) : nil
        case 2:
            guard let length = varint(), index + Int(length) <= bytes.count else { return nil }
            defer { index += Int(length) }
            return (Int(key >> 3), .bytes(Array(bytes[index..<(index + Int(length))])))
        case 5:
            index += 4
            return index <= bytes.count ? (Int(key >> 3), .other) : nil
        default:
            return nil
        }
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) → seconds since the epoch.
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ text: String) -> Int? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: parts[2].lowercased()), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(clock[0])
        fields.tm_min = Int32(clock[1])
        fields.tm_sec = Int32(clock[2])
        return Int(timegm(&fields))
    }
}
