/// Who sent a group of spans: an OTLP resource (`service.name` and the rest) and an
/// instrumentation scope, kept as their protobuf bytes and shared by every span of
/// theirs the store holds.
public final class SpanSource: Sendable, Hashable {
    /// `Resource` message content.
    public let resource: [UInt8]
    public let resourceSchemaURL: String
    /// `InstrumentationScope` message content.
    public let scope: [UInt8]
    public let scopeSchemaURL: String
    /// `service.name`, or `unknown_service` when the resource has none (the OTel default).
    public let serviceName: String
    /// The proxy's own spans (its attempts are counted, its SERVER span names the trace).
    public let isProxy: Bool

    public init(resource: [UInt8], resourceSchemaURL: String = "", scope: [UInt8], scopeSchemaURL: String = "", isProxy: Bool = false) {
        self.resource = resource
        self.resourceSchemaURL = resourceSchemaURL
        self.scope = scope
        self.scopeSchemaURL = scopeSchemaURL
        self.isProxy = isProxy
        var name = "unknown_service"
        var reader = ProtobufReader(resource)
        while let (field, value) = (try? reader.next()) ?? nil {
            guard field == 1, case .bytes(let keyValue) = value,
                SpanFacts.string(resource, in: keyValue, field: 1).elementsEqual("service.name".utf8),
                let text = AttributeText.value(resource, inKeyValue: keyValue)
            else { continue }
            name = text
        }
        serviceName = name
    }

    /// The proxy's own source: its resource (from the `OTEL_*` variables) and the
    /// `hoptrace` scope.
    public convenience init(proxy resource: TraceResource) {
        var resourceWriter = ProtobufWriter()
        for attribute in resource.attributes {
            OTLPSpanWriter.writeKeyValue(&resourceWriter, 1, attribute.key, attribute.value)
        }
        var scopeWriter = ProtobufWriter()
        scopeWriter.stringField(1, TracingScope.name)
        scopeWriter.stringField(2, TracingScope.version)
        self.init(resource: resourceWriter.finish(), scope: scopeWriter.finish(), isProxy: true)
    }

    /// What keeping it costs, roughly.
    var estimatedBytes: Int { 96 + resource.count + scope.count + resourceSchemaURL.utf8.count + scopeSchemaURL.utf8.count }

    /// True when both come from the same resource (their scopes may differ).
    public func sameResource(as other: SpanSource) -> Bool {
        self === other || (isProxy == other.isProxy && resource == other.resource && resourceSchemaURL == other.resourceSchemaURL)
    }

    public static func == (left: SpanSource, right: SpanSource) -> Bool {
        left === right || (left.isProxy == right.isProxy && left.resource == right.resource && left.scope == right.scope
            && left.resourceSchemaURL == right.resourceSchemaURL && left.scopeSchemaURL == right.scopeSchemaURL)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(resource)
        hasher.combine(scope)
        hasher.combine(isProxy)
    }
}
