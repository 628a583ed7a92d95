import W3CTraceContext

/// One trace as the store held it when asked: its spans' facts and bytes, and who sent
/// them. Read outside the store's lock.
public struct TraceSnapshot: Sendable {
    public var summary: TraceSummary
    public var spans: [StoredSpan]
    var bytes: [UInt8]
    public var sources: [SpanSource]
    /// A span arrived within the store's settle time: more may come.
    public var changing: Bool

    /// The trace as OTLP/JSON (`{"resourceSpans":[…]}`): one `ResourceSpans` per
    /// sending resource, one `ScopeSpans` per scope in it, spans in the order they arrived.
    public func otlpJSON() -> [UInt8] {
        // Sources that share a resource (one service, several instrumentation scopes)
        // are one ResourceSpans.
        var resources: [[Int]] = []
        for (index, source) in sources.enumerated() {
            if let group = resources.firstIndex(where: { sources[$0[0]].sameResource(as: source) }) {
                resources[group].append(index)
            } else {
                resources.append([index])
            }
        }
        var out = JSONOutput(capacity: bytes.count * 2 + 256)
        out.append("{\"resourceSpans\":[")
        var firstResource = true
        for group in resources {
            let members = group.map { sourceIndex in spans.filter { Int($0.source) == sourceIndex } }
            guard members.contains(where: { !$0.isEmpty }) else { continue }
            if !firstResource { out.append(",") }
            firstResource = false
            let resource = sources[group[0]]
            out.append("{\"resource\":")
            OTLPProtobufJSON.write(resource.resource, 0..<resource.resource.count, as: .resource, to: &out)
            out.append(",\"scopeSpans\":[")
            var firstScope = true
            for (sourceIndex, scopeSpans) in zip(group, members) where !scopeSpans.isEmpty {
                if !firstScope { out.append(",") }
                firstScope = false
                let source = sources[sourceIndex]
                out.append("{\"scope\":")
                OTLPProtobufJSON.write(source.scope, 0..<source.scope.count, as: .instrumentationScope, to: &out)
                if !source.scopeSchemaURL.isEmpty {
                    out.append(",\"schemaUrl\":")
                    out.string(source.scopeSchemaURL)
                }
                out.append(",\"spans\":[")
                for (index, span) in scopeSpans.enumerated() {
                    if index > 0 { out.append(",") }
                    OTLPProtobufJSON.write(bytes, span.range, as: .span, to: &out)
                }
                out.append("]}")
            }
            out.append("]")
            if !resource.resourceSchemaURL.isEmpty {
                out.append(",\"schemaUrl\":")
                out.string(resource.resourceSchemaURL)
            }
            out.append("}")
        }
        out.append("]}")
        return out.bytes
    }

    /// The spans as records, with their service names (for tests and tools). Attribute
    /// values that records cannot hold (arrays, maps, bytes) are left out.
    public func records() -> [(service: String, record: SpanRecord)] {
        spans.map { span in (sources[Int(span.source)].serviceName, SpanRecord(otlp: bytes, span.range)) }
    }
}

