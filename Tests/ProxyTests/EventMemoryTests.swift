import Testing

@testable import Libevent

/// The memory libevent's buffers take: blocks of the sizes a read or a write takes come
/// back from the freeing thread's cache; any block keeps its bytes when it grows or
/// shrinks, from one size to another.
@Suite struct EventMemoryTests {
    @Test(arguments: [1024, 4096, 65536])
    func aBlockOfACachedSizeIsTakenAgainFromTheCache(_ size: Int) throws {
        EventMemory.install()
        let first = try #require(EventMemory.allocate(size))
        first.storeBytes(of: 0xAB, as: UInt8.self)
        EventMemory.release(first)
        let second = try #require(EventMemory.allocate(size))
        #expect(second == first)
        EventMemory.release(second)
    }

    /// Last freed, first taken (the allocator would have joined two neighbours freed
    /// together and handed out the first).
    @Test(arguments: [1024, 4096])
    func blocksComeBackLastFreedFirst(_ size: Int) throws {
        EventMemory.install()
        let first = try #require(EventMemory.allocate(size))
        let second = try #require(EventMemory.allocate(size))
        EventMemory.release(first)
        EventMemory.release(second)
        let again = try #require(EventMemory.allocate(size))
        let andAgain = try #require(EventMemory.allocate(size))
        #expect(again == second)
        #expect(andAgain == first)
        EventMemory.release(again)
        EventMemory.release(andAgain)
    }

    @Test func otherSizesAreLeftToMalloc() throws {
        EventMemory.install()
        for size in [0, 1, 100, 1023, 3000, 4095, 65537, 1 << 20] {
            let block = try #require(EventMemory.allocate(size))
            if size > 0 { block.initializeMemory(as: UInt8.self, repeating: 7, count: size) }
            EventMemory.release(block)
        }
    }

    /// Through every kind of move: uncached to cached, cached to cached, cached to uncached.
    @Test func aBlockKeepsItsBytesAcrossReallocations() throws {
        EventMemory.install()
        var block = try #require(EventMemory.reallocate(nil, 100))
        for index in 0..<100 { block.storeBytes(of: UInt8(index), toByteOffset: index, as: UInt8.self) }
        for size in [4096, 16384, 70_000, 1024, 200, 60] {
            block = try #require(EventMemory.reallocate(block, size))
            let kept = min(size, 100)
            #expect((0..<kept).allSatisfy { block.load(fromByteOffset: $0, as: UInt8.self) == UInt8($0) }, "after \(size)")
            if size > 100 {
                for index in 100..<size { block.storeBytes(of: 0, toByteOffset: index, as: UInt8.self) }
            }
        }
        EventMemory.release(block)
    }
}
