/// The messages of the OTLP trace protocol (opentelemetry-proto `trace/v1`,
/// `common/v1`, `resource/v1`, `collector/trace/v1`) as field tables: what the receiver
/// needs to check a protobuf request, to turn OTLP/JSON into protobuf and stored spans
/// back into OTLP/JSON. Fields not listed here are skipped when read (and kept in the
/// stored bytes), as protobuf asks of readers.
enum OTLPMessage: Sendable, Hashable {
    case exportTraceServiceRequest
    case resourceSpans
    case resource
    case scopeSpans
    case instrumentationScope
    case span
    case event
    case link
    case status
    case keyValue
    case anyValue
    case arrayValue
    case keyValueList

    var fields: [OTLPField] { OTLPSchema.fields[self]! }

    func field(number: Int) -> OTLPField? { OTLPSchema.byNumber[self]![number] }

    /// By its JSON name (lowerCamelCase) or its protobuf name (snake_case): protobuf's
    /// JSON parsers accept both, and some senders write the latter.
    func field(jsonName: String) -> OTLPField? { OTLPSchema.byName[self]![jsonName] }
}

/// One field: its number, its JSON name, what it holds.
struct OTLPField: Sendable {
    enum Kind: Sendable, Equatable {
        case string
        /// Bytes, base64 in JSON.
        case bytes
        /// A trace or span id: bytes, hex in JSON (an OTLP exception to protobuf's mapping).
        case id
        case uint32
        case int64
        case fixed64
        case fixed32
        case double
        case bool
        /// An enum, an integer in JSON; `names` are the value names, by number, also accepted.
        case enumeration(names: [String])
        case message(OTLPMessage)

        var wireType: ProtobufWriter.WireType {
            switch self {
            case .string, .bytes, .id, .message: return .lengthDelimited
            case .uint32, .int64, .bool, .enumeration: return .varint
            case .fixed64, .double: return .fixed64
            case .fixed32: return .fixed32
            }
        }
    }

    let number: Int
    let name: String
    let protoName: String
    let kind: Kind
    let repeated: Bool
    /// A member of a `oneof` (AnyValue): written even when it holds its default value.
    let oneof: Bool

    init(_ number: Int, _ name: String, _ protoName: String, _ kind: Kind, repeated: Bool = false, oneof: Bool = false) {
        self.number = number
        self.name = name
        self.protoName = protoName
        self.kind = kind
        self.repeated = repeated
        self.oneof = oneof
    }
}

