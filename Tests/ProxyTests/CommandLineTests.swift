import Foundation
import Testing

@Suite(.serialized) struct CommandLineTests {
    static func config(port: Int, upstream: String, extra: String = "") -> String {
        """
        listen: "127.0.0.1:\(port)"
        workers: 2
        admin: null
        access_log: off
        \(extra)
        routes:
          - { name: all, path_prefix: /, upstream: backend }
        upstreams:
          backend: { servers: ["\(upstream)"] }
        """
    }

    @Test func versionAndHelpAreReadable() throws {
        let version = try HoptraceProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(version.output.contains("0."))
        let help = try HoptraceProcess.run(["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("run"))
        #expect(help.output.contains("check"))
    }

    @Test func checkAcceptsAValidFile() throws {
        let folder = TemporaryFolder()
        let path = folder.write("ok.yaml", Self.config(port: 8080, upstream: "127.0.0.1:4567"))
        let result = try HoptraceProcess.run(["check", "--config", path])
        #expect(result.status == 0)
        #expect(result.output.contains("OK"))
    }

    @Test func checkListsEveryProblemWithKeyAndLine() throws {
        let folder = TemporaryFolder()
        let path = folder.write("bad.yaml", """
            listen: "nowhere"
            workers: lots
            timeouts: { connect: soon }
            routes:
              - { name: api, path_prefix: api, upstream: missing }
            upstreams:
              backend: { servers: ["127.0.0.1:4567"] }
            """)
        let result = try HoptraceProcess.run(["check", "--config", path])
        #expect(result.status == 1)
        #expect(result.errors.contains("listen (line 1)"))
        #expect(result.errors.contains("workers (line 2)"))
        #expect(result.errors.contains("timeouts.connect (line 3)"))
        #expect(result.errors.contains("routes[0].path_prefix (line 5)"))
        #expect(result.errors.contains("routes[0].upstream (line 5): unknown upstream 'missing'"))
        #expect(!result.errors.contains("Fatal error"))
    }

    @Test func missingConfigFileIsOneLineNamingIt() throws {
        let result = try HoptraceProcess.run(["run", "--config", "/nonexistent/hoptrace.yaml"])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot read config file '/nonexistent/hoptrace.yaml'"))
    }

    @Test func unresolvableUpstreamIsNamed() throws {
        let folder = TemporaryFolder()
        let path = folder.write("dns.yaml", Self.config(port: 8080, upstream: "no-such-host.invalid:80"))
        let result = try HoptraceProcess.run(["check", "--config", path])
        #expect(result.status == 1)
        #expect(result.errors.contains("upstreams.backend.servers[0]"))
        #expect(result.errors.contains("no-such-host.invalid"))
    }

    @Test func checkWithoutResolvingAcceptsNamesOfAnotherNetworkButNotBadForms() throws {
        let folder = TemporaryFolder()
        let names = folder.write("compose.yaml", Self.config(port: 8080, upstream: "backend-flask.invalid:4567"))
        let accepted = try HoptraceProcess.run(["check", "--no-resolve", "--config", names])
        #expect(accepted.status == 0)
        #expect(accepted.output.contains("OK"))
        let noPort = folder.write("noport.yaml", Self.config(port: 8080, upstream: "backend-flask.invalid"))
        let rejected = try HoptraceProcess.run(["check", "--no-resolve", "--config", noPort])
        #expect(rejected.status == 1)
        #expect(rejected.errors.contains("upstreams.backend.servers[0]"))
    }

    @Test func portInUseIsOneLineNamingTheAddress() throws {
        let (fd, port) = TestSocket.listen()
        defer { close(fd) }
        let folder = TemporaryFolder()
        let path = folder.write("busy.yaml", Self.config(port: port, upstream: "127.0.0.1:4567"))
        let result = try HoptraceProcess.run(["run", "--config", path])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot listen on 127.0.0.1:\(port): Address already in use"))
    }

    @Test func sighupReloadsAndKeepsServingAndAnInvalidReloadKeepsTheOldConfig() throws {
        let first = StubUpstream(body: "first")
        let second = StubUpstream(body: "second")
        let port = TestSocket.closedPort()
        let folder = TemporaryFolder()
        let path = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(first.port)"))
        let proxy = try HoptraceProcess(["run", "--config", path])
        #expect(proxy.waitUntilLogged("hoptrace listening"))
        #expect(Self.get(port: port) == "first")

        _ = folder.write("h.yaml", "routes: [ { name: broken } ]\n")
        proxy.signal(SIGHUP)
        #expect(proxy.waitUntilLogged("reload failed; keeping the running configuration"))
        #expect(Self.get(port: port) == "first")

        _ = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(second.port)"))
        proxy.signal(SIGHUP)
        var answer: String?
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            answer = Self.get(port: port)
            if answer == "second" { break }
            usleep(50_000)
        }
        #expect(answer == "second")
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(seconds: 10) == 0)
    }

