// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    // Exclusivity is checked at run time in debug builds, where every test runs; release
    // builds skip the check: on the request path (state machines kept in classes) it
    // cost ~6,000 instructions per proxied request, an eighth of the whole. Cross-module
    // optimization lets the codec's and the buffers' small functions inline into the
    // proxy (~500 per request; measured with Tests/Benchmarks/instructions.sh).
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "hoptrace",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hoptrace", targets: ["hoptrace"]),
        // Libraries only for the fuzz package in Fuzz/, which depends on this one by path.
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "Config", targets: ["Config"]),
        .library(name: "Libevent", targets: ["Libevent"]),
        .library(name: "Tracing", targets: ["Tracing"]),
        .library(name: "LocalServer", targets: ["LocalServer"]),
        .library(name: "Receiver", targets: ["Receiver"]),
        .library(name: "ProxyCore", targets: ["ProxyCore"]),
        .library(name: "Proxy", targets: ["Proxy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
    ],
    targets: [
        // The only C module: libevent's core library, found through pkg-config.
        .systemLibrary(
            name: "CLibevent",
            pkgConfig: "libevent_core",
            providers: [.apt(["libevent-dev", "pkg-config"])]
        ),
        // Swift owners of libevent objects. The only module that imports CLibevent.
        .target(name: "Libevent", dependencies: ["CLibevent"], swiftSettings: strict),
        // Pure HTTP/1.1 codec: no I/O, no C.
        .target(name: "HTTP1", swiftSettings: strict),
        // YAML → validated configuration values.
        .target(
            name: "Config",
            dependencies: ["HTTP1", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Trace context in and out, trust, sampling, span encoding, the OTLP exporter (its
        // connection comes from Libevent).
        .target(
            name: "Tracing",
            dependencies: [
                "HTTP1", "Libevent",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The request path's decisions as pure state machines (an exchange, a client
        // connection) and what a failure means: no I/O, no clock, no tracing.
        .target(name: "ProxyCore", dependencies: ["HTTP1"], swiftSettings: strict),
        // Routing, header policy, the sessions that carry out ProxyCore's actions, pools,
        // workers.
        .target(
            name: "Proxy",
            dependencies: [
                "HTTP1", "ProxyCore", "Libevent", "Config", "Tracing",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // A small HTTP/1.1 server for hoptrace's own listeners (admin, receiver): its own
        // thread and loop, keep-alive, bodies read whole within caps.
        .target(
            name: "LocalServer",
            dependencies: ["HTTP1", "Libevent", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The OTLP/HTTP receiver: other services' spans into the trace store.
        .target(
            name: "Receiver",
            dependencies: ["LocalServer", "Libevent", "Tracing", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The admin listener: health and the in-memory trace viewer.
        .target(
            name: "Admin",
            dependencies: ["HTTP1", "Libevent", "LocalServer", "Tracing", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict,
            plugins: ["EmbedExplorer"]
        ),
        // Build tool: the explorer's files as a Swift source (for the EmbedExplorer plugin).
        .executableTarget(name: "EmbedFiles"),
        .plugin(name: "EmbedExplorer", capability: .buildTool(), dependencies: ["EmbedFiles"]),
        .executableTarget(
            name: "hoptrace",
            dependencies: [
                "Proxy", "Config", "Libevent", "Tracing", "Admin", "Receiver",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HTTP1Tests",
            dependencies: ["HTTP1", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        .testTarget(name: "ConfigTests", dependencies: ["Config"], swiftSettings: strict),
        .testTarget(name: "ProxyCoreTests", dependencies: ["ProxyCore", "HTTP1"], swiftSettings: strict),
        .testTarget(
            name: "TracingTests",
            dependencies: [
                "Tracing", .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxyTests",
            dependencies: [
                "Proxy", "ProxyCore", "Config", "Libevent", "HTTP1", "Tracing", "Admin", "Receiver", "LocalServer",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
