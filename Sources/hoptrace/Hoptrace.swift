import ArgumentParser
import Config
import Logging
import Proxy

/// The `hoptrace` command: `run`, `check`, `--version`.
@main
struct Hoptrace: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "hoptrace",
        abstract: "An HTTP/1.1 reverse proxy that traces every hop it proxies.",
        discussion: """
            hoptrace reads a YAML file of routes and upstreams and proxies requests to them.

              hoptrace run --config hoptrace.yaml     serve until SIGTERM (SIGHUP reloads)
              hoptrace check --config hoptrace.yaml   validate and list every problem
            """,
        version: version,
        subcommands: [Run.self, Check.self]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to the YAML configuration file.")
    var config: String
}

/// Loads and resolves a configuration, or prints every problem and exits non-zero.
func loadConfiguration(_ path: String, names: RuntimeConfiguration.NameResolution) throws(ExitCode) -> RuntimeConfiguration {
    do throws(ConfigProblems) {
        let source = try ConfigLoader.load(path: path)
        return try RuntimeConfiguration(source, names: names)
    } catch {
        printError("hoptrace: \(path) has \(error.problems.count == 1 ? "a problem" : "\(error.problems.count) problems"):")
        for problem in error.problems { printError("  \(problem)") }
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
