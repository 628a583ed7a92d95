import Tracing

/// The explorer's files, embedded in the binary at build time (see the EmbedExplorer
/// plugin), decoded once.
enum ExplorerAssets {
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    static let files: [String: File] = ExplorerFiles.base64.reduce(into: [:]) { files, entry in
        guard let bytes = Base64.decode(entry.value) else { return }
        files[entry.key] = File(bytes: bytes, contentType: contentType(of: entry.key))
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}
