import HTTP1
import W3CTraceContext

/// `request_id:`: the id a request carries through the proxy. Kept when a trusted peer
/// sent exactly one valid value; otherwise the trace id (a random id when tracing is
/// disabled), so that a user can paste it into a trace search. Sent upstream, returned
/// to the client, written in the access log and on the SERVER span.
enum RequestID {
    /// The request id feature is off.
    case none
    /// 32 lowercase hex digits of this id (the trace id, or a random one).
    case id(TraceID)
    /// The received value, where it lies in the request head's bytes.
    case received(Range<Int>)

    /// The field's name, lowercase, as configured.
    struct Field: Sendable {
        let name: String
        let lowercased: [UInt8]
        /// `http.request.header.{name}`, the SERVER span's attribute.
        let attributeKey: String

        init(_ name: String) {
            self.name = name
            lowercased = Array(name.lowercased().utf8)
            attributeKey = "http.request.header.\(name.lowercased())"
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
    static func decide(_ head: RequestHead, field: Field?, trusted: @autoclosure () -> Bool, fallback: () -> TraceID) -> RequestID {
        guard let field else { return .none }
        var found: Range<Int>?
        var count = 0
        for headerField in head.fields where field.names(headerField, in: head.bytes) {
            found = headerField.value
            count += 1
        }
        if count == 1, let found, isValid(head.bytes[found]), trusted() { return .received(found) }
        return .id(fallback())
    }

    static func isValid(_ value: ArraySlice<UInt8>) -> Bool {
        !value.isEmpty && value.count <= maxLength && value.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// Writes `{name}: {id}\r\n`.
    func writeField(_ field: Field, head: RequestHead, into writer: inout HeadWriter) {
        switch self {
        case .none: return
        case .id(let id):
            writer.append(field.name)
            writer.append(": ")
            writer.append(count: 34) { out in
                let end = withUnsafeBytes(of: id.bytes) { HeadWriter.writeHex($0, to: out) }
                end[0] = UInt8(ascii: "\r")
                end[1] = UInt8(ascii: "\n")
            }
        case .received(let range):
            writer.append(field.name)
            writer.append(": ")
            writer.append(head.bytes, range)
            writer.appendCRLF()
        }
    }

    /// The id as text (the access log, the span), nil when off.
    func text(head: RequestHead) -> String? {
        switch self {
        case .none: return nil
        case .id(let id): return id.description
        case .received(let range): return head.string(range)
        }
    }
}
