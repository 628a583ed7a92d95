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
