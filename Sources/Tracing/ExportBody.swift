/// An export request's bytes as a sender writes them: an array, or a range of the
/// storage the spans were encoded into, handed over by `EncodedSpans.takeRequest` so that
/// a batch is not copied on its way out. Only read once made (on a sender's thread).
struct ExportBody: Sendable {
    private enum Bytes: Sendable {
        case array([UInt8])
        case encoded(ProtobufWriter, Range<Int>)
    }

    private let bytes: Bytes

    init(_ array: [UInt8]) {
        bytes = .array(array)
    }

    init(_ writer: ProtobufWriter, range: Range<Int>) {
        bytes = .encoded(writer, range)
    }

    var count: Int {
        switch bytes {
        case .array(let array): array.count
        case .encoded(_, let range): range.count
        }
    }

    /// Runs `body` with the bytes, in place.
    func withUnsafeBytes<Value, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        switch bytes {
        case .array(let array):
            // `Array.withUnsafeBytes` rethrows untyped errors: carry the typed one out.
            let outcome = array.withUnsafeBytes { raw -> Result<Value, Failure> in
                do throws(Failure) { return .success(try body(raw)) } catch { return .failure(error) }
            }
            return try outcome.get()
        case .encoded(let writer, let range):
            return try writer.withUnsafeBytes(range, body)
        }
    }

    /// The bytes (a copy).
    var array: [UInt8] { withUnsafeBytes { Array($0) } }
}
