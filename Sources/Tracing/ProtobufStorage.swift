/// The memory a `ProtobufWriter` writes into: allocated in `init`, freed in `deinit`.
///
/// A class holding its pointer, rather than an array reached through
/// `withUnsafeMutableBytes`, so that each field is written by plain stores with no
/// closure in between: the closure an array access takes was not inlined, and cost more
/// than the field. The pointer lives as long as the object; writers read it only while
/// they hold the object, and never hand it out.
///
/// `@unchecked Sendable`: a writer writes only into storage that it alone references (it
/// copies the bytes first otherwise, `ProtobufWriter.makeRoom`), so storage that two
/// threads can reach is only ever read.
final class ProtobufStorage: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        bytes = .allocate(byteCount: capacity, alignment: 16)
        self.capacity = capacity
    }

    deinit {
        bytes.deallocate()
    }
}
