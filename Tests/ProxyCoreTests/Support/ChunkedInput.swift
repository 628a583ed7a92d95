/// A client's input buffer as the executor sees a libevent one: the bytes of each read
/// in its own chunk, scanned from an offset, drained from the front.
struct ChunkedInput {
    private var chunks: [[UInt8]] = []

    var isEmpty: Bool { chunks.isEmpty }

    mutating func append(_ bytes: [UInt8]) {
        if !bytes.isEmpty { chunks.append(bytes) }
    }

    /// Calls `body` with the bytes from `offset` on, one chunk at a time, until it
    /// returns false (the shape `HeadScanner.scan` takes).
    func forEachChunk(from offset: Int, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var skip = offset
        for chunk in chunks {
            if skip >= chunk.count {
                skip -= chunk.count
                continue
            }
            let more = chunk[skip...].withUnsafeBytes { body($0) }
            skip = 0
            if !more { return }
        }
    }

    mutating func drain(_ count: Int) {
        _ = remove(count)
    }

    /// Removes and returns the first `count` bytes.
    mutating func remove(_ count: Int) -> [UInt8] {
        var removed: [UInt8] = []
        removed.reserveCapacity(count)
        while removed.count < count {
            let wanted = count - removed.count
            if chunks[0].count <= wanted {
                removed += chunks.removeFirst()
            } else {
                removed += chunks[0].prefix(wanted)
                chunks[0].removeFirst(wanted)
            }
        }
        return removed
    }
}