enum OTLPSchema {
    static let spanKinds = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
    ]
    static let statusCodes = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]

    static let fields: [OTLPMessage: [OTLPField]] = [
        .exportTraceServiceRequest: [
            OTLPField(1, "resourceSpans", "resource_spans", .message(.resourceSpans), repeated: true),
        ],
        .resourceSpans: [
            OTLPField(1, "resource", "resource", .message(.resource)),
            OTLPField(2, "scopeSpans", "scope_spans", .message(.scopeSpans), repeated: true),
            OTLPField(3, "schemaUrl", "schema_url", .string),
        ],
        .resource: [
            OTLPField(1, "attributes", "attributes", .message(.keyValue), repeated: true),
            OTLPField(2, "droppedAttributesCount", "dropped_attributes_count", .uint32),
        ],
        .scopeSpans: [
            OTLPField(1, "scope", "scope", .message(.instrumentationScope)),
            OTLPField(2, "spans", "spans", .message(.span), repeated: true),
            OTLPField(3, "schemaUrl", "schema_url", .string),
        ],
        .instrumentationScope: [
            OTLPField(1, "name", "name", .string),
            OTLPField(2, "version", "version", .string),
            OTLPField(3, "attributes", "attributes", .message(.keyValue), repeated: true),
            OTLPField(4, "droppedAttributesCount", "dropped_attributes_count", .uint32),
        ],
        .span: [
            OTLPField(1, "traceId", "trace_id", .id),
            OTLPField(2, "spanId", "span_id", .id),
            OTLPField(3, "traceState", "trace_state", .string),
            OTLPField(4, "parentSpanId", "parent_span_id", .id),
            OTLPField(16, "flags", "flags", .fixed32),
            OTLPField(5, "name", "name", .string),
            OTLPField(6, "kind", "kind", .enumeration(names: spanKinds)),
            OTLPField(7, "startTimeUnixNano", "start_time_unix_nano", .fixed64),
            OTLPField(8, "endTimeUnixNano", "end_time_unix_nano", .fixed64),
            OTLPField(9, "attributes", "attributes", .message(.keyValue), repeated: true),
            OTLPField(10, "droppedAttributesCount", "dropped_attributes_count", .uint32),
            OTLPField(11, "events", "events", .message(.event), repeated: true),
            OTLPField(12, "droppedEventsCount", "dropped_events_count", .uint32),
            OTLPField(13, "links", "links", .message(.link), repeated: true),
            OTLPField(14, "droppedLinksCount", "dropped_links_count", .uint32),
            OTLPField(15, "status", "status", .message(.status)),
        ],
        .event: [
            OTLPField(1, "timeUnixNano", "time_unix_nano", .fixed64),
            OTLPField(2, "name", "name", .string),
            OTLPField(3, "attributes", "attributes", .message(.keyValue), repeated: true),
            OTLPField(4, "droppedAttributesCount", "dropped_attributes_count", .uint32),
        ],
        .link: [
            OTLPField(1, "traceId", "trace_id", .id),
            OTLPField(2, "spanId", "span_id", .id),
            OTLPField(3, "traceState", "trace_state", .string),
            OTLPField(4, "attributes", "attributes", .message(.keyValue), repeated: true),
            OTLPField(5, "droppedAttributesCount", "dropped_attributes_count", .uint32),
            OTLPField(6, "flags", "flags", .fixed32),
        ],
        .status: [
            OTLPField(2, "message", "message", .string),
            OTLPField(3, "code", "code", .enumeration(names: statusCodes)),
        ],
        .keyValue: [
            OTLPField(1, "key", "key", .string),
            OTLPField(2, "value", "value", .message(.anyValue)),
        ],
        .anyValue: [
            OTLPField(1, "stringValue", "string_value", .string, oneof: true),
            OTLPField(2, "boolValue", "bool_value", .bool, oneof: true),
            OTLPField(3, "intValue", "int_value", .int64, oneof: true),
            OTLPField(4, "doubleValue", "double_value", .double, oneof: true),
            OTLPField(5, "arrayValue", "array_value", .message(.arrayValue), oneof: true),
            OTLPField(6, "kvlistValue", "kvlist_value", .message(.keyValueList), oneof: true),
            OTLPField(7, "bytesValue", "bytes_value", .bytes, oneof: true),
        ],
        .arrayValue: [
            OTLPField(1, "values", "values", .message(.anyValue), repeated: true),
        ],
        .keyValueList: [
            OTLPField(1, "values", "values", .message(.keyValue), repeated: true),
        ],
    ]

    static let byNumber: [OTLPMessage: [Int: OTLPField]] = fields.mapValues { list in
        Dictionary(uniqueKeysWithValues: list.map { ($0.number, $0) })
    }

    static let byName: [OTLPMessage: [String: OTLPField]] = fields.mapValues { list in
        var names: [String: OTLPField] = [:]
        for field in list {
            names[field.name] = field
            names[field.protoName] = field
        }
        return names
    }

    /// Nesting deeper than this (arrays of arrays of …) is refused: a hostile message
    /// must not exhaust the stack.
    static let maxDepth = 48
}

/// Why a request body is not an OTLP message, with where in it the problem is
/// (`resourceSpans[0].scopeSpans[0].spans[2].traceId`).
public struct OTLPDecodingError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}
