import Tracing

/// Finished spans a worker has described, in the forms the span pipeline hands on:
/// OTLP protobuf (for an OTLP/protobuf exporter and the trace store, with each span's
/// facts when the store is on) and records (for an exporter that takes them: OTLP/JSON,
/// the console).
///
/// A span is described on the worker's thread as it ends, into the batch: what the
/// request allocated (its head, its fields) is freed where it was allocated, and only the
/// batch crosses to the pipeline's thread. Spans that held the request's memory until
/// another thread freed it cost more in the allocator than describing them here.
struct SpanBatch: Sendable {
    /// The forms a pipeline takes.
    struct Forms: Sendable, Equatable {
        var protobuf: Bool
        /// Facts for the trace store, beside the protobuf.
        var facts: Bool
        var records: Bool
    }

    private(set) var count = 0
    /// Exactly one of the protobuf writers is set when `Forms.protobuf`.
    private(set) var protobuf: OTLPSpanWriter?
    private(set) var protobufWithFacts: FactsRecordingWriter?
    private(set) var records: SpanRecordWriter?

    /// `writer`: where the protobuf goes (with room ahead for an export request, so that
    /// the exporter can take the spans over as they lie).
    init(_ forms: Forms, writer: @autoclosure () -> OTLPSpanWriter) {
        if forms.protobuf {
            if forms.facts { protobufWithFacts = FactsRecordingWriter(writer()) } else { protobuf = writer() }
        }
        if forms.records { records = SpanRecordWriter() }
    }

    var isEmpty: Bool { count == 0 }

    /// The spans as OTLP protobuf, when the batch has that form.
    var encoded: EncodedSpans? { protobuf?.spans ?? protobufWithFacts?.inner.spans }

    /// The protobuf moved out (the batch keeps no reference, so whoever takes it writes
    /// into it without a copy).
    mutating func takeEncoded() -> EncodedSpans? {
        if let writer = protobuf.take() { return writer.spans }
        if let writer = protobufWithFacts.take() { return writer.inner.spans }
        return nil
    }

    /// The bytes its protobuf takes, room ahead included.
    var encodedByteCount: Int { protobuf?.spans.storedByteCount ?? protobufWithFacts?.inner.spans.storedByteCount ?? 0 }

    /// Each span's facts, in order, when the batch has them.
    var facts: [SpanFacts]? { protobufWithFacts?.facts }

    var spanRecords: [SpanRecord]? { records?.records }

    /// Describes `span` in each form; returns how many spans the batch holds. The writers
    /// are written in place (a writer copied out of its optional would copy its storage too).
    @discardableResult
    mutating func add(_ span: some DescribedSpan) -> Int {
        if protobuf != nil { span.write(to: &protobuf!) }
        if protobufWithFacts != nil { span.write(to: &protobufWithFacts!) }
        if records != nil { span.write(to: &records!) }
        count += 1
        return count
    }
}
