import HTTP1
import W3CTraceContext

/// `request_id:`: the id a request carries through the proxy. Kept when a trusted peer
/// sent exactly one valid value; otherwise the trace id (a random id when tracing is
/// disabled), so that a user can paste it into a trace search. Sent upstream, returned
/// to the client, written in the access log and on the SERVER span.
enum RequestID {
    /// The request id feature is off.
    case none
    /// The 32 lowercase hex digits of an id (the trace id, or a random one), written
    /// once and copied from here to each place the id goes.
    case id(HexID)
    /// The received value, where it lies in the request head's bytes.
    case received(Range<Int>)

    /// The field's name, lowercase, as configured. A class: configuration hands it to
    /// every request, one reference rather than three.
    final class Field: Sendable {
        let name: String
        let lowercased: [UInt8]
        /// `http.request.header.{name}`, the SERVER span's attribute.
        let attributeKey: String
        /// `x-request-id`, whose attribute name is a literal (no string per span).
        let isDefault: Bool

        init(_ name: String) {
            self.name = name
            lowercased = Array(name.lowercased().utf8)
            attributeKey = "http.request.header.\(name.lowercased())"
            isDefault = name.lowercased() == "x-request-id"
        }

        /// Whether `field` of `head` has this name (fields the proxy knows never do).
        func names(_ field: HeaderField, in bytes: [UInt8]) -> Bool {
            field.kind == .other && field.isNamed(lowercased, in: bytes)
        }
    }

    /// The longest value kept as received.
    static let maxLength = 200

    /// Decides the id of a request: the received value when `trusted` and it is the only
    /// one and valid (1 to 200 visible ASCII characters), else `fallback`.
    static func decide(_ head: RequestHead, field: Field, trusted: @autoclosure () -> Bool, fallback: HexID) -> RequestID {
        var found: Range<Int>?
        var count = 0
        for headerField in head.fields where field.names(headerField, in: head.bytes) {
            found = headerField.value
            count += 1
        }
        if count == 1, let found, isValid(head.bytes[found]), trusted() { return .received(found) }
        return .id(fallback)
    }

    static func isValid(_ value: ArraySlice<UInt8>) -> Bool {
        !value.isEmpty && value.count <= maxLength && value.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

}

extension Exchange {
    /// Writes `{name}: {request id}\r\n` (nothing when off). The head's bytes are read
    /// only for a received id.
    func writeRequestID(_ field: RequestID.Field, into writer: inout HeadWriter) {
        switch requestID {
        case .none: return
        case .id(let id):
            writer.append(field.name)
            writer.append(": ")
            withUnsafeBytes(of: id.digits) { digits in
                writer.append(count: 34) { out in
                    out.update(from: digits.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 32)
                    out[32] = UInt8(ascii: "\r")
                    out[33] = UInt8(ascii: "\n")
                }
            }
        case .received(let range):
            writer.append(field.name)
            writer.append(": ")
            writer.append(head.bytes, range)
            writer.appendCRLF()
        }
    }

    /// Runs `body` with the request id's bytes (nothing when off).
    func withRequestID(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch requestID {
        case .none: return
        case .id(let id): withUnsafeBytes(of: id.digits) { body($0) }
        case .received(let range): head.bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
    }

    /// The request id as text (the access log), nil when off.
    var requestIDText: String? {
        var text: String?
        withRequestID { text = String(decoding: $0, as: UTF8.self) }
        return text
    }
}

/// An id's 32 hex digits, inline (no allocation, copied as plain bytes).
struct HexID {
    var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// All zero bytes (no id).
    init() {}

    init(_ id: TraceID) {
        withUnsafeMutableBytes(of: &digits) { buffer in
            _ = withUnsafeBytes(of: id.bytes) {
                HeadWriter.writeHex($0, to: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
    }
}
