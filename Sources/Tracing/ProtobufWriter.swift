/// Writes protocol buffer wire format (varints, fixed-width numbers, length-delimited
/// fields). Enough for OTLP.
///
/// Spans are encoded on the hot side of export, so the writer is built for it: its
/// storage only grows (with room ahead of `count`), every field is written in one go
/// through a `ProtobufCursor`, its lengths worked out first, and nested messages whose
/// length is not known ahead are written in place behind a length of the expected width,
/// moved only when the real length needs another width. The output is always the minimal
/// encoding (no padded varints), byte for byte what any protobuf library writes.
struct ProtobufWriter: Sendable {
    /// `count` bytes written, then spare room. Shared by copies of the writer until one
    /// of them writes (copy on write).
    private var storage: ProtobufStorage
    private(set) var count = 0

    init(capacity: Int = 256) {
        storage = ProtobufStorage(capacity: max(capacity, 16))
    }

    /// What was written (a copy).
    var bytes: [UInt8] { withUnsafeBytes(0..<count) { Array($0) } }

    /// What was written (a copy); the writer is done.
    consuming func finish() -> [UInt8] { bytes }

    /// Some of what was written (a copy).
    subscript(range: Range<Int>) -> ArraySlice<UInt8> {
        withUnsafeBytes(range) { Array($0)[...] }
    }

