import IngestCheck

/// The OTLP receiver with protobuf bodies (`Content-Type: application/x-protobuf`):
/// the first byte picks path and content coding, the rest is an `Export*ServiceRequest`.
/// See `IngestCheck`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    IngestCheck.run(start, count, encoding: .protobuf)
    return 0
}