    @Test func sigtermDrainsAnInFlightRequestThenExits() throws {
        let arrived = DispatchSemaphore(value: 0)
        let slow = StubUpstream { _, client in
            arrived.signal()
            usleep(1_000_000)  // still in flight when SIGTERM comes
            client.respond(body: "finished")
            return .keepReading
        }
        let port = TestSocket.closedPort()
        let folder = TemporaryFolder()
        let path = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(slow.port)", extra: "timeouts: { drain: 10s }"))
        let proxy = try HoptraceProcess(["run", "--config", path])
        #expect(proxy.waitUntilLogged("hoptrace listening"))
        let connection = TestConnection(fd: TestSocket.connect(port: port)!)
        defer { connection.close() }
        connection.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        // Wait until the request reached the upstream, then ask the proxy to stop.
        #expect(arrived.wait(timeout: .now() + 5) == .success)
        proxy.signal(SIGTERM)
        let response = connection.reader.read()
        #expect(response?.text == "finished")
        #expect(response?.header("connection") == "close")
        #expect(proxy.waitForExit(seconds: 10) == 0)
        #expect(TestSocket.connect(port: port) == nil)
    }

    static func get(port: Int) -> String? {
        guard let fd = TestSocket.connect(port: port) else { return nil }
        let connection = TestConnection(fd: fd)
        defer { connection.close() }
        connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        return connection.reader.read()?.text
    }

    @Test func sigtermWhileTheCollectorIsDownExitsWithinTheDeadline() throws {
        let stub = StubUpstream(body: "ok")
        let port = TestSocket.closedPort()
        let folder = TemporaryFolder()
        let path = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(stub.port)", extra: "timeouts: { drain: 2s }"))
        let proxy = try HoptraceProcess(["run", "--config", path], environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(TestSocket.closedPort())", "OTEL_BSP_SCHEDULE_DELAY": "100",
        ])
        #expect(proxy.waitUntilLogged("hoptrace listening"))
        for _ in 0..<5 { #expect(Self.get(port: port) == "ok") }
        let started = Date()
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(seconds: 10) == 0)
        #expect(Date().timeIntervalSince(started) < 6)
    }

    @Test func consoleExporterPrintsOneLinePerSpan() throws {
        let stub = StubUpstream(body: "ok")
        let port = TestSocket.closedPort()
        let folder = TemporaryFolder()
        let path = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(stub.port)"))
        let proxy = try HoptraceProcess(["run", "--config", path], environment: ["OTEL_TRACES_EXPORTER": "console"])
        #expect(proxy.waitUntilLogged("hoptrace listening"))
        #expect(Self.get(port: port) == "ok")
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(seconds: 10) == 0)
        let output = String(decoding: proxy.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let spans = output.split(separator: "\n").filter { $0.hasPrefix("span ") }
        #expect(spans.count == 2)
        #expect(spans.contains { $0.contains("kind=server") && $0.contains("http.response.status_code=200") })
        #expect(spans.contains { $0.contains("kind=client") })
    }
}
