import HTTP1
import Tracing

/// What a request's head carries for the configured propagators: the trace context of the
/// first format (in `OTEL_PROPAGATORS` order) that holds a valid one, and the validated
/// baggage. Only requests that carry such fields cost more than one pass over the
/// field kinds.
struct ReceivedContext {
    var context: IncomingTraceContext?
    var baggage: String?

    /// Whether the head has a field of any format at all (most requests have none).
    static func mayCarry(_ head: borrowing RequestHead) -> Bool {
        head.fields.contains { $0.kind.isTraceContext || $0.kind == .baggage }
    }

    init(head: borrowing RequestHead, propagators: [Propagator]) {
        for propagator in propagators {
            switch propagator {
            case .tracecontext:
                if context == nil { context = Self.traceContext(head) }
            case .b3:
                let fields = context == nil ? Self.values(head, .b3) : []
                if fields.count == 1 { context = B3Context.parseSingle(fields[0]) }
            case .b3multi:
                if context == nil { context = Self.b3Multi(head) }
            case .baggage:
                let fields = Self.values(head, .baggage)
                if !fields.isEmpty { baggage = BaggageValidator.validate(fields) }
            }
        }
    }

    private static func values(_ head: RequestHead, _ kind: FieldKind) -> [String] {
        head.fields.filter { $0.kind == kind }.map { head.string($0.value) }
    }

    private static func traceContext(_ head: RequestHead) -> IncomingTraceContext? {
        let parents = values(head, .traceparent)
        guard !parents.isEmpty else { return nil }
        return IncomingTraceContext.parse(traceparent: parents, tracestate: values(head, .tracestate))
    }

    /// X-B3-ParentSpanId is not read: the proxy's parent is the caller's span.
    private static func b3Multi(_ head: RequestHead) -> IncomingTraceContext? {
        let traceIDs = values(head, .b3TraceID)
        guard !traceIDs.isEmpty else { return nil }
        return B3Context.parseMulti(
            traceID: traceIDs, spanID: values(head, .b3SpanID), sampled: values(head, .b3Sampled),
            flags: values(head, .b3Flags))
    }
}
