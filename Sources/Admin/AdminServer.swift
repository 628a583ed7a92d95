import Libevent
import LocalServer
import Tracing

/// The admin listener: health, the trace explorer and its JSON API. Its own thread and
/// event loop (a `LocalHTTPServer`), apart from the workers, so that looking at traces
/// never competes with proxying; keep-alive, many connections at once.
public final class AdminServer: Sendable {
    private let server: LocalHTTPServer

    /// Binds `address` now (so a port in use is reported at start-up).
    public init(address: SocketAddress, store: TraceStore?, info: AdminRoutes.Info = AdminRoutes.Info(serviceName: "hoptrace", receiver: nil)) throws(SystemError) {
        // Requests to the admin listener have no body worth reading.
        var options = LocalHTTPServer.Options()
        options.maxBodyBytes = 64 * 1024
        options.maxBufferedBodyBytes = 1024 * 1024
        server = try LocalHTTPServer(address: address, name: "hoptrace-admin", options: options, handler: RoutesHandler(AdminRoutes(store: store, info: info)))
    }

    public var boundAddress: SocketAddress { server.boundAddress }

    public func start() { server.start() }
    public func stop() { server.stop() }
}

/// Hands each request to the routes.
private final class RoutesHandler: LocalHTTPHandler {
    let routes: AdminRoutes

    init(_ routes: AdminRoutes) {
        self.routes = routes
    }

    func respond(to request: LocalRequest) -> LocalResponse { routes.answer(request) }
}
