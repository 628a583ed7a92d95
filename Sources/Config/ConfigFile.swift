#if canImport(Glibc)
import Glibc
#endif

/// Reads a configuration file's text with bounds: a regular file only, at most a cap of
/// bytes (read no further, whatever the file's size says), UTF-8 only. Each refusal is one
/// `ConfigProblem` naming the file. Blocking; called while loading, off the workers.
enum ConfigFile {
    static func read(_ path: String, maximumBytes: Int) throws(ConfigProblem) -> String {
        // stat before open, so a device is not even opened (opening some has effects);
        // fstat after, on what was opened, in case the path changed between the two.
        var status = stat()
        if stat(path, &status) == 0 { try check(status, path, maximumBytes) }
        // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw cannotRead(path) }
        defer { close(descriptor) }
        guard fstat(descriptor, &status) == 0 else { throw cannotRead(path) }
        try check(status, path, maximumBytes)
        let bytes = try readAtMost(maximumBytes + 1, from: descriptor, path)
        // A file can grow after fstat, and some (in /proc) report no size at all.
        guard bytes.count <= maximumBytes else {
            throw problem("config file '\(path)' has more than \(describe(bytes: maximumBytes)) to read; the most accepted is \(describe(bytes: maximumBytes))")
        }
        return try text(bytes, path)
    }

    private static func check(_ status: stat, _ path: String, _ maximumBytes: Int) throws(ConfigProblem) {
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw problem("config file '\(path)' is not a regular file (it is \(kind(status.st_mode)))")
        }
        guard status.st_size <= maximumBytes else {
            throw problem("config file '\(path)' is \(status.st_size) bytes; the most accepted is \(describe(bytes: maximumBytes))")
        }
    }

    private static func readAtMost(_ limit: Int, from descriptor: Int32, _ path: String) throws(ConfigProblem) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw cannotRead(path)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The text, or a problem at the line of the first byte that is not UTF-8 (rather than
    /// reading it as U+FFFD and failing later somewhere less clear).
    private static func text(_ bytes: [UInt8], _ path: String) throws(ConfigProblem) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                offset += scalar.count
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                let line = 1 + bytes[..<offset].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                let byte = "0x" + String(bytes[offset], radix: 16, uppercase: true)
                throw ConfigProblem(key: "", line: line, message: "config file '\(path)' is not UTF-8 text: byte \(byte) at offset \(offset) is not valid UTF-8")
            }
        }
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a pipe or FIFO"
        case S_IFSOCK: "a socket"
        default: "not a file"
        }
    }

    /// 1048576 → "1 MiB", 2048 → "2 KiB", 1000 → "1000 bytes".
    static func describe(bytes: Int) -> String {
        if bytes > 0, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes > 0, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    private static func cannotRead(_ path: String) -> ConfigProblem {
        problem("cannot read config file '\(path)': \(String(cString: strerror(errno)))")
    }

    private static func problem(_ message: String) -> ConfigProblem {
        ConfigProblem(key: "", line: nil, message: message)
    }
}
