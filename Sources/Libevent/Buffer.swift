#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// A view of an `evbuffer` owned by a `Connection`. Valid while that connection is open;
/// used on the connection's loop thread only. Moving bytes between buffers moves chain
/// pointers, not bytes (`evbuffer_add_buffer`, `evbuffer_remove_buffer`).
public struct Buffer {
    let pointer: OpaquePointer

    public var count: Int { evbuffer_get_length(pointer) }
    public var isEmpty: Bool { count == 0 }

    /// Calls `body` with the stored bytes from `offset` on, one contiguous chunk at a
    /// time, until it returns false or the bytes run out. No copy.
    public func forEachChunk(from offset: Int = 0, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var position = evbuffer_ptr()
        guard offset < count, evbuffer_ptr_set(pointer, &position, offset, EVBUFFER_PTR_SET) == 0 else { return }
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: 8) { vectors in
            while true {
                let filled = Int(evbuffer_peek(pointer, -1, &position, vectors.baseAddress, 8))
                var advanced = 0
                for index in 0..<min(filled, 8) {
                    let chunk = UnsafeRawBufferPointer(start: vectors[index].iov_base, count: vectors[index].iov_len)
                    if chunk.isEmpty { continue }
                    if !body(chunk) { return }
                    advanced += chunk.count
                }
                guard filled > 8, evbuffer_ptr_set(pointer, &position, advanced, EVBUFFER_PTR_ADD) == 0 else { return }
            }
        }
    }

    /// Calls `body` with the first contiguous chunk (non-empty buffers only).
    public func withFirstChunk<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var vector = iovec()
        evbuffer_peek(pointer, -1, nil, &vector, 1)
        return body(UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len))
    }

    /// Removes and returns the first `count` bytes, or all there are if fewer (a copy;
    /// for message heads only).
    ///
    /// The array is reserved and appended to, chunk by chunk, then the bytes drained.
    /// Not `Array(unsafeUninitializedCapacity:)`: that allocates through an unspecialized
    /// standard-library function that looks the storage class up at run time
    /// (`_swift_getGenericMetadata`, about 400 instructions, twice per proxied request).
    public func remove(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        forEachChunk { chunk in
            let taken = chunk.assumingMemoryBound(to: UInt8.self).prefix(count - bytes.count)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: taken))
            return bytes.count < count
        }
        evbuffer_drain(pointer, bytes.count)
        return bytes
    }

    public func drain(_ count: Int) {
        evbuffer_drain(pointer, count)
    }

    /// Moves the first `count` bytes to the end of `destination`: a few bytes at the
    /// front are copied, so that a head and a small body behind it stay one contiguous
    /// piece (written with one `send`); more move as whole chains.
    public func move(_ count: Int, to destination: Buffer) {
        if count <= Self.copiedMoveLimit {
            let copied = withFirstChunk { chunk -> Bool in
                guard chunk.count >= count else { return false }
                evbuffer_add(destination.pointer, chunk.baseAddress, count)
                return true
            }
            if copied {
                evbuffer_drain(pointer, count)
                return
            }
        }
        evbuffer_remove_buffer(pointer, destination.pointer, count)
    }

    /// Moves of this many bytes or fewer copy them (see `move(_:to:)`).
    static let copiedMoveLimit = 2048

    /// Moves everything to the end of `destination`.
    public func moveAll(to destination: Buffer) {
        evbuffer_add_buffer(destination.pointer, pointer)
    }

    public func append(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { evbuffer_add(pointer, $0.baseAddress, $0.count) }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        evbuffer_add(pointer, bytes.baseAddress, bytes.count)
    }

    public func append(_ text: StaticString) {
        evbuffer_add(pointer, text.utf8Start, text.utf8CodeUnitCount)
    }
}
