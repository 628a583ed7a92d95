import Foundation
import Testing

@Suite(.serialized) struct CommandLineTests {
    static func config(port: Int, upstream: String, extra: String = "", workers: Int = 2) -> String {
        """
        listen: "127.0.0.1:\(port)"
        workers: \(workers)
        admin: null
        receiver: null
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
        #expect(proxy.waitUntilLogged("configuration reloaded"))
        // Each worker swaps the configuration on its next loop turn; a new request sees it.
        var answer: String?
        for _ in 0..<50 {
            answer = Self.get(port: port)
            if answer == "second" { break }
        }
        #expect(answer == "second")
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(seconds: 10) == 0)
    }

    @Test func sigtermDrainsAnInFlightRequestThenExits() throws {
        let arrived = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let slow = StubUpstream { request, client in
            if request.target == "/slow" {
                arrived.signal()
                // Held until the test has seen the drain begin (30 s at most).
                _ = release.wait(timeout: .now() + 30)
                client.respond(body: "finished")
            } else {
                client.respond(body: "warm")
            }
            return .keepReading
        }
        defer { release.signal() }
        let port = TestSocket.closedPort()
        let folder = TemporaryFolder()
        // One worker: the idle connection below shares it with the request in flight.
        let path = folder.write("h.yaml", Self.config(port: port, upstream: "127.0.0.1:\(slow.port)", extra: "timeouts: { drain: 10s }", workers: 1))
        let proxy = try HoptraceProcess(["run", "--config", path])
        #expect(proxy.waitUntilLogged("hoptrace listening"))
        // A keep-alive connection, idle once answered.
        let idle = TestConnection(fd: try #require(TestSocket.connect(port: port)))
        defer { idle.close() }
        idle.send("GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(idle.reader.read()?.text == "warm")
        let connection = TestConnection(fd: try #require(TestSocket.connect(port: port)))
        defer { connection.close() }
        connection.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        // Wait until the request reached the upstream, then ask the proxy to stop.
        #expect(arrived.wait(timeout: .now() + 5) == .success)
        proxy.signal(SIGTERM)
        // The worker drains: idle connections close at once, the busy one is marked to
        // close after its response. Only then does the upstream answer.
        #expect(idle.reader.peerEnd() == .closed)
        release.signal()
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
        proxy.signal(SIGTERM)
        // Nothing in flight, so the drain ends at once; the final flush gives up on the
        // collector at the exporter's 3 s shutdown deadline, where its 10 s export timeout
        // would keep retrying. The deadline on this wait is that bound, with room for a
        // loaded machine.
        #expect(proxy.waitForExit(seconds: 8) == 0, "hoptrace did not exit within 8 s of SIGTERM")
        #expect(proxy.waitUntilLogged("span export summary"), "the exporter's final flush did not finish")
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
