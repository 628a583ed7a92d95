import ArgumentParser
import Config
import Admin
import Libevent
import Logging
import Proxy
import Tracing

#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy. SIGTERM/SIGINT drain and exit; SIGHUP reloads the configuration."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hoptrace")
        let configuration = try loadConfiguration(options.config)
        raiseOpenFileLimit(logger: logger)
        let (tracing, store, tracesGo) = makeTracing(logger: logger)
        let server: ProxyServer
        var admin: AdminServer?
        do {
            server = try ProxyServer(configuration: configuration, tracing: tracing, logger: logger)
            if let address = configuration.source.admin {
                admin = try AdminServer(address: try SocketAddress.resolve(address)[0], store: store)
            }
            try server.start()
        } catch {
            printError("hoptrace: \(error)")
            throw ExitCode(1)
        }
        admin?.start()
        logger.info("hoptrace listening", metadata: [
            "address": "\(server.boundAddress.map(\.description) ?? configuration.source.listen)",
            "workers": "\(server.workersRunning)",
            "routes": "\(configuration.routing.routes.map(\.name).joined(separator: ","))",
            "admin": "\(admin.map { "http://\($0.boundAddress)" } ?? "off")",
        ])
        logger.info("traces go to \(tracesGo(admin?.boundAddress))")
        try Supervisor(server: server, configPath: options.config, logger: logger).run()
        server.join()
        admin?.stop()
    }
}

/// The main thread after start-up: waits for signals on its own event loop.
/// SIGHUP reloads; SIGTERM/SIGINT drain (bounded by `timeouts.drain`) and exit 0.
final class Supervisor {
    private let server: ProxyServer
    private let configPath: String
    private let logger: Logger
    private let loop: EventLoop
    private var watchers: [SignalWatcher] = []
    private var drainTimer: Timer?

    init(server: ProxyServer, configPath: String, logger: Logger) throws {
        self.server = server
        self.configPath = configPath
        self.logger = logger
        self.loop = try EventLoop()
    }

    func run() throws {
        // A parent may have left signals blocked (posix_spawn passes its mask on): unblock
        // the ones we handle, or SIGTERM and SIGHUP would never arrive.
        var handled = sigset_t()
        sigemptyset(&handled)
        for number in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handled, number) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        watchers = [
            try SignalWatcher(loop: loop, signal: SIGTERM) { [unowned self] in shutDown(signal: "SIGTERM") },
            try SignalWatcher(loop: loop, signal: SIGINT) { [unowned self] in shutDown(signal: "SIGINT") },
            try SignalWatcher(loop: loop, signal: SIGHUP) { [unowned self] in reload() },
        ]
        loop.run()
        watchers.removeAll()
        drainTimer = nil
        loop.releaseDeferred()
    }

    private func reload() {
        logger.info("reloading configuration", metadata: ["config": "\(configPath)"])
        do throws(ConfigProblems) {
            let source = try ConfigLoader.load(path: configPath)
            let configuration = try RuntimeConfiguration(source)
            try server.reload(configuration)
            logger.info("configuration reloaded", metadata: ["routes": "\(configuration.routing.routes.count)"])
        } catch {
            logger.error("reload failed; keeping the running configuration", metadata: ["problems": "\(error.problems.count)"])
            for problem in error.problems { logger.error("config problem", metadata: ["problem": "\(problem)"]) }
        }
    }

    private func shutDown(signal: String) {
        guard drainTimer == nil else {
            logger.warning("second signal: exiting now", metadata: ["signal": "\(signal)"])
            exit(0)
        }
        let deadline = server.configuration.timeouts.drain
        logger.info("draining", metadata: ["signal": "\(signal)", "deadline_ms": "\(deadline)"])
        let loop = self.loop
        drainTimer = Timer(loop: loop) { [unowned self] in
            logger.warning("drain deadline passed; exiting with requests still in flight")
            exit(0)
        }
        drainTimer!.schedule(milliseconds: deadline)
        server.drain { loop.stop() }
    }
}

/// Raises the soft limit on open descriptors to the hard limit: every proxied request
/// holds two sockets, and the usual soft default (1024) is reached quickly.
func raiseOpenFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
        logger.warning("could not raise the open file limit", metadata: ["limit": "\(limit.rlim_cur)"])
    }
}

/// Tracing from the standard `OTEL_*` variables: the settings, the in-memory store (when
/// spans are kept locally), and a sentence for the start-up log saying where traces go.
func makeTracing(logger: Logger) -> (TracingSetup, TraceStore?, (SocketAddress?) -> String) {
    var hostName = [CChar](repeating: 0, count: 256)
    gethostname(&hostName, hostName.count)
    let environment = processEnvironment()
    let (settings, problems) = TracingSettings.fromEnvironment(
        environment, hostName: String(decoding: hostName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    for problem in problems { logger.warning("tracing configuration", metadata: ["problem": "\(problem)"]) }
    switch settings.destination {
    case .none:
        return (TracingSetup(settings: settings, exporter: nil), nil, { _ in "nowhere: tracing is off (traceparent is still sent upstream, unsampled)" })
    case .console:
        return (TracingSetup(settings: settings, exporter: ConsoleSpanExporter()), nil, { _ in "standard output, one line per span" })
    case .memory:
        let store = TraceStore(resource: settings.resource)
        return (TracingSetup(settings: settings, exporter: store), store, { admin in
            admin.map { "memory: recent traces at http://\($0)/traces" } ?? "memory, but the admin listener is off (admin: null), so nothing can read them"
        })
    case .otlp(let endpoint):
        let (exporterSettings, exporterProblems) = OTLPExporterSettings.fromEnvironment(url: endpoint, environment)
        for problem in exporterProblems { logger.warning("tracing configuration", metadata: ["problem": "\(problem)"]) }
        guard let exporterSettings else {
            let store = TraceStore(resource: settings.resource)
            return (TracingSetup(settings: settings, exporter: store), store, { admin in
                "memory (the OTLP endpoint is unusable)" + (admin.map { ": http://\($0)/traces" } ?? "")
            })
        }
        let exporter = OTLPHTTPExporter(settings: exporterSettings, resource: settings.resource, logger: logger)
        let format = exporterSettings.json ? "http/json" : "http/protobuf"
        return (TracingSetup(settings: settings, exporter: exporter, queueCapacity: exporterSettings.maxQueueSize), nil, { _ in
            "\(endpoint) (OTLP \(format)\(exporterSettings.gzip ? ", gzip" : ""), service.name=\(settings.resource.serviceName ?? "hoptrace"))"
        })
    }
}

/// The process environment, read without Foundation.
func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        cursor += 1
    }
    return result
}
