/// Encodes spans as OTLP/JSON (`application/json`), following the OTLP specification's
/// JSON mapping: lowerCamelCase field names, trace and span ids as hex strings (not
/// base64), enums as integers, 64-bit integers as decimal strings.
public enum OTLPJSONEncoder {
    public static func encode(_ spans: [SpanRecord], resource: TraceResource) -> [UInt8] {
        var out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":"
        appendAttributes(&out, resource.attributes)
        out += "},\"scopeSpans\":[{\"scope\":{\"name\":"
        appendString(&out, TracingScope.name)
        out += ",\"version\":"
        appendString(&out, TracingScope.version)
        out += "},\"spans\":["
        for (index, span) in spans.enumerated() {
            if index > 0 { out += "," }
            appendSpan(&out, span)
        }
        out += "]}]}]}"
        return Array(out.utf8)
    }

    private static func appendSpan(_ out: inout String, _ span: SpanRecord) {
        out += "{\"traceId\":\"\(span.traceID)\",\"spanId\":\"\(span.spanID)\""
        if let state = span.traceState {
            out += ",\"traceState\":"
            appendString(&out, state)
        }
        if let parent = span.parentSpanID { out += ",\"parentSpanId\":\"\(parent)\"" }
        out += ",\"flags\":\(span.flags.rawValue),\"name\":"
        appendString(&out, span.name)
        out += ",\"kind\":\(span.kind.rawValue)"
        out += ",\"startTimeUnixNano\":\"\(span.startNanoseconds)\",\"endTimeUnixNano\":\"\(span.endNanoseconds)\""
        out += ",\"attributes\":"
        appendAttributes(&out, span.attributes)
        if !span.events.isEmpty {
            out += ",\"events\":["
            for (index, event) in span.events.enumerated() {
                if index > 0 { out += "," }
                out += "{\"timeUnixNano\":\"\(event.timeNanoseconds)\",\"name\":"
                appendString(&out, event.name)
                out += ",\"attributes\":"
                appendAttributes(&out, event.attributes)
                out += "}"
            }
            out += "]"
        }
        if !span.links.isEmpty {
            out += ",\"links\":["
            for (index, link) in span.links.enumerated() {
                if index > 0 { out += "," }
                out += "{\"traceId\":\"\(link.traceID)\",\"spanId\":\"\(link.spanID)\""
                if let state = link.traceState {
                    out += ",\"traceState\":"
                    appendString(&out, state)
                }
                out += ",\"attributes\":"
                appendAttributes(&out, link.attributes)
                out += ",\"flags\":\(link.flags.rawValue)}"
            }
            out += "]"
        }
        switch span.status {
        case .unset: break
        case .ok: out += ",\"status\":{\"code\":1}"
        case .error(let message):
            out += ",\"status\":{\"code\":2,\"message\":"
            appendString(&out, message)
            out += "}"
        }
        out += "}"
    }

    private static func appendAttributes(_ out: inout String, _ attributes: [SpanAttribute]) {
        out += "["
        for (index, attribute) in attributes.enumerated() {
            if index > 0 { out += "," }
            out += "{\"key\":"
            appendString(&out, attribute.key)
            out += ",\"value\":{"
            switch attribute.value {
            case .string(let text):
                out += "\"stringValue\":"
                appendString(&out, text)
            case .int(let number): out += "\"intValue\":\"\(number)\""
            case .bool(let flag): out += "\"boolValue\":\(flag)"
            case .double(let number):
                out += number.isFinite ? "\"doubleValue\":\(number)" : "\"doubleValue\":\"\(number > 0 ? "Infinity" : number < 0 ? "-Infinity" : "NaN")\""
            }
            out += "}}"
        }
        out += "]"
    }

    public static func appendString(_ out: inout String, _ text: String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
