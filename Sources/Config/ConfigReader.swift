import HTTP1
import Yams

/// Walks the YAML tree, building the configuration and noting each problem.
struct ConfigReader {
    var problems: [ConfigProblem] = []
    /// Every upstream name in the file, valid or not: a route naming one whose servers
    /// have a problem is not reported again as naming an unknown upstream.
    var declaredUpstreams: Set<String> = []

    mutating func problem(_ key: String, _ node: Node?, _ message: String) {
        problems.append(ConfigProblem(key: key, line: node?.mark?.line, message: message))
    }

    mutating func read(_ root: Node?) -> ProxyConfiguration {
        var configuration = ProxyConfiguration()
        guard let root else {
            problem("", nil, "the configuration is empty: it needs at least routes and upstreams")
            return configuration
        }
        guard let mapping = root.mapping else {
            problem("", root, "the configuration must be a mapping of keys")
            return configuration
        }
        var routesNode: Node?
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "listen":
                if let text = listenAddress(key, value) { configuration.listen = text }
            case "workers":
                configuration.workers = workers(value)
            case "admin":
                if isNull(value) { configuration.admin = nil } else if let text = listenAddress(key, value) { configuration.admin = text }
            case "access_log":
                configuration.accessLog = accessLog(value)
            case "access_log_format":
                if let text = scalar(key, value) {
                    if let format = ProxyConfiguration.AccessLogFormat(rawValue: text) {
                        configuration.accessLogFormat = format
                    } else {
                        problem(key, value, "must be text or json, not '\(text)'")
                    }
                }
            case "timeouts":
                configuration.timeouts = timeouts(value)
            case "limits":
                configuration.limits = limits(value)
            case "routes":
                routesNode = value
            case "upstreams":
                configuration.upstreams = upstreams(value)
            case "tracing":
                configuration.tracing = tracing(value)
            case "receiver":
                configuration.receiver = isNull(value) ? nil : receiver(value)
            case "store":
                configuration.store = store(value)
            case "request_id":
                configuration.requestID = requestID(value)
            default:
                problem(key, keyNode, "unknown key (expected listen, workers, admin, access_log, access_log_format, timeouts, limits, routes, upstreams, tracing, receiver, store, request_id)")
            }
        }
        if let routesNode {
            configuration.routes = routes(routesNode, upstreams: configuration.upstreams)
        } else {
            problem("routes", nil, "missing: at least one route is needed")
        }
        if mapping["upstreams"] == nil {
            problem("upstreams", nil, "missing: at least one upstream is needed")
        }
        return configuration
    }

    // MARK: Scalars

    func isNull(_ node: Node) -> Bool {
        node.tag.description.hasSuffix("null") || node.scalar?.string == "null" || node.scalar?.string == "~"
    }

    mutating func scalar(_ key: String, _ node: Node) -> String? {
        guard let text = node.scalar?.string else {
            problem(key, node, "must be a single value")
            return nil
        }
        return text
    }

    /// A header name, or `off`. Not a field the proxy decides on itself (Host, framing,
    /// hop-by-hop, forwarding and trace fields).
    mutating func requestID(_ node: Node) -> String? {
        if isNull(node) { return nil }
        guard let text = scalar("request_id", node) else { return "x-request-id" }
        if ["off", "false", "no"].contains(text) { return nil }
        let name = text.lowercased()
        let isToken = !name.isEmpty && name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
        guard isToken else {
            problem("request_id", node, "must be a header name like x-request-id, or off, not '\(text)'")
            return "x-request-id"
        }
        let kind = name.utf8.withContiguousStorageIfAvailable { FieldKind.classify(UnsafeRawBufferPointer($0)) } ?? .other
        guard kind == .other else {
            problem("request_id", node, "'\(text)' is a field the proxy sets or reads itself; name another header")
            return "x-request-id"
        }
        return name
    }

    mutating func workers(_ node: Node) -> Int? {
        guard let text = scalar("workers", node) else { return nil }
        if text == "auto" { return nil }
        guard let count = Int(text), (1...1024).contains(count) else {
            problem("workers", node, "must be auto or a number from 1 to 1024, not '\(text)'")
            return nil
        }
        return count
    }

    mutating func accessLog(_ node: Node) -> ProxyConfiguration.AccessLogTarget {
        guard let text = scalar("access_log", node) else { return .stdout }
        switch text {
        case "stdout": return .stdout
        case "off", "false", "no": return .off
        case "": problem("access_log", node, "must be stdout, off or a file path"); return .stdout
        default: return .file(text)
        }
    }

    mutating func bool(_ key: String, _ node: Node) -> Bool {
        switch node.scalar?.string {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(key, node, "must be true or false")
            return false
        }
    }

    mutating func integer(_ key: String, _ node: Node, minimum: Int) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        guard let value = Int(text), value >= minimum else {
            problem(key, node, "must be a whole number of at least \(minimum), not '\(text)'")
            return nil
        }
        return value
    }

    mutating func integer(_ key: String, _ node: Node, in range: ClosedRange<Int>) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            problem(key, node, "must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            return nil
        }
        return value
    }

    /// `250ms`, `5s`, `2m`, `1h`, or a bare number of seconds → milliseconds.
    mutating func duration(_ key: String, _ node: Node) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        if let milliseconds = Self.parseDuration(text), milliseconds > 0 { return milliseconds }
        problem(key, node, "must be a positive duration like 250ms, 5s, 2m or 1h, not '\(text)'")
        return nil
    }

    /// A number of bytes: `1048576`, or with a unit: `512KiB`, `16MiB`, `1GiB` (also
    /// KB, MB, GB, read as the same powers of two).
    mutating func byteSize(_ key: String, _ node: Node, minimum: Int) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        if let bytes = Self.parseByteSize(text), bytes >= minimum { return bytes }
        problem(key, node, "must be a size of at least \(ConfigFile.describe(bytes: minimum)), like 16MiB or 1048576, not '\(text)'")
        return nil
    }

    mutating func byteSize(_ key: String, _ node: Node, in range: ClosedRange<Int>) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        if let bytes = Self.parseByteSize(text), range.contains(bytes) { return bytes }
        problem(key, node, "must be a size from \(ConfigFile.describe(bytes: range.lowerBound)) to \(ConfigFile.describe(bytes: range.upperBound)), like 64KiB or 65536, not '\(text)'")
        return nil
    }

    static func parseByteSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Int(String(text.dropLast(suffix.count).filter { $0 != " " })), number >= 0, number <= (1 << 40) / scale else { return nil }
            return number * scale
        }
        guard let number = Int(text), number >= 0 else { return nil }
        return number
    }

    static func parseDuration(_ text: String) -> Int? {
        let units: [(String, Int)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number >= 0, number < 1e9 else { return nil }
            return Int(number * Double(scale))
        }
        guard let seconds = Double(text), seconds >= 0, seconds < 1e9 else { return nil }
        return Int(seconds * 1000)
    }

    // MARK: Sections

    mutating func eachEntry(_ key: String, _ node: Node, _ body: (inout ConfigReader, String, Node, Node) -> Void) {
        guard let mapping = node.mapping else {
            problem(key, node, "must be a mapping")
            return
        }
        for (keyNode, value) in mapping {
            body(&self, keyNode.string ?? "", keyNode, value)
        }
    }

    mutating func timeouts(_ node: Node) -> ProxyConfiguration.Timeouts {
        var timeouts = ProxyConfiguration.Timeouts()
        eachEntry("timeouts", node) { reader, key, keyNode, value in
            let path = "timeouts.\(key)"
            switch key {
            case "connect": timeouts.connect = reader.duration(path, value) ?? timeouts.connect
            case "request_header": timeouts.requestHeader = reader.duration(path, value) ?? timeouts.requestHeader
            case "upstream_header": timeouts.upstreamHeader = reader.duration(path, value) ?? timeouts.upstreamHeader
            case "idle": timeouts.idle = reader.duration(path, value) ?? timeouts.idle
            case "drain": timeouts.drain = reader.duration(path, value) ?? timeouts.drain
            case "tunnel": timeouts.tunnel = reader.duration(path, value) ?? timeouts.tunnel
            default: reader.problem(path, keyNode, "unknown timeout (expected connect, request_header, upstream_header, idle, drain, tunnel)")
            }
        }
        return timeouts
    }

    static let neverCaptured: Set<String> = ["authorization", "cookie", "set-cookie", "proxy-authorization"]

    mutating func tracing(_ node: Node) -> ProxyConfiguration.Tracing {
        var tracing = ProxyConfiguration.Tracing()
        eachEntry("tracing", node) { reader, key, keyNode, value in
            let path = "tracing.\(key)"
            switch key {
            case "trusted_networks":
                guard let list = value.sequence else {
                    reader.problem(path, value, "must be a list of CIDR blocks like 10.0.0.0/8")
                    return
                }
                tracing.trustedNetworks = list.enumerated().compactMap { index, item in
                    reader.scalar("\(path)[\(index)]", item).map { .init(address: $0, key: "\(path)[\(index)]", line: item.mark?.line) }
                }
            case "untrusted_context":
                if let text = reader.scalar(path, value) {
                    if text == "continue" || text == "ignore" { tracing.untrustedContext = text } else {
                        reader.problem(path, value, "must be continue or ignore, not '\(text)'")
                    }
                }
            case "traceresponse": tracing.traceResponse = reader.bool(path, value)
            case "server_timing": tracing.serverTiming = reader.bool(path, value)
            case "capture_request_headers", "capture_response_headers":
                guard let list = value.sequence else {
                    reader.problem(path, value, "must be a list of header names")
                    return
                }
                var names: [String] = []
                for (index, item) in list.enumerated() {
                    guard let name = reader.scalar("\(path)[\(index)]", item)?.lowercased() else { continue }
                    if Self.neverCaptured.contains(name) {
                        reader.problem("\(path)[\(index)]", item, "\(name) is never recorded: it carries credentials")
                    } else if name.isEmpty || name.contains(" ") || name.contains(":") {
                        reader.problem("\(path)[\(index)]", item, "'\(name)' is not a header name")
                    } else {
                        names.append(name)
                    }
                }
                if key == "capture_request_headers" { tracing.captureRequestHeaders = names } else { tracing.captureResponseHeaders = names }
            case "max_concurrent_exports":
                if let number = reader.integer(path, value, in: 1...64) { tracing.maxConcurrentExports = number }
            case "keep":
                reader.eachEntry(path, value) { reader, key, keyNode, value in
                    switch key {
                    case "errors": tracing.keep.errors = reader.bool("\(path).errors", value)
                    case "slower_than": tracing.keep.slowerThan = reader.duration("\(path).slower_than", value)
                    default: reader.problem("\(path).\(key)", keyNode, "unknown key (expected errors, slower_than)")
                    }
                }
            default:
                reader.problem(path, keyNode, "unknown key (expected trusted_networks, untrusted_context, traceresponse, server_timing, capture_request_headers, capture_response_headers, max_concurrent_exports, keep)")
            }
        }
        return tracing
    }

    mutating func receiver(_ node: Node) -> ProxyConfiguration.Receiver {
        var receiver = ProxyConfiguration.Receiver()
        eachEntry("receiver", node) { reader, key, keyNode, value in
            let path = "receiver.\(key)"
            switch key {
            case "listen": receiver.listen = reader.listenAddress(path, value) ?? receiver.listen
            case "forward": receiver.forward = reader.bool(path, value)
            case "max_body_bytes": receiver.maxBodyBytes = reader.byteSize(path, value, minimum: 1024) ?? receiver.maxBodyBytes
            default: reader.problem(path, keyNode, "unknown key (expected listen, forward, max_body_bytes)")
            }
        }
        return receiver
    }

    mutating func store(_ node: Node) -> ProxyConfiguration.Store {
        var store = ProxyConfiguration.Store()
        eachEntry("store", node) { reader, key, keyNode, value in
            let path = "store.\(key)"
            switch key {
            case "max_traces": store.maxTraces = reader.integer(path, value, minimum: 1) ?? store.maxTraces
            case "max_bytes": store.maxBytes = reader.byteSize(path, value, minimum: 64 * 1024) ?? store.maxBytes
            case "max_spans_per_trace": store.maxSpansPerTrace = reader.integer(path, value, minimum: 1) ?? store.maxSpansPerTrace
            case "settle_time": store.settleTime = reader.duration(path, value) ?? store.settleTime
            default: reader.problem(path, keyNode, "unknown key (expected max_traces, max_bytes, max_spans_per_trace, settle_time)")
            }
        }
        return store
    }
}
