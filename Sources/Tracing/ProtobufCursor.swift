import HTTP1

/// Where protobuf is written: a pointer to room reserved ahead (by
/// `ProtobufWriter.write(reserving:_:)`, or an array being made) and how much of it is
/// used.
///
/// A field of known length is written as plain stores through it, with no check,
/// uniqueness test or call per part: the caller works the lengths out first and reserves
/// at least what it writes (debug builds check that), so `offset` stays within that room
/// and grows with wrapping additions, without an overflow check per byte. A cursor lives
/// only inside the function or closure that made it; the pointer never outlives it.
struct ProtobufCursor {
    private let base: UnsafeMutableRawPointer
    /// Bytes written so far.
    private(set) var offset = 0

    init(_ base: UnsafeMutableRawPointer) {
        self.base = base
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset &+= 1
    }

    /// A varint; lengths below 128, the usual case, take one store.
    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    /// A length or count (never negative: its bits are taken as they are, unchecked).
    @inline(__always)
    mutating func varint(_ value: Int) {
        varint(UInt64(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func tag(_ field: Int, _ type: ProtobufWriter.WireType) {
        varint(UInt64(truncatingIfNeeded: field) << 3 | UInt64(type.rawValue))
    }

    @inline(__always)
    mutating func fixed64(_ value: UInt64) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset &+= 8
    }

    @inline(__always)
    mutating func fixed32(_ value: UInt32) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
        offset &+= 4
    }

    /// Writes over eight bytes already written, at `position`.
    @inline(__always)
    func put(fixed64 value: UInt64, at position: Int) {
        base.storeBytes(of: value.littleEndian, toByteOffset: position, as: UInt64.self)
    }

    /// Leaves room for a length written later (`ProtobufWriter.endMessage`).
    @inline(__always)
    mutating func skip(_ count: Int) {
        offset &+= count
    }

    /// The bytes of a plain value (a trace or span id's byte tuple), as they lie in memory.
    @inline(__always)
    mutating func raw<Value: BitwiseCopyable>(_ value: Value) {
        base.storeBytes(of: value, toByteOffset: offset, as: Value.self)
        offset &+= MemoryLayout<Value>.size
    }

    @inline(__always)
    mutating func bytes(_ value: UnsafeRawBufferPointer) {
        guard let source = value.baseAddress, value.count > 0 else { return }
        SmallCopy.copy(from: source, to: base + offset, count: value.count)
        offset &+= value.count
    }
}
