import Synchronization

/// Label values the metrics share across workers and reloads, each given a small number
/// once (a route's name, an upstream group's, a server's host and port), so a worker
/// keys its counters by numbers and the scrape turns them back into text.
///
/// Only configured names get numbers: never a path, a client address or a Host field.
/// The set grows on reload and never shrinks (a series that existed stays valid).
final class MetricNames: Sendable {
    static let shared = MetricNames()

    struct Server: Sendable, Hashable {
        var host: String
        var port: Int
    }

    /// Values in the order they were first seen; a value's number is its place.
    private struct Numbering<Value: Hashable & Sendable>: Sendable {
        var values: [Value] = []
        var numbers: [Value: Int] = [:]

        init(_ first: [Value] = []) {
            for value in first { _ = number(value) }
        }

        mutating func number(_ value: Value) -> Int {
            if let number = numbers[value] { return number }
            values.append(value)
            numbers[value] = values.count - 1
            return values.count - 1
        }
    }

    private struct Lists {
        var routes = Numbering(["_other"])
        var groups = Numbering<String>()
        var servers = Numbering<Server>()
    }

    private let lists = Mutex(Lists())

    /// 0 stands for no route (`_other`).
    func route(_ name: String) -> Int { lists.withLock { $0.routes.number(name) } }

    func group(_ name: String) -> Int { lists.withLock { $0.groups.number(name) } }

    func server(host: String, port: Int) -> Int {
        lists.withLock { $0.servers.number(Server(host: host, port: port)) }
    }

    /// The names as they stand, for one scrape.
    func snapshot() -> (routes: [String], groups: [String], servers: [Server]) {
        lists.withLock { ($0.routes.values, $0.groups.values, $0.servers.values) }
    }
}
