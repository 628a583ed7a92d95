/// An export request's bytes as a sender writes them: an array, or pieces of the storage
/// the spans were encoded into (the request's head in the room ahead of the first
/// batch's spans, then the spans of the batches after it), handed over by
/// `EncodedSpanQueue.takeRequest` so that batches are not copied on their way out. Only
/// read once made (on a sender's thread).
struct ExportBody: Sendable {
    /// Bytes of a writer's storage, which nothing writes into any more.
    struct Piece: Sendable {
        let writer: ProtobufWriter
        let range: Range<Int>
    }

    private enum Bytes: Sendable {
        case array([UInt8])
        case encoded([Piece])
    }

    private let bytes: Bytes

    init(_ array: [UInt8]) {
        bytes = .array(array)
    }

    init(_ writer: ProtobufWriter, range: Range<Int>) {
        bytes = .encoded([Piece(writer: writer, range: range)])
    }

    init(_ pieces: [Piece]) {
        bytes = .encoded(pieces)
    }

    var count: Int {
        switch bytes {
        case .array(let array): array.count
        case .encoded(let pieces): pieces.reduce(0) { $0 + $1.range.count }
        }
    }

    /// Runs `body` with each piece of the bytes in order, in place.
    func forEachPiece<Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        switch bytes {
        case .array(let array):
            // `Array.withUnsafeBytes` rethrows untyped errors: carry the typed one out.
            let outcome = array.withUnsafeBytes { raw -> Result<Void, Failure> in
                do throws(Failure) { return .success(try body(raw)) } catch { return .failure(error) }
            }
            try outcome.get()
        case .encoded(let pieces):
            for piece in pieces { try piece.writer.withUnsafeBytes(piece.range, body) }
        }
    }

    /// Runs `body` with the bytes in one piece (joined into a copy when they are in
    /// several: for gzip, and tests).
    func withUnsafeBytes<Value>(_ body: (UnsafeRawBufferPointer) -> Value) -> Value {
        if case .encoded(let pieces) = bytes, pieces.count == 1 {
            return pieces[0].writer.withUnsafeBytes(pieces[0].range, body)
        }
        return array.withUnsafeBytes(body)
    }

    /// The bytes (a copy).
    var array: [UInt8] {
        switch bytes {
        case .array(let array): return array
        case .encoded(let pieces):
            var joined: [UInt8] = []
            joined.reserveCapacity(count)
            for piece in pieces { piece.writer.withUnsafeBytes(piece.range) { joined.append(contentsOf: $0) } }
            return joined
        }
    }
}
