import ArgumentParser
import Proxy

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file: print every problem with its key and line, exit 1 if any."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Check host names for form only, without resolving them (for a configuration meant for another network, such as a compose file's service names).")
    var noResolve = false

    func run() throws {
        let configuration = try loadConfiguration(options.config, names: noResolve ? .formOnly : .required)
        let routes = configuration.routing.routes.count
        let upstreams = configuration.groups.count
        print("\(options.config): OK (\(routes) route\(routes == 1 ? "" : "s"), \(upstreams) upstream\(upstreams == 1 ? "" : "s"))")
    }
}
