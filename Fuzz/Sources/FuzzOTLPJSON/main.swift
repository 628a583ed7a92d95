import IngestCheck

/// The OTLP receiver with OTLP/JSON bodies (`Content-Type: application/json`): the
/// first byte picks path and content coding, the rest is the JSON document. See
/// `IngestCheck`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    IngestCheck.run(start, count, encoding: .json)
    return 0
}
