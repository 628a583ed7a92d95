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

    private struct Lists {
        var routes: [String] = ["_other"]
        var routeNumbers: [String: Int] = ["_other": 0]
        var groups: [String] = []
        var groupNumbers: [String: Int] = [:]
        var servers: [Server] = []
        var serverNumbers: [Server: Int] = [:]
    }

    private let lists = Mutex(Lists())

    /// 0 stands for no route (`_other`).
    func route(_ name: String) -> Int {
        lists.withLock { lists in
            if let number = lists.routeNumbers[name] { return number }
            lists.routes.append(name)
            lists.routeNumbers[name] = lists.routes.count - 1
            return lists.routes.count - 1
        }
    }

    func group(_ name: String) -> Int {
        lists.withLock { lists in
            if let number = lists.groupNumbers[name] { return number }
            lists.groups.append(name)
            lists.groupNumbers[name] = lists.groups.count - 1
            return lists.groups.count - 1
        }
    }

    func server(host: String, port: Int) -> Int {
        let server = Server(host: host, port: port)
        return lists.withLock { lists in
            if let number = lists.serverNumbers[server] { return number }
            lists.servers.append(server)
            lists.serverNumbers[server] = lists.servers.count - 1
            return lists.servers.count - 1
        }
    }

    /// The names as they stand, for one scrape.
    func snapshot() -> (routes: [String], groups: [String], servers: [Server]) {
        lists.withLock { ($0.routes, $0.groups, $0.servers) }
    }
}
