import CLibevent

#if canImport(Glibc)
import Glibc
#endif

/// The memory libevent takes, with the blocks its buffers take for reads kept for reuse.
///
/// Every read reserves a buffer chain of 4 KiB (64 KiB once reads come in large), and
/// every write that does not fit the last chain adds one of 1 KiB or more, each freed as
/// soon as its bytes are consumed: four per proxied request, and the reads' a trip
/// through the allocator's bins each way, as glibc's own per-thread cache stops just
/// above 1 KiB (measured: about 700 instructions per request). Here blocks whose size is
/// a power of two from 1 KiB to 64 KiB go back to a small cache of the thread that frees
/// them, at most `cachedBytesPerSize` of each size, and the next allocation of that size
/// takes one from there. Every other size goes straight to `malloc`.
///
/// Blocks are plain `malloc` blocks, with no header: a freed block's size class is the
/// largest cached power of two within its usable size, so a block is only ever handed out
/// for a size it holds, and realloc and free take any block. Installed once, before the
/// first event base.
enum EventMemory {
    private static let smallestCachedShift = 10
    private static let largestCachedShift = 16
    private static let cachedBytesPerSize = 64 * 1024
    /// Slots per size: the 1 KiB blocks have the most.
    private static let slotsPerSize = cachedBytesPerSize >> smallestCachedShift
    private static let sizeCount = largestCachedShift - smallestCachedShift + 1

    /// Installs the functions; later calls do nothing.
    static func install() { _ = installed }

    private static let installed: Void = {
        _ = pthread_key_create(&cacheKey) { cache in
            if let cache { EventMemory.emptyCache(cache) }
        }
        event_set_mem_functions(
            { size in EventMemory.allocate(size) },
            { block, size in EventMemory.reallocate(block, size) },
            { block in EventMemory.release(block) })
    }()

    nonisolated(unsafe) private static var cacheKey = pthread_key_t()

    /// The cache size index of a block of `size` bytes; nil when it is not cached.
    @inline(__always)
    private static func sizeIndex(_ size: Int) -> Int? {
        guard size.nonzeroBitCount == 1 else { return nil }
        let shift = size.trailingZeroBitCount
        guard shift >= smallestCachedShift, shift <= largestCachedShift else { return nil }
        return shift - smallestCachedShift
    }

    /// This thread's cache: for each size, a count, then its slots.
    @inline(__always)
    private static func threadCache() -> UnsafeMutablePointer<Int> {
        if let cache = pthread_getspecific(cacheKey) { return cache.assumingMemoryBound(to: Int.self) }
        let cache = UnsafeMutablePointer<Int>.allocate(capacity: sizeCount * (1 + slotsPerSize))
        cache.initialize(repeating: 0, count: sizeCount * (1 + slotsPerSize))
        _ = pthread_setspecific(cacheKey, cache)
        return cache
    }

    /// Frees what a finished thread's cache holds.
    private static func emptyCache(_ raw: UnsafeMutableRawPointer) {
        let cache = raw.assumingMemoryBound(to: Int.self)
        for index in 0..<sizeCount {
            let entry = cache + index * (1 + slotsPerSize)
            for slot in 0..<entry[0] { free(UnsafeMutableRawPointer(bitPattern: entry[1 + slot])) }
        }
        cache.deallocate()
    }

    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        if let index = sizeIndex(size) {
            let entry = threadCache() + index * (1 + slotsPerSize)
            if entry[0] > 0 {
                entry[0] -= 1
                return UnsafeMutableRawPointer(bitPattern: entry[1 + entry[0]])
            }
        }
        return malloc(size)
    }

    static func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let usable = malloc_usable_size(pointer)
        // The largest power of two the block holds, if it is a cached size.
        let shift = Int.bitWidth - 1 - usable.leadingZeroBitCount
        if usable > 0, shift >= smallestCachedShift, shift <= largestCachedShift {
            let index = shift - smallestCachedShift
            let entry = threadCache() + index * (1 + slotsPerSize)
            if entry[0] < cachedBytesPerSize >> shift {
                entry[1 + entry[0]] = Int(bitPattern: pointer)
                entry[0] += 1
                return
            }
        }
        free(pointer)
    }

    static func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        realloc(pointer, size)
    }
}