extension SpanRecord {
    /// A record from an OTLP `Span` message (validated). Ids of the wrong length read as zeros.
    init(otlp bytes: [UInt8], _ range: Range<Int>) {
        var traceID = TraceID.null
        var spanID = SpanID.null
        var parent: SpanID?
        var traceState: String?
        var flags: UInt32 = 0
        var kind = Kind.unspecified
        var name = ""
        var start: UInt64 = 0
        var end: UInt64 = 0
        var status = Status.unset
        var attributes: [SpanAttribute] = []
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            switch (field, value) {
            case (1, .bytes(let id)) where id.count == 16:
                traceID = TraceID(bytes: TraceKey(bytes[id]).bytes)
            case (2, .bytes(let id)) where id.count == 8: spanID = SpanID(bytes: Self.spanIDBytes(bytes[id]))
            case (4, .bytes(let id)) where id.count == 8: parent = SpanID(bytes: Self.spanIDBytes(bytes[id]))
            case (3, .bytes(let text)): traceState = String(decoding: bytes[text], as: UTF8.self)
            case (5, .bytes(let text)): name = String(decoding: bytes[text], as: UTF8.self)
            case (6, .varint(let number)): kind = Kind(rawValue: Int(truncatingIfNeeded: number)) ?? .unspecified
            case (7, .fixed64(let time)): start = time
            case (8, .fixed64(let time)): end = time
            case (9, .bytes(let keyValue)): if let attribute = Self.attribute(bytes, keyValue) { attributes.append(attribute) }
            case (11, .bytes(let event)): events.append(Self.event(bytes, event))
            case (13, .bytes(let link)): links.append(Self.link(bytes, link))
            case (15, .bytes(let message)): status = Self.status(bytes, message)
            case (16, .fixed32(let number)): flags = number
            default: break
            }
        }
        self.init(
            traceID: traceID, spanID: spanID, parentSpanID: parent, traceState: traceState,
            flags: TraceFlags(rawValue: UInt8(truncatingIfNeeded: flags)), kind: kind, name: name,
            startNanoseconds: start, endNanoseconds: end, status: status, attributes: attributes, events: events,
            links: links)
    }

    private static func spanIDBytes(_ bytes: ArraySlice<UInt8>) -> SpanID.Bytes {
        let b = Array(bytes)
        return (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
    }

    private static func attribute(_ bytes: [UInt8], _ keyValue: Range<Int>) -> SpanAttribute? {
        let key = String(decoding: SpanFacts.string(bytes, in: keyValue, field: 1), as: UTF8.self)
        var reader = ProtobufReader(bytes, range: keyValue)
        var result: SpanAttribute?
        while let (field, value) = (try? reader.next()) ?? nil {
            guard field == 2, case .bytes(let any) = value else { continue }
            var anyReader = ProtobufReader(bytes, range: any)
            while let (anyField, anyValue) = (try? anyReader.next()) ?? nil {
                switch (anyField, anyValue) {
                case (1, .bytes(let text)): result = SpanAttribute(key, .string(String(decoding: bytes[text], as: UTF8.self)))
                case (2, .varint(let flag)): result = SpanAttribute(key, .bool(flag != 0))
                case (3, .varint(let number)): result = SpanAttribute(key, .int(Int64(bitPattern: number)))
                case (4, .fixed64(let bits)): result = SpanAttribute(key, .double(Double(bitPattern: bits)))
                default: break
                }
            }
        }
        return result
    }

    private static func event(_ bytes: [UInt8], _ range: Range<Int>) -> SpanEvent {
        var event = SpanEvent(name: "", timeNanoseconds: 0)
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            switch (field, value) {
            case (1, .fixed64(let time)): event.timeNanoseconds = time
            case (2, .bytes(let text)): event.name = String(decoding: bytes[text], as: UTF8.self)
            case (3, .bytes(let keyValue)): if let attribute = attribute(bytes, keyValue) { event.attributes.append(attribute) }
            default: break
            }
        }
        return event
    }

    private static func link(_ bytes: [UInt8], _ range: Range<Int>) -> SpanLink {
        var link = SpanLink(traceID: .null, spanID: .null, flags: TraceFlags())
        var reader = ProtobufReader(bytes, range: range)
        while let (field, value) = (try? reader.next()) ?? nil {
            switch (field, value) {
            case (1, .bytes(let id)) where id.count == 16: link.traceID = TraceID(bytes: TraceKey(bytes[id]).bytes)
            case (2, .bytes(let id)) where id.count == 8: link.spanID = SpanID(bytes: spanIDBytes(bytes[id]))
            case (3, .bytes(let text)): link.traceState = String(decoding: bytes[text], as: UTF8.self)
            case (4, .bytes(let keyValue)): if let attribute = attribute(bytes, keyValue) { link.attributes.append(attribute) }
            case (6, .fixed32(let number)): link.flags = TraceFlags(rawValue: UInt8(truncatingIfNeeded: number))
            default: break
            }
        }
        return link
    }

    private static func status(_ bytes: [UInt8], _ range: Range<Int>) -> Status {
        let message = String(decoding: SpanFacts.string(bytes, in: range, field: 2), as: UTF8.self)
        var reader = ProtobufReader(bytes, range: range)
        var code: UInt64 = 0
        while let (field, value) = (try? reader.next()) ?? nil {
            if field == 3, case .varint(let number) = value { code = number }
        }
        switch code {
        case 1: return .ok
        case 2: return .error(message)
        default: return .unset
        }
    }
}

extension TraceKey {
    /// The W3C trace id of these bytes.
    public var bytes: TraceIDBytes {
        var result: TraceIDBytes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &result) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return result
    }

    public init(_ id: TraceID) {
        self.init(id.bytes)
    }
}
