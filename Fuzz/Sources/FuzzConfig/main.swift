import Config
import FuzzSupport
import Libevent
import Proxy

/// The configuration loader: the input is a YAML file, read by `ConfigLoader.parse(yaml:)`.
/// A configuration it accepts is then built into a `RuntimeConfiguration` with names
/// checked for form only (`check --no-resolve`), which compiles routes, upstream groups
/// and trusted networks.
///
/// That path resolves a host name's stand-in, 127.0.0.1, with getaddrinfo and
/// AI_ADDRCONFIG, and glibc opens a netlink socket for AI_ADDRCONFIG on every call. To
/// keep the target free of sockets, names are swapped for 127.0.0.1 here first, which is
/// the address `formOnly` would give them; literals and malformed addresses are left for
/// `RuntimeConfiguration` to read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let yaml = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    var configuration: ProxyConfiguration
    do {
        configuration = try ConfigLoader.parse(yaml: yaml)
    } catch {
        fuzzCheck(!error.problems.isEmpty, "a configuration refused without a problem")
        return 0
    }
    for route in configuration.routes {
        fuzzCheck(configuration.upstreams[route.upstream] != nil, "route \(route.name) names an unknown upstream \(route.upstream)")
    }
    configuration.listen = standIn(configuration.listen)
    for (name, upstream) in configuration.upstreams {
        var upstream = upstream
        for index in upstream.servers.indices {
            upstream.servers[index].address = standIn(upstream.servers[index].address)
        }
        configuration.upstreams[name] = upstream
    }
    guard let runtime = try? RuntimeConfiguration(configuration, resolveNames: false) else { return 0 }
    fuzzCheck(runtime.routing.routes.count == configuration.routes.count, "\(runtime.routing.routes.count) of \(configuration.routes.count) routes compiled")
    return 0
}

/// `host:port` with a host name replaced by 127.0.0.1; anything else as it is.
private func standIn(_ address: String) -> String {
    guard let (host, port) = try? SocketAddress.split(address) else { return address }
    if (try? SocketAddress.resolve(host: host, port: port, numericOnly: true)) != nil { return address }
    return "127.0.0.1:\(port)"
}
