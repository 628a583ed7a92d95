import ArgumentParser
import Config
import Admin
import Libevent
import Logging
import Proxy
import Receiver
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
        // A name that does not resolve yet is looked up again in the background (compose
        // and Kubernetes start services in any order); `check` reports it.
        let configuration = try loadConfiguration(options.config, names: .whenAvailable)
        let source = configuration.source
        raiseOpenFileLimit(logger: logger)
        // The store behind the explorer: the proxy's spans and received ones. It needs
        // the admin listener to be read.
        let store = source.admin == nil ? nil : TraceStore(limits: TraceStore.Limits(source.store))
        let (tracing, tracesGo) = makeTracing(store: store, concurrentExports: source.tracing.maxConcurrentExports, logger: logger)
        let server: ProxyServer
        let status = ProcessStatus()
        var admin: AdminServer?
        var receiver: OTLPReceiver?
        do {
            server = try ProxyServer(configuration: configuration, tracing: tracing, logger: logger)
            if let settings = source.receiver {
                var forwarder: (@Sendable ([UInt8], Int) -> Void)?
                if tracing.canForward { forwarder = { @Sendable request, spans in tracing.forward(request, spanCount: spans) } }
                receiver = try OTLPReceiver(
                    address: try SocketAddress.resolve(settings.listen)[0], settings: OTLPIngest.Settings(settings),
                    store: store, forwarder: forwarder, logger: logger)
                if settings.forward, forwarder == nil {
                    logger.info("receiver.forward is on, but spans are not exported over OTLP (no OTEL_EXPORTER_OTLP_ENDPOINT): received spans are kept for the explorer only")
                }
            }
            if let address = source.admin {
                let info = AdminRoutes.Info(
                    serviceName: tracing.settings.resource.serviceName ?? "hoptrace",
                    receiver: receiver.map { "\($0.boundAddress)" },
                    metrics: { [server, receiver] openMetrics in
                        status.exposition(server: server, tracing: tracing, receiver: receiver, store: store, openMetrics: openMetrics)
                    },
                    notReady: { status.notReady },
                    overview: { [server] in server.metrics.overview().json(configuration: server.configuration) })
                admin = try AdminServer(address: try SocketAddress.resolve(address)[0], store: store, info: info)
            }
            try server.start()
        } catch {
            printError("hoptrace: \(error)")
            throw ExitCode(1)
        }
        admin?.start()
        receiver?.start()
        status.didStart()
        logger.info("hoptrace listening", metadata: [
            "address": "\(server.boundAddress.map(\.description) ?? configuration.source.listen)",
            "workers": "\(server.workersRunning)",
            "routes": "\(configuration.routing.routes.map(\.name).joined(separator: ","))",
            "admin": "\(admin.map { "http://\($0.boundAddress)" } ?? "off")",
            "otlp_receiver": "\(receiver.map { "http://\($0.boundAddress)" } ?? "off")",
        ])
        logger.info("traces go to \(tracesGo)")
        if let admin {
            let hint = receiver.map { "; point backends at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://\($0.boundAddress)" } ?? ""
            logger.info("trace explorer at http://\(admin.boundAddress)/\(hint)")
        }
        let supervisor = try Supervisor(server: server, configPath: options.config, status: status, logger: logger) { [receiver] source in
            // What of the receiver and the store a reload may change.
            store?.setLimits(TraceStore.Limits(source.store))
            if let receiver, let settings = source.receiver {
                receiver.apply(OTLPIngest.Settings(settings))
            }
            if source.receiver?.listen != configuration.source.receiver?.listen {
                logger.warning("receiver.listen changes need a restart; keeping the receiver as it is")
            }
        }
        try supervisor.run()
        receiver?.stop()
        server.join()
        admin?.stop()
    }
}

extension TraceStore.Limits {
    init(_ store: ProxyConfiguration.Store) {
        self.init(maxTraces: store.maxTraces, maxBytes: store.maxBytes, maxSpansPerTrace: store.maxSpansPerTrace,
                  settleNanoseconds: UInt64(store.settleTime) * 1_000_000)
    }
}

