import Yams

extension ConfigReader {
    mutating func upstreams(_ node: Node) -> [String: ProxyConfiguration.Upstream] {
        var upstreams: [String: ProxyConfiguration.Upstream] = [:]
        eachEntry("upstreams", node) { reader, name, _, value in
            reader.declaredUpstreams.insert(name)
            if let upstream = reader.upstream(name, value) { upstreams[name] = upstream }
        }
        if declaredUpstreams.isEmpty, node.mapping != nil { problem("upstreams", node, "at least one upstream is needed") }
        return upstreams
    }

    mutating func upstream(_ name: String, _ node: Node) -> ProxyConfiguration.Upstream? {
        let base = "upstreams.\(name)"
        var servers: [ProxyConfiguration.Server] = []
        var maxIdle: Int?
        var idleTimeout: Int?
        var resolveInterval: Int?
        var sawServers = false
        eachEntry(base, node) { reader, key, keyNode, value in
            switch key {
            case "servers":
                sawServers = true
                guard let list = value.sequence else {
                    reader.problem("\(base).servers", value, "must be a list of host:port or http://host:port")
                    return
                }
                for (index, item) in list.enumerated() {
                    let key = "\(base).servers[\(index)]"
                    if let address = reader.serverAddress(key, item) {
                        servers.append(.init(address: address, key: key, line: item.mark?.line))
                    }
                }
                if list.isEmpty { reader.problem("\(base).servers", value, "must list at least one server") }
            case "keepalive":
                reader.eachEntry("\(base).keepalive", value) { reader, key, keyNode, value in
                    let path = "\(base).keepalive.\(key)"
                    switch key {
                    case "max_idle": maxIdle = reader.integer(path, value, minimum: 0)
                    case "idle_timeout": idleTimeout = reader.duration(path, value)
                    default: reader.problem(path, keyNode, "unknown key (expected max_idle, idle_timeout)")
                    }
                }
            case "resolve_interval":
                resolveInterval = reader.resolveInterval("\(base).resolve_interval", value)
            default:
                reader.problem("\(base).\(key)", keyNode, "unknown key (expected servers, keepalive, resolve_interval)")
            }
        }
        if !sawServers { problem("\(base).servers", node, "missing: list the upstream's servers") }
        guard !servers.isEmpty else { return nil }
        var upstream = ProxyConfiguration.Upstream(servers: servers)
        if let maxIdle { upstream.maxIdle = maxIdle }
        if let idleTimeout { upstream.idleTimeout = idleTimeout }
        if let resolveInterval { upstream.resolveInterval = resolveInterval }
        return upstream
    }

    /// The shortest `resolve_interval` but 0: a lookup per server every few milliseconds
    /// would be a load on the resolver, not a configuration.
    static let minimumResolveInterval = 100

    /// 0 (never re-resolve: names are looked up at load and reload only), or a duration of
    /// at least `minimumResolveInterval` milliseconds.
    mutating func resolveInterval(_ key: String, _ node: Node) -> Int? {
        guard let text = scalar(key, node) else { return nil }
        if let milliseconds = Self.parseDuration(text) {
            // Zero as written, not a fraction of a millisecond rounded down to it.
            let writtenZero = !text.contains { ("1"..."9").contains($0) }
            if milliseconds >= Self.minimumResolveInterval || (milliseconds == 0 && writtenZero) { return milliseconds }
        }
        problem(key, node, "must be 0 (never re-resolve) or a duration of at least \(Self.minimumResolveInterval)ms, like 5s, not '\(text)'")
        return nil
    }

    /// `off`, `on` (the global sampler, as with no key), or `{ ratio: 0.05 }`.
    mutating func routeTracing(_ key: String, _ node: Node) -> ProxyConfiguration.RouteTracing? {
        if let text = node.scalar?.string {
            switch text {
            case "off", "false", "no": return .off
            case "on", "true", "yes": return nil
            default:
                problem(key, node, "must be off, on, or { ratio: 0.05 }, not '\(text)'")
                return nil
            }
        }
        var ratio: Double?
        eachEntry(key, node) { reader, name, keyNode, value in
            guard name == "ratio" else {
                reader.problem("\(key).\(name)", keyNode, "unknown key (expected ratio)")
                return
            }
            guard let text = reader.scalar("\(key).ratio", value) else { return }
            if let number = Double(text), number >= 0, number <= 1 {
                ratio = number
            } else {
                reader.problem("\(key).ratio", value, "must be a number from 0 to 1, not '\(text)'")
            }
        }
        return ratio.map(ProxyConfiguration.RouteTracing.ratio)
    }

    mutating func routes(_ node: Node, upstreams: [String: ProxyConfiguration.Upstream]) -> [ProxyConfiguration.Route] {
        guard let list = node.sequence else {
            problem("routes", node, "must be a list of routes")
            return []
        }
        if list.isEmpty { problem("routes", node, "at least one route is needed") }
        var routes: [ProxyConfiguration.Route] = []
        var names: Set<String> = []
        for (index, item) in list.enumerated() {
            let base = "routes[\(index)]"
            var name: String?
            var host: String?
            var path: String?
            var prefix: String?
            var strip = false
            var upstream: String?
            var tracing: ProxyConfiguration.RouteTracing?
            eachEntry(base, item) { reader, key, keyNode, value in
                let keyPath = "\(base).\(key)"
                switch key {
                case "name": name = reader.scalar(keyPath, value)
                case "host": host = reader.scalar(keyPath, value)
                case "path": path = reader.scalar(keyPath, value)
                case "path_prefix": prefix = reader.scalar(keyPath, value)
                case "strip_prefix": strip = reader.bool(keyPath, value)
                case "upstream": upstream = reader.scalar(keyPath, value)
                case "tracing": tracing = reader.routeTracing(keyPath, value)
                default: reader.problem(keyPath, keyNode, "unknown key (expected name, host, path, path_prefix, strip_prefix, upstream, tracing)")
                }
            }
            let label = name ?? base
            if name == nil { problem("\(base).name", item, "missing: every route needs a name") }
            if let name {
                if !names.insert(name).inserted { problem("\(base).name", item, "duplicate route name '\(name)'") }
            }
            if let host, host.isEmpty || host.contains("/") || host.contains(" ") || (host.contains("*") && !host.hasPrefix("*.")) {
                problem("\(base).host", item, "must be a host name or *.suffix, not '\(host)'")
            }
            let match: ProxyConfiguration.PathMatch?
            switch (path, prefix) {
            case (let exact?, nil): match = .exact(exact)
            case (nil, let prefix?): match = .prefix(prefix)
            case (nil, nil):
                problem(base, item, "route '\(label)' needs path or path_prefix")
                match = nil
            case (_?, _?):
                problem(base, item, "route '\(label)' has both path and path_prefix; use one")
                match = nil
            }
            if let text = path ?? prefix, !text.hasPrefix("/") {
                problem("\(base).\(path != nil ? "path" : "path_prefix")", item, "must start with '/', not '\(text)'")
            }
            if strip, path != nil { problem("\(base).strip_prefix", item, "only applies with path_prefix") }
            if let upstream {
                if upstreams[upstream] == nil, !declaredUpstreams.contains(upstream) {
                    problem("\(base).upstream", item, "unknown upstream '\(upstream)' (defined: \(declaredUpstreams.sorted().joined(separator: ", ")))")
                }
            } else {
                problem("\(base).upstream", item, "missing: name the upstream this route sends to")
            }
            if let name, let match, let upstream {
                routes.append(.init(name: name, host: host, match: match, stripPrefix: strip, upstream: upstream, tracing: tracing))
            }
        }
        return routes
    }
}
