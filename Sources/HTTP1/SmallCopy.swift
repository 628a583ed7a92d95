/// Copies a few bytes with word-wide loads and stores instead of a call to `memcpy`.
///
/// Heads and spans are written in pieces of a few to a few dozen bytes (a field name, a
/// `CRLF`, an attribute's key), where calling `memcpy` costs more than the copy. Two
/// overlapping words cover any length between one word and two (four between two and
/// four words); longer pieces go to `memcpy`. The source and the target must not overlap.
public enum SmallCopy {
    @inlinable @inline(__always)
    public static func copy(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
        if count >= 8 {
            if count <= 16 {
                let first = source.loadUnaligned(as: UInt64.self)
                let last = source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                target.storeBytes(of: first, as: UInt64.self)
                target.storeBytes(of: last, toByteOffset: count - 8, as: UInt64.self)
            } else if count <= 32 {
                let first = source.loadUnaligned(as: UInt64.self)
                let second = source.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let thirdToLast = source.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
                let last = source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                target.storeBytes(of: first, as: UInt64.self)
                target.storeBytes(of: second, toByteOffset: 8, as: UInt64.self)
                target.storeBytes(of: thirdToLast, toByteOffset: count - 16, as: UInt64.self)
                target.storeBytes(of: last, toByteOffset: count - 8, as: UInt64.self)
            } else {
                target.copyMemory(from: source, byteCount: count)
            }
        } else if count >= 4 {
            let first = source.loadUnaligned(as: UInt32.self)
            let last = source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            target.storeBytes(of: first, as: UInt32.self)
            target.storeBytes(of: last, toByteOffset: count - 4, as: UInt32.self)
        } else if count > 0 {
            // 1, 2 or 3 bytes: the first, the middle and the last (some of them the same).
            let first = source.load(as: UInt8.self)
            let middle = source.load(fromByteOffset: count >> 1, as: UInt8.self)
            let last = source.load(fromByteOffset: count - 1, as: UInt8.self)
            target.storeBytes(of: first, as: UInt8.self)
            target.storeBytes(of: middle, toByteOffset: count >> 1, as: UInt8.self)
            target.storeBytes(of: last, toByteOffset: count - 1, as: UInt8.self)
        }
    }
}
