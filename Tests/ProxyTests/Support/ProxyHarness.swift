import Config
import Foundation
import Libevent
import Logging
import Proxy
import Tracing

/// An in-process hoptrace on 127.0.0.1:0 with one worker and no access log.
/// `yaml` holds the routes, upstreams and anything else the test sets.
final class ProxyHarness {
    let server: ProxyServer
    let port: Int

    /// With `lookup`, upstream names are resolved by it alone (none at start: the
    /// background resolver finds them), never by the system's resolver.
    init(
        _ yaml: String, workers: Int = 1, accessLog: String = "off", format: String = "text", tracing: TracingSetup = .off,
        lookup: UpstreamResolver.Lookup? = nil
    ) throws {
        let text = "listen: \"127.0.0.1:0\"\nworkers: \(workers)\naccess_log: \(accessLog)\naccess_log_format: \(format)\nadmin: null\n" + yaml
        let source = try ConfigLoader.parse(yaml: text)
        let configuration = try RuntimeConfiguration(source, names: lookup == nil ? .required : .given([:]))
        server = try ProxyServer(
            configuration: configuration, tracing: tracing, logger: Logger(label: "test"),
            lookup: lookup ?? UpstreamResolver.system)
        try server.start()
        port = server.boundAddress!.port
    }

    /// Routes everything to one upstream on `port`.
    convenience init(upstreamPort port: Int, extra: String = "", tracing: TracingSetup = .off) throws {
        try self.init("""
            routes:
              - { name: all, path_prefix: /, upstream: backend }
            upstreams:
              backend: { servers: ["127.0.0.1:\(port)"] }
            \(extra)
            """, tracing: tracing)
    }

    func reload(_ yaml: String) throws {
        let text = "listen: \"127.0.0.1:0\"\nworkers: 1\naccess_log: off\nadmin: null\n" + yaml
        try server.reload(try RuntimeConfiguration(try ConfigLoader.parse(yaml: text)))
    }

    func connect() -> TestConnection {
        TestConnection(fd: TestSocket.connect(port: port)!)
    }

    /// One request on a new connection.
    func get(_ path: String, headers: [String] = ["Host: test"]) -> ResponseReader.Response? {
        let connection = connect()
        defer { connection.close() }
        connection.send("GET \(path) HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        return connection.reader.read()
    }

    deinit {
        server.stop()
    }
}

/// A client connection to the proxy.
final class TestConnection {
    let fd: Int32
    let reader: ResponseReader

    init(fd: Int32) {
        self.fd = fd
        reader = ResponseReader(fd: fd)
    }

    func send(_ text: String) { TestSocket.send(fd, Array(text.utf8)) }
    func send(_ bytes: [UInt8]) { TestSocket.send(fd, bytes) }
    func close() { Glibc.close(fd) }

    /// Waits up to `milliseconds` for something to read (bytes or the peer's close);
    /// true when it came. Only before the reader has buffered anything.
    func hasSomethingToRead(withinMilliseconds milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }
}