    /// Runs `body` with some of what was written, in place.
    func withUnsafeBytes<Result, Failure: Error>(
        _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeRawBufferPointer(start: storage.bytes + range.lowerBound, count: range.count))
        }
    }

    /// Bytes the storage holds, written or not.
    var capacity: Int { storage.capacity }

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    mutating func removeAll() {
        count = 0
    }

    /// Forgets the bytes in `range`, moving those after it down.
    mutating func removeSubrange(_ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        write(reserving: 0) { _ in }  // storage of its own
        storage.bytes.advanced(by: range.lowerBound)
            .copyMemory(from: storage.bytes + range.upperBound, byteCount: count - range.upperBound)  // a memmove
        count -= range.count
    }

    /// Writes over bytes already written, from `offset`: at most `reserving` of them.
    mutating func overwrite(at offset: Int, reserving needed: Int, _ body: (inout ProtobufCursor) -> Void) {
        precondition(offset >= 0 && offset + needed <= count)
        write(reserving: 0) { _ in }  // storage of its own
        var cursor = ProtobufCursor(storage.bytes + offset)
        body(&cursor)
        precondition(cursor.offset <= needed, "wrote past the bytes to overwrite")
    }

    mutating func append(_ other: ArraySlice<UInt8>) {
        other.withUnsafeBytes { append($0) }
    }

    mutating func append(_ other: UnsafeRawBufferPointer) {
        write(reserving: other.count) { $0.bytes(other) }
    }

    // MARK: Writing through one pointer

    /// Runs `body` with a cursor on room for at least `reserving` bytes after what is
    /// written, and keeps what it wrote. Every field goes through here: one capacity and
    /// ownership check and plain stores, however many parts the field has.
    @inline(__always)
    mutating func write(reserving needed: Int, _ body: (inout ProtobufCursor) -> Void) {
        if count + needed > storage.capacity || !isKnownUniquelyReferenced(&storage) { makeRoom(for: needed) }
        var cursor = ProtobufCursor(storage.bytes + count)
        body(&cursor)
        assert(cursor.offset <= needed, "a field wrote past the room it reserved")
        count += cursor.offset
    }

    /// Moves to storage of this writer's own with room for `needed` more bytes: it grows
    /// by doubling, and the spare room is left as it comes (bytes beyond `count` are only
    /// ever written before they are read).
    private mutating func makeRoom(for needed: Int) {
        let capacity = count + needed > storage.capacity ? max(count + needed, storage.capacity * 2) : storage.capacity
        let moved = ProtobufStorage(capacity: capacity)
        moved.bytes.copyMemory(from: storage.bytes, byteCount: count)
        storage = moved
    }

    /// Writes `value` as a varint at `pointer`; returns its length.
    @inline(__always)
    static func put(varint value: UInt64, at pointer: UnsafeMutableRawPointer) -> Int {
        var cursor = ProtobufCursor(pointer)
        cursor.varint(value)
        return cursor.offset
    }

    /// The bytes `value` takes as a varint.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // One byte per started group of 7 bits; most lengths take one.
        value < 0x80 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// The bytes a length takes (never negative: its bits are taken as they are).
    @inline(__always)
    static func varintSize(_ value: Int) -> Int {
        varintSize(UInt64(truncatingIfNeeded: value))
    }

    /// A length-delimited field's tag (fields below 16: one byte), length and content.
    @inline(__always)
    static func lengthDelimitedSize(_ field: Int, _ length: Int) -> Int {
        varintSize(UInt64(truncatingIfNeeded: field) << 3) + varintSize(length) + length
    }

    // MARK: Fields

    mutating func varintField(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }  // proto3 default
        write(reserving: 20) {
            $0.tag(field, .varint)
            $0.varint(value)
        }
    }

    mutating func int64Field(_ field: Int, _ value: Int64) {
        write(reserving: 20) {
            $0.tag(field, .varint)
            $0.varint(UInt64(bitPattern: value))
        }
    }

    /// Written even when false (a oneof member).
    mutating func boolField(_ field: Int, _ value: Bool) {
        int64Field(field, value ? 1 : 0)
    }

    mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        write(reserving: 18) {
            $0.tag(field, .fixed64)
            $0.fixed64(value)
        }
    }

    mutating func fixed32Field(_ field: Int, _ value: UInt32) {
        write(reserving: 14) {
            $0.tag(field, .fixed32)
            $0.fixed32(value)
        }
    }

    mutating func doubleField(_ field: Int, _ value: Double) {
        fixed64Field(field, value.bitPattern)
    }

    mutating func bytesField(_ field: Int, _ value: UnsafeRawBufferPointer) {
        write(reserving: value.count + 20) {
            $0.tag(field, .lengthDelimited)
            $0.varint(value.count)
            $0.bytes(value)
        }
    }

    /// Skipped when empty (the proto3 default) unless `evenIfEmpty`, for a oneof member.
    mutating func stringField(_ field: Int, _ value: String, evenIfEmpty: Bool = false) {
        Self.withUTF8(value) { utf8Field(field, $0, evenIfEmpty: evenIfEmpty) }
    }

    /// Runs `body` with a string's UTF-8 bytes, without a copy when it is contiguous.
    @inline(__always)
    static func withUTF8<Result>(_ text: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        var copy = text
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// A string field from UTF-8 bytes.
    mutating func utf8Field(_ field: Int, _ value: UnsafeRawBufferPointer, evenIfEmpty: Bool = false) {
        guard !value.isEmpty || evenIfEmpty else { return }
        bytesField(field, value)
    }

    // MARK: Nested messages

    /// Writes a nested message, always (an empty message still marks presence).
    /// `lengthBytes` is the width the length is expected to need: 1 below 128 bytes,
    /// 2 below 16 KiB.
    mutating func messageField(_ field: Int, lengthBytes: Int = 1, _ build: (inout ProtobufWriter) -> Void) {
        let start = beginMessage(field, lengthBytes: lengthBytes)
        build(&self)
        endMessage(start, lengthBytes: lengthBytes)
    }

    /// Opens a nested message whose content follows; returns where its length goes.
    mutating func beginMessage(_ field: Int, lengthBytes: Int) -> Int {
        write(reserving: 10 + lengthBytes) { cursor in
            cursor.tag(field, .lengthDelimited)
            cursor.skip(lengthBytes)
        }
        return count - lengthBytes
    }

    /// Closes the message opened at `lengthAt`: writes its length, moving the content
    /// when the length needs another width than the one reserved.
    mutating func endMessage(_ lengthAt: Int, lengthBytes: Int) {
        let contentStart = lengthAt + lengthBytes
        let length = count - contentStart
        let needed = Self.varintSize(UInt64(length))
        // Room for a wider length (and storage of its own) before anything moves.
        write(reserving: max(0, needed - lengthBytes)) { _ in }
        let base = storage.bytes
        if needed != lengthBytes {
            (base + lengthAt + needed).copyMemory(from: base + contentStart, byteCount: length)
        }
        _ = Self.put(varint: UInt64(length), at: base + lengthAt)
        count += needed - lengthBytes
    }
}
