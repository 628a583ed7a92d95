import Tracing

/// The list page's JSON (`GET /traces`): the matching traces' summaries and the store's
/// state. Names are snake_case, times in Unix nanoseconds, durations in milliseconds.
enum TraceListJSON {
    static func encode(_ listing: TraceListing, info: AdminRoutes.Info) -> [UInt8] {
        var out = JSONOutput(capacity: 512 + listing.summaries.count * 400)
        out.append("{\"version\":\(listing.statistics.version)")
        if listing.unchanged {
            out.append(",\"unchanged\":true}")
            return out.bytes
        }
        out.append(",\"total\":\(listing.statistics.traces),\"matched\":\(listing.matched),\"traces\":[")
        for (index, summary) in listing.summaries.enumerated() {
            if index > 0 { out.append(",") }
            out.append("{\"trace_id\":\"\(summary.traceID)\",\"name\":")
            out.string(summary.name)
            out.append(",\"root\":")
            out.string(summary.name)
            out.append(",\"start_unix_nano\":\(summary.startNanoseconds)")
            out.append(",\"duration_ms\":\(Double(summary.durationNanoseconds) / 1_000_000)")
            out.append(",\"span_count\":\(summary.spanCount),\"error\":\(summary.error)")
            out.append(",\"method\":")
            out.optional(summary.method)
            out.append(",\"route\":")
            out.optional(summary.route)
            out.append(",\"status\":\(summary.status.map(String.init) ?? "null"),\"services\":[")
            for (serviceIndex, service) in summary.services.enumerated() {
                if serviceIndex > 0 { out.append(",") }
                out.string(service)
            }
            out.append("],\"attempts\":\(summary.attempts),\"retried\":\(summary.retried)")
            out.append(",\"changing\":\(listing.isChanging(summary)),\"missing_parents\":\(summary.missingParents)")
            out.append(",\"rejected_spans\":\(summary.rejectedSpans)}")
        }
        out.append("],\"facets\":{\"services\":")
        out.strings(listing.services)
        out.append(",\"routes\":")
        out.strings(listing.routes)
        let statistics = listing.statistics
        let limits = listing.limits
        out.append("},\"store\":{\"traces\":\(statistics.traces),\"spans\":\(statistics.spans),\"bytes\":\(statistics.bytes)")
        out.append(",\"max_traces\":\(limits.maxTraces),\"max_bytes\":\(limits.maxBytes),\"max_spans_per_trace\":\(limits.maxSpansPerTrace)")
        out.append(",\"evicted_traces\":\(statistics.evictedTraces),\"rejected_spans\":\(statistics.rejectedSpans)}")
        out.append(",\"receiver\":")
        out.optional(info.receiver)
        out.append(",\"service\":")
        out.string(info.serviceName)
        out.append("}")
        return out.bytes
    }
}

extension JSONOutput {
    mutating func optional(_ value: String?) {
        if let value { string(value) } else { append("null") }
    }

    mutating func strings(_ values: [String]) {
        append("[")
        for (index, value) in values.enumerated() {
            if index > 0 { append(",") }
            string(value)
        }
        append("]")
    }
}
