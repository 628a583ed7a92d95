// swift-tools-version:5.4
// libFuzzer targets for hoptrace's parsers of untrusted input, one executable each
// (scripts/fuzz builds and runs them). A package of its own, as swift-protobuf's
// FuzzTesting is, depending on the root package by path, so the fuzzing build never
// touches the project's own and the project never builds these.
//
// scripts/fuzz builds every module, the root package's too, with AddressSanitizer and
// libFuzzer's coverage (`-sanitize=address -sanitize-coverage=…`, what -sanitize=fuzzer
// compiles to), and only the fuzzers link with `-sanitize=fuzzer`: libFuzzer's runtime
// has main() and calls LLVMFuzzerTestOneInput, which each fuzzer's main.swift defines
// (compiled with -parse-as-library). With -sanitize=fuzzer for every module, the root
// package's build-tool executable (EmbedFiles, for a plugin this package never runs)
// would link libFuzzer's main() too and fail, noisily.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM compiles an executable's entry
// point as `<Module>_main` and links with `--defsym main=<Module>_main`, and a fuzzer
// has no entry point of its own (the link fails on an undefined `<Module>_main`).
// The fuzzers are Swift 6 code all the same (`-swift-version 6` below).
import PackageDescription

let swift6: [SwiftSetting] = [.unsafeFlags(["-swift-version", "6"])]
/// Only on the fuzzers, so the root package's own executables (a build-tool plugin's
/// among them) build as usual.
let fuzzerSettings: [SwiftSetting] = [.unsafeFlags(["-swift-version", "6", "-parse-as-library"])]

/// A fuzzer: `Sources/<name>/main.swift`, with the support module and `modules`.
func fuzzer(_ name: String, _ modules: [String], support: Target.Dependency = "FuzzSupport") -> Target {
    .executableTarget(
        name: name,
        dependencies: [support] + modules.map { .product(name: $0, package: "hoptrace") },
        swiftSettings: fuzzerSettings,
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    )
}

let package = Package(
    name: "hoptrace-fuzz",
    dependencies: [
        .package(name: "hoptrace", path: ".."),
    ],
    targets: [
        // The failure helper, input splitting and the checked stream drivers.
        .target(name: "FuzzSupport", dependencies: [.product(name: "HTTP1", package: "hoptrace")], swiftSettings: swift6),
        // One OTLP request through the receiver, checked end to end (both OTLP fuzzers).
        .target(
            name: "IngestCheck",
            dependencies: ["FuzzSupport"] + ["HTTP1", "Libevent", "LocalServer", "Receiver", "Tracing"].map {
                .product(name: $0, package: "hoptrace")
            },
            swiftSettings: swift6
        ),
        fuzzer("FuzzRequestHead", ["HTTP1"]),
        fuzzer("FuzzResponseHead", ["HTTP1"]),
        fuzzer("FuzzBodyDecoder", ["HTTP1"]),
        fuzzer("FuzzTraceContext", ["Tracing"]),
        fuzzer("FuzzConfig", ["Config", "Libevent", "Proxy"]),
        fuzzer("FuzzOTLPProtobuf", [], support: "IngestCheck"),
        fuzzer("FuzzOTLPJSON", [], support: "IngestCheck"),
    ]
)
