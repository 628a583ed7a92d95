import W3CTraceContext

/// Where finished spans go.
public enum SpanDestination: Sendable, Equatable {
    /// Kept in memory and served on the admin listener (the default with no endpoint).
    case memory
    /// One line per span on standard output (`OTEL_TRACES_EXPORTER=console`).
    case console
    /// OTLP/HTTP to this traces URL (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, or the
    /// per-signal variable as is).
    case otlp(String)
    /// No exporter (`OTEL_TRACES_EXPORTER=none`, or `OTEL_SDK_DISABLED=true`). With the
    /// SDK enabled, sampling and propagation go on as usual (a trusted caller's `-01`
    /// reaches the backend as `-01`); spans are only kept for the explorer, if it is on.
    case none
}

/// Tracing as configured by the standard `OTEL_*` variables.
public struct TracingSettings: Sendable, Equatable {
    public var destination: SpanDestination
    public var sampler: Sampler
    public var resource: TraceResource
    /// `OTEL_PROPAGATORS`, in order.
    public var propagators: [Propagator]
    /// `OTEL_SDK_DISABLED=true`: no spans, and propagation is a no-op: the received
    /// trace fields pass unchanged, and none are added.
    public var disabled: Bool

    /// Trust in incoming context is configuration (`tracing:` in the file), not an
    /// `OTEL_*` variable, so it lives in the proxy's runtime configuration.
    public init(
        destination: SpanDestination = .memory, sampler: Sampler = .default,
        resource: TraceResource = TraceResource(attributes: [.string("service.name", "hoptrace")]),
        propagators: [Propagator] = Propagator.defaults, disabled: Bool = false
    ) {
        self.destination = destination
        self.sampler = sampler
        self.resource = resource
        self.propagators = propagators
        self.disabled = disabled
    }

    /// Reads the environment. Bad values are reported by variable name and the default
    /// used; nothing here stops the proxy from starting.
    public static func fromEnvironment(
        _ environment: [String: String], hostName: String = "", defaultServiceName: String = "hoptrace"
    ) -> (settings: TracingSettings, problems: [String]) {
        var problems: [String] = []
        var settings = TracingSettings()
        let (sampler, samplerProblems) = Sampler.fromEnvironment(environment)
        settings.sampler = sampler
        problems += samplerProblems

        let disabled = environment["OTEL_SDK_DISABLED"]?.lowercased().trimmingCharacters(in: " \t") == "true"
        let exporter = environment["OTEL_TRACES_EXPORTER"]?.lowercased().trimmingCharacters(in: " \t") ?? ""
        let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        let generic = environment["OTEL_EXPORTER_OTLP_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        let endpoint = traces ?? generic.map { $0.hasSuffix("/") ? $0 + "v1/traces" : $0 + "/v1/traces" }
        let (propagators, propagatorProblems) = Propagator.fromEnvironment(environment["OTEL_PROPAGATORS"])
        settings.propagators = propagators
        problems += propagatorProblems
        if disabled {
            settings.destination = .none
            settings.disabled = true
        } else {
            switch exporter {
            case "none": settings.destination = .none
            case "console": settings.destination = .console
            case "", "otlp": settings.destination = endpoint.map(SpanDestination.otlp) ?? .memory
            default:
                problems.append("OTEL_TRACES_EXPORTER='\(exporter)' is not otlp, console or none; using otlp")
                settings.destination = endpoint.map(SpanDestination.otlp) ?? .memory
            }
        }

        var attributes: [SpanAttribute] = []
        if let list = environment["OTEL_RESOURCE_ATTRIBUTES"], !list.isEmpty {
            for pair in list.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !parts[0].isEmpty else {
                    problems.append("OTEL_RESOURCE_ATTRIBUTES has a malformed entry '\(pair)'; it is ignored")
                    continue
                }
                let key = String(parts[0]).trimmingCharacters(in: " \t")
                let value = PercentDecoding.decode(String(parts[1]).trimmingCharacters(in: " \t"))
                attributes.removeAll { $0.key == key }
                attributes.append(.string(key, value))
            }
        }
        let serviceName = environment["OTEL_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? attributes.first { $0.key == "service.name" }.flatMap { if case .string(let name) = $0.value { name } else { nil } }
            ?? defaultServiceName
        attributes.removeAll { $0.key == "service.name" }
        attributes.insert(.string("service.name", serviceName), at: 0)
        for (key, value) in [("telemetry.sdk.name", "hoptrace"), ("telemetry.sdk.language", "swift"),
                             ("telemetry.sdk.version", TracingScope.version), ("service.version", TracingScope.version)]
        where !attributes.contains(where: { $0.key == key }) {
            attributes.append(.string(key, value))
        }
        if !hostName.isEmpty, !attributes.contains(where: { $0.key == "host.name" }) {
            attributes.append(.string("host.name", hostName))
        }
        settings.resource = TraceResource(attributes: attributes)
        return (settings, problems)
    }
}

/// `%XX` decoding for `OTEL_*` lists (W3C Baggage rules); malformed escapes stay as they are.
enum PercentDecoding {
    static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