extension OTLPIngest.Settings {
    init(_ receiver: ProxyConfiguration.Receiver) {
        self.init(maxBodyBytes: receiver.maxBodyBytes, forward: receiver.forward)
    }
}

/// The main thread after start-up: waits for signals on its own event loop.
/// SIGHUP reloads; SIGTERM/SIGINT drain (bounded by `timeouts.drain`) and exit 0.
final class Supervisor {
    private let server: ProxyServer
    private let configPath: String
    private let status: ProcessStatus
    private let logger: Logger
    private let loop: EventLoop
    private var watchers: [SignalWatcher] = []
    private var drainTimer: Timer?
    /// Applies what else a reload changes (the receiver's settings, the store's limits).
    private let didReload: (ProxyConfiguration) -> Void

    init(
        server: ProxyServer, configPath: String, status: ProcessStatus, logger: Logger,
        didReload: @escaping (ProxyConfiguration) -> Void
    ) throws {
        self.server = server
        self.status = status
        self.configPath = configPath
        self.logger = logger
        self.didReload = didReload
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
            let configuration = try RuntimeConfiguration(source, names: .whenAvailable)
            try server.reload(configuration)
            didReload(source)
            status.didReload(ok: true)
            logger.info("configuration reloaded", metadata: ["routes": "\(configuration.routing.routes.count)"])
        } catch {
            status.didReload(ok: false)
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
        status.didBeginDraining()
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

/// Tracing from the standard `OTEL_*` variables: the settings and the pipeline (to
/// `store` as well, when there is one), and a sentence for the start-up log saying
/// where traces go.
func makeTracing(store: TraceStore?, concurrentExports: Int, logger: Logger) -> (TracingSetup, String) {
    var hostName = [CChar](repeating: 0, count: 256)
    gethostname(&hostName, hostName.count)
    let environment = processEnvironment()
    let (settings, problems) = TracingSettings.fromEnvironment(
        environment, hostName: String(decoding: hostName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    for problem in problems { logger.warning("tracing configuration", metadata: ["problem": "\(problem)"]) }
    let kept = store == nil ? "" : ", and kept for the explorer"
    switch settings.destination {
    case .none where settings.disabled:
        return (TracingSetup(settings: settings, exporter: nil, store: store),
                "nowhere: tracing is disabled (OTEL_SDK_DISABLED=true); trace fields pass upstream unchanged and none are added")
    case .none:
        return (TracingSetup(settings: settings, exporter: nil, store: store),
                "nowhere exported (OTEL_TRACES_EXPORTER=none): sampled and propagated as usual" + kept)
    case .console:
        return (TracingSetup(settings: settings, exporter: ConsoleSpanExporter(), store: store), "standard output, one line per span" + kept)
    case .memory:
        return (TracingSetup(settings: settings, exporter: nil, store: store),
                store == nil ? "nowhere: no exporter is set and the admin listener is off (admin: null), so no explorer either" : "memory: the explorer")
    case .otlp(let endpoint):
        var (exporterSettings, exporterProblems) = OTLPExporterSettings.fromEnvironment(url: endpoint, environment)
        exporterSettings?.maxConcurrentExports = concurrentExports
        for problem in exporterProblems { logger.warning("tracing configuration", metadata: ["problem": "\(problem)"]) }
        guard let exporterSettings else {
            return (TracingSetup(settings: settings, exporter: nil, store: store), "memory (the OTLP endpoint is unusable)")
        }
        let exporter = OTLPHTTPExporter(settings: exporterSettings, resource: settings.resource, logger: logger)
        let format = exporterSettings.json ? "http/json" : "http/protobuf"
        return (TracingSetup(settings: settings, exporter: exporter, store: store, queueCapacity: exporterSettings.maxQueueSize),
                "\(endpoint) (OTLP \(format)\(exporterSettings.gzip ? ", gzip" : ""), service.name=\(settings.resource.serviceName ?? "hoptrace"))" + kept)
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
