import Logging
import Tracing

#if canImport(Glibc)
import Glibc
#endif


/// `OTEL_TRACES_EXPORTER=console`: one line per span on standard output.
public struct ConsoleSpanExporter: SpanExporter {
    public init() {}

    public func export(_ spans: [SpanRecord]) {
        var text = ""
        for span in spans {
            let duration = Double(span.endNanoseconds - span.startNanoseconds) / 1_000_000
            text += "span trace_id=\(span.traceID) span_id=\(span.spanID) parent_id=\(span.parentSpanID.map { "\($0)" } ?? "-")"
            text += " kind=\(span.kind == .server ? "server" : "client") name=\"\(span.name)\" duration_ms=\(duration)"
            if case .error(let message) = span.status { text += " status=error message=\"\(message)\"" }
            for attribute in span.attributes {
                switch attribute.value {
                case .string(let value): text += " \(attribute.key)=\"\(value)\""
                case .int(let value): text += " \(attribute.key)=\(value)"
                case .bool(let value): text += " \(attribute.key)=\(value)"
                case .double(let value): text += " \(attribute.key)=\(value)"
                }
            }
            text += "\n"
        }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// The tracing the workers do: settings, and the pipeline their spans go into.
public struct TracingSetup: Sendable {
    public var settings: TracingSettings
    let pipeline: SpanPipeline?
    /// Where the explorer reads traces (the proxy's spans and received ones).
    public let store: TraceStore?

    /// Starts the span pipeline's thread when there is an exporter or a store; its queue
    /// holds `queueCapacity` spans (`OTEL_BSP_MAX_QUEUE_SIZE`), beyond which spans are
    /// dropped. Spans go to both when both are given.
    public init(
        settings: TracingSettings, exporter: (any SpanExporter)?, store: TraceStore? = nil, queueCapacity: Int = 2048,
        logger: Logger = Logger(label: "hoptrace.spans")
    ) {
        self.settings = settings
        self.store = store
        if exporter != nil || store != nil {
            pipeline = SpanPipeline(
                exporter: exporter, store: store, proxySource: SpanSource(proxy: settings.resource),
                capacity: queueCapacity, logger: logger)
        } else {
            pipeline = nil
        }
    }

    /// No spans, but requests still carry an unsampled `traceparent` upstream.
    public static var off: TracingSetup {
        TracingSetup(settings: TracingSettings(destination: .none, sampler: .alwaysOff), exporter: nil)
    }

    /// The span pipeline's counts and the OTLP exporter's (all zero without a pipeline).
    public var statistics: SpanStatistics { SpanStatistics(pipeline?.statistics ?? SpanPipeline.Statistics()) }

    /// Sends a request the receiver accepted on to the OTLP exporter, unchanged; does
    /// nothing when spans are not exported over OTLP. Never blocks.
    public func forward(_ request: [UInt8], spanCount: Int) {
        pipeline?.forward(request, spanCount: spanCount)
    }

    /// True when `forward` has somewhere to send to.
    public var canForward: Bool { pipeline?.canForward ?? false }

    /// Exports what is queued and stops the pipeline. Call once, after the workers stopped.
    public func shutdown() { pipeline?.shutdown() }
}

/// What became of the proxy's spans, for the metrics: recorded, handed on, dropped (and
/// why), waiting, and what the OTLP exporter did with them.
public struct SpanStatistics: Sendable {
    public var recorded: Int
    public var handedOn: Int
    /// Dropped by the span pipeline: its queue was full.
    public var droppedQueueFull: Int
    /// Spans waiting: in the pipeline's queue, and taken by the exporter but not yet
    /// delivered or dropped (pending or in flight).
    public var waiting: Int
    /// nil when spans do not go out over OTLP.
    public var export: OTLPHTTPExporter.Counters?

    init(_ pipeline: SpanPipeline.Statistics) {
        recorded = pipeline.recorded
        handedOn = pipeline.handedOn
        droppedQueueFull = pipeline.dropped
        export = pipeline.export
        let exporting = pipeline.export.map { $0.queuedSpans - $0.exportedSpans - $0.droppedSpans } ?? 0
        waiting = pipeline.queued + max(0, exporting)
    }
}
