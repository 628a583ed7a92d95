import Config
import Libevent
import Logging
import Synchronization
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// Looks upstream host names up again in the background, on its own thread (getaddrinfo
/// blocks): every `resolve_interval` of their group, and soon after a connect failure.
///
/// When an address changes it builds a new `RuntimeConfiguration` from the same source
/// with the new addresses and hands it to `apply`, which swaps it into every worker as a
/// reload does: requests in flight keep the servers they started with, new requests
/// connect to the new address (pools are per address). A lookup that fails keeps the last
/// good address; the failure is logged once, and again when the name resolves.
///
/// `@unchecked Sendable`: `refreshSoon` (any thread) only touches an atomic and posts to
/// the resolver's loop; every other member is used on the resolver's thread alone, after
/// `start`.
public final class UpstreamResolver: @unchecked Sendable {
    /// Resolves a host and port (nil when the name does not resolve). Blocking.
    public typealias Lookup = @Sendable (_ host: String, _ port: Int) -> [SocketAddress]?

    /// The system resolver.
    public static let system: Lookup = { host, port in try? SocketAddress.resolve(host: host, port: port) }

    /// Forced lookups after connect failures are at most this frequent.
    static let minimumRefreshMilliseconds = 1_000

    private let loop: EventLoop
    private var thread: pthread_t?
    private let lookup: Lookup
    private let logger: Logger
    private let apply: @Sendable (RuntimeConfiguration, _ generation: Int) -> Void
    private let refreshRequested = Atomic<Bool>(false)
    /// Set by `stop()`: lookups still due are skipped, nothing more is applied.
    private let stopping = Atomic<Bool>(false)
    /// A name that does not resolve and has no interval (0) is tried again this often.
    static let unresolvedRetryMilliseconds = 5_000

    // The resolver thread's own state.
    private var source: ProxyConfiguration
    private var generation: Int
    /// Each server name as configured → its current address.
    private var addresses: [String: SocketAddress] = [:]
    /// Names to look up, with their interval and when they are due (monotonic ms).
    private var names: [String: (interval: Int, due: Int64)] = [:]
    private var failing: Set<String> = []
    private var lastForced: Int64 = .min / 2
    private var timer: Timer?

    /// - Parameter apply: receives a configuration with new addresses and the
    ///   generation of the configuration it was built from (see `update`).
    public init(
        configuration: RuntimeConfiguration, generation: Int = 0, lookup: @escaping Lookup = UpstreamResolver.system,
        logger: Logger, apply: @escaping @Sendable (RuntimeConfiguration, Int) -> Void
    ) throws(SystemError) {
        loop = try EventLoop()
        self.lookup = lookup
        self.logger = logger
        self.apply = apply
        source = configuration.source
        self.generation = generation
        take(configuration)
    }

    public func start() {
        thread = spawnThread(name: "hoptrace-dns") { [self] in
            loop.run()
            timer = nil
            loop.releaseDeferred()
        }
        loop.post { [self] in scheduleNext() }
    }

