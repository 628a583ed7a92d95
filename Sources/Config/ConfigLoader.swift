import HTTP1
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// Reads YAML into a `ProxyConfiguration`, collecting every problem with its key and line.
public enum ConfigLoader {
    /// The largest configuration file read: 1 MiB, far above any real one (the annotated
    /// example in the README is about 3 KiB), so `--config /dev/zero` or a wrong path to a log
    /// cannot make the loader read without end.
    public static let maximumFileBytes = 1 << 20

    /// Reads and validates a file. Throws `ConfigProblems`; a file that cannot be read (missing,
    /// not a regular file, over `maximumFileBytes`, not UTF-8) is one problem.
    public static func load(path: String) throws(ConfigProblems) -> ProxyConfiguration {
        try load(path: path, maximumBytes: maximumFileBytes)
    }

    /// `load(path:)` with another cap, so tests can show the cap holds however the file
    /// reports its size.
    package static func load(path: String, maximumBytes: Int) throws(ConfigProblems) -> ProxyConfiguration {
        let text: String
        do throws(ConfigProblem) {
            text = try ConfigFile.read(path, maximumBytes: maximumBytes)
        } catch {
            throw ConfigProblems([error])
        }
        return try parse(yaml: text)
    }

    public static func parse(yaml: String) throws(ConfigProblems) -> ProxyConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigProblems([ConfigProblem(key: "", line: nil, message: "not valid YAML: \(error)")])
        }
        var reader = ConfigReader()
        let configuration = reader.read(root)
        if !reader.problems.isEmpty { throw ConfigProblems(reader.problems) }
        return configuration
    }
}
