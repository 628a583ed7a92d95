import HTTP1
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// Reads YAML into a `ProxyConfiguration`, collecting every problem with its key and line.
public enum ConfigLoader {
    /// Reads and validates a file. Throws `ConfigProblems` (a missing file is one problem).
    public static func load(path: String) throws(ConfigProblems) -> ProxyConfiguration {
        guard let text = readFile(path) else {
            throw ConfigProblems([ConfigProblem(key: "", line: nil, message: "cannot read config file '\(path)': \(String(cString: strerror(errno)))")])
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

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
        }
        if ferror(file) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
