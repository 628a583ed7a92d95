// Build tool: writes a Swift source holding files' bytes (base64), keyed by file name.
// Usage: EmbedFiles OUTPUT.swift FILE...
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: EmbedFiles OUTPUT.swift FILE...\n".utf8))
    exit(2)
}
var source = """
    // Generated at build time by EmbedFiles from Sources/Admin/Explorer. Do not edit.

    /// The explorer's files, by name: base64 of their bytes.
    enum ExplorerFiles {
        static let base64: [String: String] = [

    """
for path in arguments.dropFirst(2) {
    let url = URL(fileURLWithPath: path)
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("EmbedFiles: cannot read \(path)\n".utf8))
        exit(1)
    }
    source += "        \"\(url.lastPathComponent)\": \"\(data.base64EncodedString())\",\n"
}
if arguments.count == 2 { source += "        :\n" }
source += "    ]\n}\n"
do {
    try source.write(toFile: arguments[1], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("EmbedFiles: cannot write \(arguments[1]): \(error)\n".utf8))
    exit(1)
}