    /// Stops the resolver's thread without waiting for it: a lookup in progress can block
    /// for many seconds, and nothing is applied once stopping.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        loop.post { [self] in
            timer?.cancel()
            loop.stop()
        }
        if let thread { pthread_detach(thread) }
        thread = nil
    }

    /// A reload built `configuration` (its names freshly resolved): look up from it now on.
    public func update(_ configuration: RuntimeConfiguration, generation: Int) {
        loop.post { [self] in
            source = configuration.source
            self.generation = generation
            take(configuration)
            scheduleNext()
        }
    }

    /// Asks for a lookup of every name soon (a connect failed: the server may have moved).
    /// Cheap and safe from any thread: one atomic while a request is already pending.
    public func refreshSoon() {
        guard refreshRequested.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        loop.post { [self] in
            let now = Self.nowMilliseconds()
            let earliest = lastForced + Int64(Self.minimumRefreshMilliseconds)
            for (name, entry) in names where entry.interval > 0 { names[name]!.due = min(entry.due, max(now, earliest)) }
            scheduleNext()
        }
    }

    /// Starts from the addresses and intervals of `configuration`.
    private func take(_ configuration: RuntimeConfiguration) {
        addresses = [:]
        var intervals: [String: Int] = [:]
        for group in configuration.groups.values {
            for server in group.servers { addresses[server.configured] = server.address }
            for text in group.servers.map(\.configured) + group.unresolved where Self.isName(text) {
                let interval = group.resolveIntervalMilliseconds
                if interval > 0 { intervals[text] = min(intervals[text] ?? .max, interval) } else if intervals[text] == nil { intervals[text] = 0 }
            }
        }
        failing = failing.filter { intervals[$0] != nil }
        let now = Self.nowMilliseconds()
        names = intervals.mapValues { interval in (interval, interval > 0 ? now + Int64(interval) : .max) }
        // Names that did not resolve at load are looked up again at once (and the
        // failure logged), whatever their interval.
        for group in configuration.groups.values {
            for text in group.unresolved where names[text] != nil {
                names[text]!.due = now
            }
        }
    }

    private func scheduleNext() {
        guard let due = names.values.map(\.due).min(), due != .max else {
            timer?.cancel()
            return
        }
        if timer == nil { timer = Timer(loop: loop) { [unowned self] in resolveDue() } }
        timer!.schedule(milliseconds: Int(max(0, due - Self.nowMilliseconds())), shared: false)
    }

    private func resolveDue() {
        let now = Self.nowMilliseconds()
        if refreshRequested.load(ordering: .relaxed) {
            lastForced = now
            refreshRequested.store(false, ordering: .relaxed)
        }
        var changed = false
        for (text, entry) in names.sorted(by: { $0.key < $1.key }) where entry.due <= now {
            if stopping.load(ordering: .relaxed) { return }
            if resolve(text) { changed = true }
            if entry.interval > 0 {
                names[text]!.due = now + Int64(entry.interval)
            } else {
                // No interval: only a name still unresolved is tried again.
                names[text]!.due = failing.contains(text) || addresses[text] == nil
                    ? now + Int64(Self.unresolvedRetryMilliseconds) : .max
            }
        }
        if changed, !stopping.load(ordering: .relaxed) {
            do throws(ConfigProblems) {
                apply(try RuntimeConfiguration(source, names: .given(addresses)), generation)
            } catch {
                logger.error("re-resolved upstream addresses could not be applied", metadata: ["problem": "\(error)"])
            }
        }
        scheduleNext()
    }

    /// Looks `text` up; true when its address changed.
    private func resolve(_ text: String) -> Bool {
        guard let (host, port) = try? SocketAddress.split(text) else { return false }
        let current = addresses[text]
        guard let found = lookup(host, port), let first = found.first else {
            if failing.insert(text).inserted {
                let kept = current.map { "keeping \($0)" } ?? "requests to it are answered 502 until it resolves"
                logger.warning("upstream name does not resolve; \(kept)", metadata: ["server": "\(text)"])
            }
            return false
        }
        if failing.remove(text) != nil, current != nil {
            logger.info("upstream name resolves again", metadata: ["server": "\(text)"])
        }
        // A name with several addresses may list them in any order: keep the one in use.
        if let current, found.contains(current) { return false }
        addresses[text] = first
        logger.info("upstream name now resolves to a new address", metadata: [
            "server": "\(text)", "address": "\(first)", "was": "\(current.map(\.description) ?? "unresolved")",
        ])
        return true
    }

    /// True for a host name, false for an IP literal (nothing to look up).
    static func isName(_ text: String) -> Bool {
        guard let (host, port) = try? SocketAddress.split(text) else { return false }
        return (try? SocketAddress.resolve(host: host, port: port, numericOnly: true)) == nil
    }

    static func nowMilliseconds() -> Int64 { Timestamp.monotonicNanoseconds() / 1_000_000 }
}
