import LocalServer
import Tracing

/// What the admin listener answers, as a pure function of the request and the store:
/// health, the explorer's page and files, and the JSON API the page (and scripts) read.
///
/// A browser asking for `/`, `/traces` or `/traces/{id}` (`Accept: text/html`) gets the
/// explorer; anything else gets JSON from the same URLs.
public struct AdminRoutes: Sendable {
    /// What the explorer shows besides traces.
    public struct Info: Sendable {
        /// The proxy's `service.name`.
        public var serviceName: String
        /// The OTLP receiver's address, for the hint to point backends at it; nil when off.
        public var receiver: String?
        /// `/metrics`: the exposition (OpenMetrics when asked for), its content type and text.
        public var metrics: (@Sendable (_ openMetrics: Bool) -> (contentType: String, text: String))?
        /// `/readyz`: nil when ready, else why not (starting, draining).
        public var notReady: (@Sendable () -> String?)?
        /// `/overview` as JSON: per route and upstream, rate, errors and quantiles.
        public var overview: (@Sendable () -> [UInt8])?

        public init(
            serviceName: String, receiver: String?,
            metrics: (@Sendable (_ openMetrics: Bool) -> (contentType: String, text: String))? = nil,
            notReady: (@Sendable () -> String?)? = nil, overview: (@Sendable () -> [UInt8])? = nil
        ) {
            self.serviceName = serviceName
            self.receiver = receiver
            self.metrics = metrics
            self.notReady = notReady
            self.overview = overview
        }
    }

    public let store: TraceStore?
    public let info: Info

    public init(store: TraceStore?, info: Info) {
        self.store = store
        self.info = info
    }

    /// Fields every explorer page gets: only the explorer's own files run (no inline
    /// script, nothing from elsewhere), and no other site may frame it.
    static let pageHeaders: [LocalResponse.Header] = [
        .init("Content-Security-Policy", "default-src 'self'"),
        .init("X-Content-Type-Options", "nosniff"),
        .init("X-Frame-Options", "DENY"),
        .init("Referrer-Policy", "no-referrer"),
    ]
    static let apiHeaders: [LocalResponse.Header] = [
        .init("Cache-Control", "no-store"),
        .init("X-Content-Type-Options", "nosniff"),
        .init("Vary", "Accept"),
    ]

    public func answer(_ request: LocalRequest) -> LocalResponse {
        guard request.head.methodKind == .get || request.head.methodKind == .head else {
            return .text(405, "the admin listener takes GET and HEAD only", headers: [.init("Allow", "GET, HEAD")])
        }
        let path = request.path
        let wantsPage = request.header("accept")?.contains("text/html") ?? false
        switch path {
        case "/healthz":
            return .text(200, "ok")
        case "/readyz":
            if let reason = info.notReady?() { return .text(503, "not ready: \(reason)") }
            return .text(200, "ready")
        case "/overview", "/overview/":
            if wantsPage { return page() }
            guard let overview = info.overview else { return .text(404, "no overview here: the proxy's metrics are off") }
            return LocalResponse(status: 200, contentType: "application/json", body: overview(), headers: Self.apiHeaders)
        case "/metrics":
            guard let metrics = info.metrics else { return .text(404, "no metrics here") }
            let openMetrics = request.header("accept")?.contains("application/openmetrics-text") ?? false
            let exposition = metrics(openMetrics)
            return LocalResponse(
                status: 200, contentType: exposition.contentType, body: Array(exposition.text.utf8),
                headers: [.init("Cache-Control", "no-store")])
        case "/":
            return page()
        case "/traces", "/traces/":
            return wantsPage ? page() : list(request.query)
        default:
            if path.hasPrefix("/ui/") { return asset(String(path.dropFirst(4))) }
            if path.hasPrefix("/traces/") {
                let id = String(path.dropFirst("/traces/".count))
                return wantsPage ? page() : trace(id)
            }
            if path == "/favicon.ico" { return asset("favicon.svg") }
            return .text(404, "not found: try / (the explorer), /overview, /healthz, /readyz, /metrics, /traces or /traces/{trace_id}")
        }
    }

    private func page() -> LocalResponse {
        guard let file = ExplorerAssets.files["index.html"] else { return .text(500, "the explorer was not built into this binary") }
        return LocalResponse(status: 200, contentType: file.contentType, body: file.bytes,
                             headers: Self.pageHeaders + [.init("Cache-Control", "no-cache"), .init("Vary", "Accept")])
    }

    private func asset(_ name: String) -> LocalResponse {
        guard let file = ExplorerAssets.files[name] else { return .text(404, "no explorer file \(name)") }
        return LocalResponse(status: 200, contentType: file.contentType, body: file.bytes,
                             headers: Self.pageHeaders + [.init("Cache-Control", "no-cache")])
    }

    private func list(_ query: String) -> LocalResponse {
        guard let store else { return .text(404, "traces are not kept: the admin listener has no store") }
        let parsed: TraceQuery
        do throws(TraceQueryError) {
            parsed = try TraceQuery.parse(query)
        } catch {
            return .text(400, error.description, headers: Self.apiHeaders)
        }
        let listing = store.list(parsed)
        return LocalResponse(status: 200, contentType: "application/json", body: TraceListJSON.encode(listing, info: info),
                             headers: Self.apiHeaders)
    }

    private func trace(_ id: String) -> LocalResponse {
        guard let store else { return .text(404, "traces are not kept: the admin listener has no store") }
        guard let key = TraceKey(hex: id) else { return .text(400, "a trace id is 32 hex digits", headers: Self.apiHeaders) }
        guard let snapshot = store.trace(key) else {
            return .text(404, "no trace \(key) is kept (it may have been evicted, or not have arrived yet)", headers: Self.apiHeaders)
        }
        return LocalResponse(status: 200, contentType: "application/json", body: snapshot.otlpJSON(), headers: Self.apiHeaders)
    }
}
