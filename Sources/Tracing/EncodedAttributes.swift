/// Attributes that are the same on every span that carries them (an upstream server's
/// address and port), encoded once where they are made: the OTLP writer copies their
/// bytes into each span in one piece; other writers get them one by one. They must not
/// include what a writer notes as it passes (a status code, a resend count).
public struct EncodedAttributes: Sendable {
    public let attributes: [SpanAttribute]
    /// Each attribute as a span's `attributes` field (9), in order.
    let protobuf: [UInt8]

    public init(_ attributes: [SpanAttribute]) {
        self.attributes = attributes
        var writer = ProtobufWriter()
        for attribute in attributes {
            OTLPSpanWriter.writeKeyValue(&writer, 9, attribute.key, attribute.value)
        }
        protobuf = writer.finish()
    }
}

/// An event that is the same on every span that has it but for its time (the proxy's
/// own: a connection established, the first response byte), encoded once where it is
/// made: the OTLP writer copies its bytes into each span in one piece and writes the
/// time into them; other writers get a `SpanEvent`.
public struct EncodedEvent: Sendable {
    public let name: String
    public let attributes: [SpanAttribute]
    /// The event as a span's `events` field (11), its time zero.
    let protobuf: [UInt8]
    /// Where the time's eight bytes are in `protobuf`.
    let timeOffset: Int
    /// Named `exception` (the store notes spans that have one): told once, not per span.
    let isException: Bool

    public init(_ name: String, attributes: [SpanAttribute] = []) {
        self.name = name
        self.attributes = attributes
        isException = name == "exception"
        var writer = OTLPSpanWriter()
        writer.event(SpanEvent(name: name, timeNanoseconds: 0, attributes: attributes))
        protobuf = writer.spans.writer.bytes  // an event alone, not a span: no end marked
        // The field's tag, its length, then time_unix_nano's tag (1, fixed 64 bits).
        var lengthEnd = 1
        while protobuf[lengthEnd] & 0x80 != 0 { lengthEnd += 1 }
        timeOffset = lengthEnd + 2
    }
}
