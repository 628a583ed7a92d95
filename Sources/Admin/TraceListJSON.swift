import Tracing

/// The list page's JSON (`GET /traces`): the matching traces' summaries and the store's
/// state. Names are snake_case, times in Unix nanoseconds, durations in milliseconds.
enum TraceListJSON {
    static func encode(_ listing: TraceListing, info: AdminRoutes.Info) -> [UInt8] {
        var out = JSONText()
        out.raw("{\"version\":\(listing.statistics.version)")
        if listing.unchanged {
            out.raw(",\"unchanged\":true}")
            return out.bytes
        }
        out.raw(",\"total\":\(listing.statistics.traces),\"matched\":\(listing.matched),\"traces\":[")
        for (index, summary) in listing.summaries.enumerated() {
            if index > 0 { out.raw(",") }
            out.raw("{\"trace_id\":\"\(summary.traceID)\",\"name\":")
            out.string(summary.name)
            out.raw(",\"root\":")
            out.string(summary.name)
            out.raw(",\"start_unix_nano\":\(summary.startNanoseconds)")
            out.raw(",\"duration_ms\":\(Double(summary.durationNanoseconds) / 1_000_000)")
            out.raw(",\"span_count\":\(summary.spanCount),\"error\":\(summary.error)")
            out.raw(",\"method\":")
            out.optional(summary.method)
            out.raw(",\"route\":")
            out.optional(summary.route)
            out.raw(",\"status\":\(summary.status.map(String.init) ?? "null"),\"services\":[")
            for (serviceIndex, service) in summary.services.enumerated() {
                if serviceIndex > 0 { out.raw(",") }
                out.string(service)
            }
            out.raw("],\"attempts\":\(summary.attempts),\"retried\":\(summary.retried)")
            out.raw(",\"changing\":\(listing.isChanging(summary)),\"missing_parents\":\(summary.missingParents)")
            out.raw(",\"rejected_spans\":\(summary.rejectedSpans)}")
        }
        out.raw("],\"facets\":{\"services\":")
        out.strings(listing.services)
        out.raw(",\"routes\":")
        out.strings(listing.routes)
        let statistics = listing.statistics
        let limits = listing.limits
        out.raw("},\"store\":{\"traces\":\(statistics.traces),\"spans\":\(statistics.spans),\"bytes\":\(statistics.bytes)")
        out.raw(",\"max_traces\":\(limits.maxTraces),\"max_bytes\":\(limits.maxBytes),\"max_spans_per_trace\":\(limits.maxSpansPerTrace)")
        out.raw(",\"evicted_traces\":\(statistics.evictedTraces),\"rejected_spans\":\(statistics.rejectedSpans)}")
        out.raw(",\"receiver\":")
        out.optional(info.receiver)
        out.raw(",\"service\":")
        out.string(info.serviceName)
        out.raw("}")
        return out.bytes
    }
}

/// JSON text for the admin's answers (strings escaped as in OTLP/JSON output).
struct JSONText {
    private var text = ""

    var bytes: [UInt8] { Array(text.utf8) }

    mutating func raw(_ part: String) {
        text += part
    }

    mutating func string(_ value: String) {
        OTLPJSONEncoder.appendString(&text, value)
    }

    mutating func optional(_ value: String?) {
        if let value { string(value) } else { text += "null" }
    }

    mutating func strings(_ values: [String]) {
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            string(value)
        }
        text += "]"
    }
}
