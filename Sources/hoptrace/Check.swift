import ArgumentParser
import Proxy

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file: print every problem with its key and line, exit 1 if any."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try loadConfiguration(options.config)
        let routes = configuration.routing.routes.count
        let upstreams = configuration.groups.count
        print("\(options.config): OK (\(routes) route\(routes == 1 ? "" : "s"), \(upstreams) upstream\(upstreams == 1 ? "" : "s"))")
    }
}
