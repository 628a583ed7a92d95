import Tracing

/// What the admin listener answers, as a pure function of the request and the store.
public enum AdminRoutes {
    public static func answer(method: String, path: String, store: TraceStore?) -> (status: Int, contentType: String, body: [UInt8]) {
        let json = "application/json"
        let text = "text/plain; charset=utf-8"
        guard method == "GET" || method == "HEAD" else { return (405, text, Array("only GET\n".utf8)) }
        if path == "/healthz" { return (200, text, Array("ok\n".utf8)) }
        if path == "/traces" || path == "/traces/" {
            guard let store else { return (404, text, Array("traces are not kept in memory: spans go to the configured exporter\n".utf8)) }
            return (200, json, tracesList(store.recent(limit: 100)))
        }
        if path.hasPrefix("/traces/") {
            guard let store else { return (404, text, Array("traces are not kept in memory\n".utf8)) }
            let id = String(path.dropFirst("/traces/".count)).lowercased()
            guard id.count == 32, id.allSatisfy(\.isHexDigit) else { return (400, text, Array("a trace id is 32 hex digits\n".utf8)) }
            guard let spans = store.spans(traceID: id) else { return (404, text, Array("no trace \(id) is kept\n".utf8)) }
            // All the trace's spans as OTLP/JSON, the format collectors and tools read.
            return (200, json, OTLPJSONEncoder.encode(spans, resource: store.resource))
        }
        return (404, text, Array("not found: try /healthz, /traces or /traces/{trace_id}\n".utf8))
    }

    static func tracesList(_ summaries: [TraceStore.Summary]) -> [UInt8] {
        var out = "{\"traces\":["
        for (index, summary) in summaries.enumerated() {
            if index > 0 { out += "," }
            out += "{\"trace_id\":\"\(summary.traceID)\",\"root\":"
            OTLPJSONEncoder.appendString(&out, summary.rootName)
            out += ",\"start_unix_nano\":\(summary.startNanoseconds),\"duration_ms\":\(Double(summary.durationNanoseconds) / 1_000_000)"
            out += ",\"span_count\":\(summary.spanCount),\"error\":\(summary.error)}"
        }
        out += "]}"
        return Array(out.utf8)
    }
}
