import Config
import Testing

@Suite struct ConfigLoaderTests {
    static let minimal = """
        routes:
          - { name: web, path_prefix: /, upstream: frontend }
        upstreams:
          frontend: { servers: ["127.0.0.1:3000"] }
        """

    @Test func contractExampleParsesWithItsValues() throws {
        let configuration = try ConfigLoader.parse(yaml: """
            listen: "0.0.0.0:8080"
            workers: auto
            admin: "127.0.0.1:9901"
            access_log: stdout
            access_log_format: json
            timeouts: { connect: 5s, request_header: 30s, upstream_header: 60s, idle: 75s }
            limits: { max_header_bytes: 65536, max_header_count: 100, max_body_bytes: 0 }
            routes:
              - name: api
                path_prefix: /api
                strip_prefix: false
                upstream: backend
              - name: web
                path_prefix: /
                upstream: frontend
            upstreams:
              backend:  { servers: ["127.0.0.1:4567"] }
              frontend: { servers: ["127.0.0.1:3000"] }
            """)
        #expect(configuration.listen == "0.0.0.0:8080")
        #expect(configuration.workers == nil)
        #expect(configuration.admin == "127.0.0.1:9901")
        #expect(configuration.accessLogFormat == .json)
        #expect(configuration.timeouts.upstreamHeader == 60_000)
        #expect(configuration.routes.map(\.name) == ["api", "web"])
        #expect(configuration.routes[0].match == .prefix("/api"))
        #expect(configuration.upstreams["backend"]?.servers.map(\.address) == ["127.0.0.1:4567"])
    }

    @Test func defaultsApplyWhenKeysAreAbsent() throws {
        let configuration = try ConfigLoader.parse(yaml: Self.minimal)
        #expect(configuration.listen == "0.0.0.0:8080")
        #expect(configuration.admin == "127.0.0.1:9901")
        #expect(configuration.accessLog == .stdout)
        #expect(configuration.timeouts == ProxyConfiguration.Timeouts())
        #expect(configuration.limits.maxHeaderBytes == 65536)
        #expect(configuration.upstreams["frontend"]?.maxIdle == 32)
    }

    @Test(arguments: ["off", "false", "\"off\""])
    func accessLogOffIsAcceptedHoweverYAMLReadsIt(_ value: String) throws {
        let configuration = try ConfigLoader.parse(yaml: "access_log: \(value)\n" + Self.minimal)
        #expect(configuration.accessLog == .off)
    }

    @Test func accessLogToAFile() throws {
        #expect(try ConfigLoader.parse(yaml: "access_log: /var/log/hoptrace.log\n" + Self.minimal).accessLog == .file("/var/log/hoptrace.log"))
    }

    @Test func adminNullDisablesTheAdminListener() throws {
        #expect(try ConfigLoader.parse(yaml: "admin: null\n" + Self.minimal).admin == nil)
    }

    @Test(arguments: [("250ms", 250), ("5s", 5000), ("1.5s", 1500), ("2m", 120_000), ("1h", 3_600_000), ("10", 10_000)])
    func durationsAcceptCommonUnits(_ text: String, _ milliseconds: Int) throws {
        let configuration = try ConfigLoader.parse(yaml: "timeouts: { idle: \(text) }\n" + Self.minimal)
        #expect(configuration.timeouts.idle == milliseconds)
    }

    @Test func everyProblemIsListedWithItsKeyAndLine() {
        let yaml = """
            listen: 8080
            workers: 0
            access_log_format: xml
            timeouts: { connect: fast, nap: 1s }
            limits: { max_header_bytes: 10 }
            colour: blue
            routes:
              - { name: a, path_prefix: /a, path: /b, upstream: backend }
              - { name: a, path_prefix: nope, upstream: ghost }
              - { path: /x, strip_prefix: true, upstream: backend }
            upstreams:
              backend: { servers: [] }
            """
        do {
            _ = try ConfigLoader.parse(yaml: yaml)
            Issue.record("expected problems")
        } catch {
            let text = error.problems.map(\.description)
            let expected = [
                "listen (line 1)", "workers (line 2)", "access_log_format (line 3)",
                "timeouts.connect (line 4)", "timeouts.nap (line 4)", "limits.max_header_bytes (line 5)",
                "colour (line 6)", "routes[0] (line 8): route 'a' has both path and path_prefix",
                "routes[1].name (line 9): duplicate route name 'a'", "routes[1].path_prefix (line 9)",
                "routes[1].upstream (line 9): unknown upstream 'ghost'", "routes[2].name (line 10)",
                "routes[2].strip_prefix (line 10)", "upstreams.backend.servers (line 12)",
            ]
            for fragment in expected {
                #expect(text.contains { $0.hasPrefix(fragment) }, "missing: \(fragment) in \(text)")
            }
        }
    }

    @Test func aServerWithoutAPortIsReportedOnceNotAgainByItsRoutes() {
        do {
            _ = try ConfigLoader.parse(yaml: """
                routes:
                  - { name: a, path_prefix: /, upstream: backend }
                upstreams:
                  backend: { servers: ["backend-flask"] }
                """)
            Issue.record("expected a problem")
        } catch {
            #expect(error.problems.map(\.description) == [
                "upstreams.backend.servers[0] (line 4): must be host:port or http://host:port, like 127.0.0.1:4567, not 'backend-flask'",
            ])
        }
    }

    @Test func invalidYAMLIsOneReadableProblem() {
        #expect(throws: ConfigProblems.self) { try ConfigLoader.parse(yaml: "routes: [ { name: a \n") }
    }

    @Test func emptyFileSaysWhatIsNeeded() {
        do {
            _ = try ConfigLoader.parse(yaml: "")
            Issue.record("expected problems")
        } catch {
            #expect(error.description.contains("empty"))
        }
    }
}

@Suite struct TracingSectionTests {
    @Test func tracingSectionIsRead() throws {
        let configuration = try ConfigLoader.parse(yaml: """
            tracing:
              trusted_networks: ["10.0.0.0/8"]
              untrusted_context: ignore
              traceresponse: true
              server_timing: true
              capture_request_headers: [X-Request-ID]
            """ + "\n" + ConfigLoaderTests.minimal)
        #expect(configuration.tracing.trustedNetworks?.map(\.address) == ["10.0.0.0/8"])
        #expect(configuration.tracing.untrustedContext == "ignore")
        #expect(configuration.tracing.traceResponse)
        #expect(configuration.tracing.captureRequestHeaders == ["x-request-id"])
    }

    @Test func credentialsAreNeverCapturedWhateverTheListSays() {
        do {
            _ = try ConfigLoader.parse(yaml: "tracing: { capture_request_headers: [Authorization, Cookie] }\n" + ConfigLoaderTests.minimal)
            Issue.record("expected problems")
        } catch {
            #expect(error.problems.count == 2)
            #expect(error.problems.allSatisfy { $0.message.contains("never recorded") && $0.line == 1 })
        }
    }

    @Test func unknownUntrustedPolicyIsAProblem() {
        #expect(throws: ConfigProblems.self) {
            try ConfigLoader.parse(yaml: "tracing: { untrusted_context: maybe }\n" + ConfigLoaderTests.minimal)
        }
    }
}
