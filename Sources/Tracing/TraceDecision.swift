import W3CTraceContext

/// What to do with an incoming request's trace context from a peer that is not trusted.
public enum UntrustedContextPolicy: String, Sendable, Equatable {
    /// Keep the trace id (and parent link) so the trace stays whole, but decide sampling
    /// here: a header from the internet cannot switch recording on or off.
    case continueTrace = "continue"
    /// Drop the received context and start a new trace.
    case ignore
}

/// The trace a request joins or starts, decided before any span is built.
public struct TraceDecision: Sendable, Equatable {
    public var traceID: TraceID
    /// The span the proxy's SERVER span is a child of; nil for a new trace.
    public var parentSpanID: SpanID?
    public var sampled: Bool
    /// The Level 2 random-trace-id flag: set on traces started here (their ids are
    /// random), kept as received on continued ones. An unsampled new trace propagates
    /// flags `02`.
    public var randomTraceID: Bool
    public var traceState: String?
    /// What few requests carry (an ignored context, baggage), apart: one reference that
    /// is nearly always nil, so that copying a decision stays cheap.
    public var extras: TraceExtras?
    /// A valid incoming context that the untrusted policy `ignore` set aside: the new
    /// trace's SERVER span links to it, so whoever wants to follow it still can.
    public var ignoredContext: IncomingTraceContext? { extras?.ignoredContext }
    /// The validated W3C `baggage` to send upstream (with the `baggage` propagator).
    public var baggage: String? { extras?.baggage }
    /// Tracing disabled (`OTEL_SDK_DISABLED=true`): propagation is a no-op, the received
    /// trace fields go upstream unchanged and none are added. The ids are null.
    public var passThrough = false

    /// The decision when tracing is disabled.
    public static let disabled = TraceDecision(
        traceID: .null, parentSpanID: nil, sampled: false, randomTraceID: false, traceState: nil, passThrough: true)

    /// The flags to send upstream in `traceparent`.
    public var flags: TraceFlags {
        var flags = TraceFlags()
        if sampled { flags.insert(.sampled) }
        if randomTraceID { flags.insert(IncomingTraceContext.randomFlag) }
        return flags
    }

    /// - Parameters:
    ///   - incoming: the validated context received, if any.
    ///   - peerTrusted: whether the peer's address is in the trusted networks.
    ///   - newTraceID: makes a random trace id when one is needed.
    ///   - baggage: the validated baggage to send on, if any.
    public static func decide(
        incoming: IncomingTraceContext?, peerTrusted: Bool, untrusted: UntrustedContextPolicy,
        sampler: Sampler, baggage: String? = nil, newTraceID: () -> TraceID
    ) -> TraceDecision {
        if let incoming, peerTrusted || untrusted == .continueTrace {
            let parentSampled: Bool? = peerTrusted && incoming.parentDecided ? incoming.flags.contains(.sampled) : nil
            return TraceDecision(
                traceID: incoming.traceID, parentSpanID: incoming.parentSpanID,
                sampled: sampler.shouldSample(traceID: incoming.traceID, parentSampled: parentSampled),
                randomTraceID: incoming.flags.contains(IncomingTraceContext.randomFlag),
                traceState: incoming.traceState, extras: baggage.map { TraceExtras(ignoredContext: nil, baggage: $0) })
        }
        let traceID = newTraceID()
        return TraceDecision(
            traceID: traceID, parentSpanID: nil,
            sampled: sampler.shouldSample(traceID: traceID, parentSampled: nil),
            randomTraceID: true, traceState: nil,
            extras: incoming == nil && baggage == nil ? nil : TraceExtras(ignoredContext: incoming, baggage: baggage))
    }

    /// A trace started here for a request that carried no context: the usual case, with
    /// nothing to copy or look at.
    public static func newTrace(_ traceID: TraceID, sampler: Sampler) -> TraceDecision {
        TraceDecision(
            traceID: traceID, parentSpanID: nil, sampled: sampler.shouldSample(traceID: traceID, parentSampled: nil),
            randomTraceID: true, traceState: nil)
    }

    /// The `traceparent` value for a span of this trace: always version 00, built from
    /// parsed values, never copied from what was received.
    public func traceparent(spanID: SpanID) -> String {
        let flagsHex = flags.rawValue < 0x10 ? "0" + String(flags.rawValue, radix: 16) : String(flags.rawValue, radix: 16)
        return "00-\(traceID)-\(spanID)-\(flagsHex)"
    }
}

/// The rare parts of a `TraceDecision`.
public final class TraceExtras: Sendable, Equatable {
    public let ignoredContext: IncomingTraceContext?
    public let baggage: String?

    public static func == (left: TraceExtras, right: TraceExtras) -> Bool {
        left.ignoredContext == right.ignoredContext && left.baggage == right.baggage
    }

    public init(ignoredContext: IncomingTraceContext?, baggage: String?) {
        self.ignoredContext = ignoredContext
        self.baggage = baggage
    }
}
