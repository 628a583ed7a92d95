import PackagePlugin

/// Embeds the explorer's files (`Sources/Admin/Explorer/`) in the Admin module at build
/// time: the EmbedFiles tool writes them into a generated Swift source. The files stay
/// ordinary files in the repository; nothing is built outside `swift build`.
@main
struct EmbedExplorer: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let inputs = target.sourceFiles
            .filter { $0.url.pathComponents.contains("Explorer") }
            .map(\.url)
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "ExplorerFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) explorer files",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
