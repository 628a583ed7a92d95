import W3CTraceContext

/// One finished span, as recorded on the request path and handed to an exporter.
/// Plain values; times are nanoseconds since the Unix epoch.
public struct SpanRecord: Sendable, Equatable {
    /// `Span.SpanKind`. The proxy records SERVER and CLIENT spans; received spans may
    /// have any kind.
    public enum Kind: Int, Sendable {
        case unspecified = 0
        case `internal` = 1
        case server = 2
        case client = 3
        case producer = 4
        case consumer = 5
    }

    public enum Status: Sendable, Equatable {
        case unset
        case ok
        case error(String)
    }

    public var traceID: TraceID
    public var spanID: SpanID
    public var parentSpanID: SpanID?
    public var traceState: String?
    public var flags: TraceFlags
    public var kind: Kind
    public var name: String
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var status: Status
    public var attributes: [SpanAttribute]
    public var events: [SpanEvent]
    public var links: [SpanLink]

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, traceState: String? = nil,
        flags: TraceFlags, kind: Kind, name: String, startNanoseconds: UInt64, endNanoseconds: UInt64,
        status: Status = .unset, attributes: [SpanAttribute] = [], events: [SpanEvent] = [], links: [SpanLink] = []
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.traceState = traceState
        self.flags = flags
        self.kind = kind
        self.name = name
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        self.status = status
        self.attributes = attributes
        self.events = events
        self.links = links
    }
}

/// A span or resource attribute. Integers stay integers (semantic conventions).
public struct SpanAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case double(Double)
    }

    /// Longest string value kept; longer ones are cut (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT).
    public static let maxStringLength = 4096

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        if case .string(let text) = value, text.utf8.count > Self.maxStringLength {
            self.value = .string(String(decoding: AttributeLimit.capped(Array(text.utf8)[...]), as: UTF8.self))
        } else {
            self.value = value
        }
    }

    public static func string(_ key: String, _ value: String) -> SpanAttribute { SpanAttribute(key, .string(value)) }
    public static func int(_ key: String, _ value: Int) -> SpanAttribute { SpanAttribute(key, .int(Int64(value))) }
    public static func bool(_ key: String, _ value: Bool) -> SpanAttribute { SpanAttribute(key, .bool(value)) }
}

/// A timestamped event on a span (connection established, first response byte).
public struct SpanEvent: Sendable, Equatable {
    public var name: String
    public var timeNanoseconds: UInt64
    public var attributes: [SpanAttribute]

    public init(name: String, timeNanoseconds: UInt64, attributes: [SpanAttribute] = []) {
        self.name = name
        self.timeNanoseconds = timeNanoseconds
        self.attributes = attributes
    }
}

/// `Span.Link`: another span this one relates to without being its child (the
/// incoming context a new trace set aside, for one).
public struct SpanLink: Sendable, Equatable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var traceState: String?
    public var flags: TraceFlags
    public var attributes: [SpanAttribute]

    public init(traceID: TraceID, spanID: SpanID, traceState: String? = nil, flags: TraceFlags, attributes: [SpanAttribute] = []) {
        self.traceID = traceID
        self.spanID = spanID
        self.traceState = traceState
        self.flags = flags
        self.attributes = attributes
    }
}

/// Who produced the spans: `service.name` and the rest of the OTel resource.
public struct TraceResource: Sendable, Equatable {
    public var attributes: [SpanAttribute]

    public init(attributes: [SpanAttribute]) {
        self.attributes = attributes
    }

    public var serviceName: String? {
        for attribute in attributes where attribute.key == "service.name" {
            if case .string(let name) = attribute.value { return name }
        }
        return nil
    }
}

/// The instrumentation scope spans are reported under.
public enum TracingScope {
    public static let name = "hoptrace"
    public static let version = "0.1.0"
}
