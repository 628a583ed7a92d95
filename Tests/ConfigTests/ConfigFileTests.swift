import Config
import Foundation
import Testing

/// What `ConfigLoader.load(path:)` agrees to read: a regular file of at most 1 MiB of UTF-8.
/// Anything else is one problem naming the file, found before reading without end.
@Suite struct ConfigFileTests {
    /// A fresh folder, removed when the test's value goes.
    final class Folder {
        let path: String

        init() {
            path = NSTemporaryDirectory() + "hoptrace-config-\(UUID().uuidString)"
            try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ name: String, _ bytes: [UInt8]) -> String {
            let file = "\(path)/\(name)"
            #expect(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
            return file
        }

        func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }
    }

    func problems(loading path: String, maximumBytes: Int = ConfigLoader.maximumFileBytes) -> [String] {
        do {
            _ = try ConfigLoader.load(path: path, maximumBytes: maximumBytes)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func theCapIsOneMebibyte() {
        #expect(ConfigLoader.maximumFileBytes == 1_048_576)
    }

    @Test func aRegularFileIsRead() throws {
        let folder = Folder()
        let configuration = try ConfigLoader.load(path: folder.write("ok.yaml", ConfigLoaderTests.minimal))
        #expect(configuration.routes.map(\.name) == ["web"])
    }

    @Test func aCharacterDeviceLikeDevZeroIsRefusedInOneLine() {
        #expect(problems(loading: "/dev/zero") == ["config file '/dev/zero' is not a regular file (it is a character device)"])
    }

    @Test func aDirectoryIsRefused() {
        let folder = Folder()
        #expect(problems(loading: folder.path) == ["config file '\(folder.path)' is not a regular file (it is a directory)"])
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() {
        let folder = Folder()
        let path = folder.path + "/fifo"
        #expect(mkfifo(path, 0o600) == 0)
        #expect(problems(loading: path) == ["config file '\(path)' is not a regular file (it is a pipe or FIFO)"])
    }

    /// What `--config /dev/stdin` opens when stdin is a pipe.
    @Test func aPipeIsRefusedEvenWithAConfigurationInIt() {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let text = Array(ConfigLoaderTests.minimal.utf8)
        #expect(write(ends[1], text, text.count) == text.count)
        let path = "/dev/fd/\(ends[0])"
        #expect(problems(loading: path) == ["config file '\(path)' is not a regular file (it is a pipe or FIFO)"])
    }

    @Test func aFileOverTheCapIsRefusedByItsSizeInOneLine() {
        let folder = Folder()
        let path = folder.write("big.yaml", [UInt8](repeating: UInt8(ascii: "#"), count: 5 * 1024 * 1024))
        #expect(problems(loading: path) == ["config file '\(path)' is 5242880 bytes; the most accepted is 1 MiB"])
    }

    @Test func aFileOfExactlyTheCapIsRead() throws {
        let folder = Folder()
        var text = ConfigLoaderTests.minimal + "\n"
        text += String(repeating: "#", count: ConfigLoader.maximumFileBytes - text.utf8.count - 1) + "\n"
        let path = folder.write("full.yaml", text)
        #expect(try ConfigLoader.load(path: path).routes.map(\.name) == ["web"])
    }

    /// Files in /proc say they are 0 bytes long; a file can also grow after it is measured.
    /// The cap holds on what is read, not only on the size the file reports.
    @Test func noMoreThanTheCapIsReadWhateverSizeTheFileReports() {
        #expect(problems(loading: "/proc/self/status", maximumBytes: 100) == [
            "config file '/proc/self/status' has more than 100 bytes to read; the most accepted is 100 bytes",
        ])
    }

    @Test func bytesThatAreNotUTF8AreOneProblemAtTheirLine() {
        let folder = Folder()
        // "café" saved as Latin-1: 0xE9 then a newline is no UTF-8 sequence.
        let bytes = Array("routes: []\n# caf".utf8) + [0xE9] + Array("\n".utf8)
        let path = folder.write("latin1.yaml", bytes)
        #expect(problems(loading: path) == ["config file '\(path)' is not UTF-8 text: byte 0xE9 at offset 16 is not valid UTF-8 (line 2)"])
    }

    @Test func aMissingFileIsOneLineNamingIt() {
        #expect(problems(loading: "/nonexistent/hoptrace.yaml") == ["cannot read config file '/nonexistent/hoptrace.yaml': No such file or directory"])
    }

    @Test func aNULByteIsAProblemNotACrash() {
        let folder = Folder()
        let path = folder.write("nul.yaml", Array(ConfigLoaderTests.minimal.utf8) + [0, 0x0A])
        #expect(problems(loading: path).count == 1)
    }
}
