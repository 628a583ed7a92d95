import Foundation
import Synchronization

/// The built `hoptrace` binary, run as a child process (for the command line, signals
/// and exit codes). It sits beside the test bundle in the build folder.
final class HoptraceProcess {
    static var binary: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // The test runner may live inside a `.xctest` bundle directory.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("hoptrace")
    }

    let process = Process()
    let output = Pipe()
    let errors = Pipe()
    private let exited = DispatchSemaphore(value: 0)
    /// Standard error so far, when watched (`watchLog`), and a signal per chunk of it.
    private final class Log: Sendable {
        let text = Mutex("")
        let grew = DispatchSemaphore(value: 0)
    }
    private let log = Log()

    /// With `watchLog`, standard error is collected as it comes, for `waitUntilLogged`.
    init(_ arguments: [String], environment: [String: String] = [:], watchLog: Bool = true) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = output
        process.standardError = errors
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        if watchLog {
            let log = self.log
            errors.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    return
                }
                log.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
                log.grew.signal()
            }
        }
        try process.run()
    }

    /// Waits until standard error contains `text` (the process says it is listening,
    /// or that a reload failed), up to `seconds`.
    func waitUntilLogged(_ text: String, seconds: Double = 10) -> Bool {
        let deadline = DispatchTime.now() + seconds
        while !log.text.withLock({ $0.contains(text) }) {
            if log.grew.wait(timeout: deadline) == .timedOut { return log.text.withLock { $0.contains(text) } }
        }
        return true
    }

    /// Runs to completion; returns the exit code and what it wrote.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let child = try HoptraceProcess(arguments, watchLog: false)
        let out = child.output.fileHandleForReading.readDataToEndOfFile()
        let err = child.errors.fileHandleForReading.readDataToEndOfFile()
        child.process.waitUntilExit()
        return (child.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit up to `seconds`; nil if still running.
    func waitForExit(seconds: Double) -> Int32? {
        guard exited.wait(timeout: .now() + seconds) == .success else { return nil }
        exited.signal()  // later waits return at once
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A scratch folder for config files, removed at the end of the test.
final class TemporaryFolder {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hoptrace-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) -> String {
        let path = url.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
