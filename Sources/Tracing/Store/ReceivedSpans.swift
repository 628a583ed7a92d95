/// An OTLP `ExportTraceServiceRequest` as the receiver read it: its spans grouped as
/// they came, one group per resource and scope, each with the facts the store indexes;
/// and the spans refused, by reason. Keeps the request's protobuf bytes, which the
/// spans point into (and which are forwarded as they are).
public struct ReceivedSpans: Sendable {
    public struct Group: Sendable {
        public var source: SpanSource
        public var spans: [(facts: SpanFacts, range: Range<Int>)]
    }

    /// The request, in protobuf.
    public let bytes: [UInt8]
    public private(set) var groups: [Group] = []
    public private(set) var rejected: [SpanRejection: Int] = [:]

    /// Spans that can be stored.
    public var acceptedCount: Int { groups.reduce(0) { $0 + $1.spans.count } }
    public var rejectedCount: Int { rejected.values.reduce(0, +) }

    /// Reads a protobuf request. Throws when it is not one (broken framing, a field of
    /// the wrong type, nesting too deep); spans with unusable ids are counted as
    /// rejected, not thrown.
    public static func read(protobuf bytes: [UInt8]) throws(OTLPDecodingError) -> ReceivedSpans {
        try OTLPProtobufJSON.validate(bytes, 0..<bytes.count, as: .exportTraceServiceRequest)
        var received = ReceivedSpans(bytes: bytes)
        var requestReader = ProtobufReader(bytes)
        while let (field, value) = (try? requestReader.next()) ?? nil {
            if field == 1, case .bytes(let resourceSpans) = value { received.readResourceSpans(resourceSpans) }
        }
        return received
    }

    /// Reads an OTLP/JSON request (turned into protobuf first).
    public static func read(json bytes: [UInt8]) throws(OTLPDecodingError) -> ReceivedSpans {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw OTLPDecodingError(path: "", reason: error.description)
        }
        return try read(protobuf: try OTLPJSONProtobuf.traceRequest(document))
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func readResourceSpans(_ range: Range<Int>) {
        var resource: [UInt8] = []
        var schemaURL = ""
        var scopeSpansRanges: [Range<Int>] = []
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard case .bytes(let inner) = value else { continue }
            switch field {
            case 1: resource = Array(bytes[inner])
            case 2: scopeSpansRanges.append(inner)
            case 3: schemaURL = String(decoding: bytes[inner], as: UTF8.self)
            default: break
            }
        }
        for scopeSpans in scopeSpansRanges {
            readScopeSpans(scopeSpans, resource: resource, resourceSchemaURL: schemaURL)
        }
    }

    private mutating func readScopeSpans(_ range: Range<Int>, resource: [UInt8], resourceSchemaURL: String) {
        var scope: [UInt8] = []
        var schemaURL = ""
        var spans: [(facts: SpanFacts, range: Range<Int>)] = []
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard case .bytes(let inner) = value else { continue }
            switch field {
            case 1: scope = Array(bytes[inner])
            case 2:
                switch SpanFacts.read(bytes, inner) {
                case .success(let facts): spans.append((facts, inner))
                case .failure(let reason): rejected[reason, default: 0] += 1
                }
            case 3: schemaURL = String(decoding: bytes[inner], as: UTF8.self)
            default: break
            }
        }
        guard !spans.isEmpty else { return }
        let source = SpanSource(resource: resource, resourceSchemaURL: resourceSchemaURL, scope: scope, scopeSchemaURL: schemaURL)
        groups.append(Group(source: source, spans: spans))
    }
}
