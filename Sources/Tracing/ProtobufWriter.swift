/// Writes protocol buffer wire format (varints, fixed-width numbers, length-delimited
/// fields). Enough for OTLP.
///
/// Spans are encoded on the hot side of export, so the writer is built for it: its
/// storage only grows (with room ahead of `count`), every field is written through one
/// raw pointer, and nested messages are written in place behind a length of the expected
/// width, moved only when the real length needs another width.
struct ProtobufWriter: Sendable {
    /// `count` bytes written, then spare room.
    private var storage: [UInt8]
    private(set) var count = 0

    init(capacity: Int = 256) {
        storage = []
        grow(to: max(capacity, 16))
    }

    /// What was written (a copy).
    var bytes: [UInt8] { Array(storage[0..<count]) }

    /// What was written, without a copy; the writer is done.
    consuming func finish() -> [UInt8] {
        storage.removeLast(storage.count - count)
        return storage
    }

    /// Some of what was written.
    subscript(range: Range<Int>) -> ArraySlice<UInt8> {
        precondition(range.upperBound <= count)
        return storage[range]
    }

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    mutating func removeAll() {
        count = 0
    }

    /// Forgets the first `cut` bytes, moving the rest to the front.
    mutating func removeFirst(_ cut: Int) {
        precondition(cut <= count)
        let remaining = count - cut
        storage.withUnsafeMutableBytes { raw in
            if remaining > 0 { raw.baseAddress!.copyMemory(from: raw.baseAddress! + cut, byteCount: remaining) }
        }
        count = remaining
    }

    mutating func append(_ other: ArraySlice<UInt8>) {
        other.withUnsafeBytes { source in
            write(reserving: source.count) { target in
                if !source.isEmpty { target.copyMemory(from: source.baseAddress!, byteCount: source.count) }
                return source.count
            }
        }
    }

    // MARK: Writing through one pointer

    /// Runs `body` with a pointer to room for at least `reserving` bytes after what is
    /// written; `body` returns how many it wrote.
    @inline(__always)
    private mutating func write(reserving needed: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        if count + needed > storage.count { grow(to: count + needed) }
        let start = count
        count = start + storage.withUnsafeMutableBytes { body($0.baseAddress! + start) }
    }

    /// Moves to storage of at least `minimum` bytes. The spare room is left as it
    /// comes: bytes beyond `count` are only ever written before they are read.
    private mutating func grow(to minimum: Int) {
        let capacity = max(minimum, storage.count * 2)
        let written = count
        storage = storage.withUnsafeBytes { old in
            [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                if written > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: old.baseAddress!, byteCount: written) }
                initialized = capacity
            }
        }
    }

    /// Writes `value` as a varint at `pointer`; returns its length.
    @inline(__always)
    static func put(varint value: UInt64, at pointer: UnsafeMutableRawPointer) -> Int {
        var value = value
        var length = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: length, as: UInt8.self)
            value >>= 7
            length += 1
        }
        pointer.storeBytes(of: UInt8(value), toByteOffset: length, as: UInt8.self)
        return length + 1
    }

    @inline(__always)
    static func put(tag field: Int, _ type: WireType, at pointer: UnsafeMutableRawPointer) -> Int {
        put(varint: UInt64(field) << 3 | UInt64(type.rawValue), at: pointer)
    }

    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var value = value >> 7
        while value != 0 {
            size += 1
            value >>= 7
        }
        return size
    }

    // MARK: Fields

    mutating func tag(_ field: Int, _ type: WireType) {
        write(reserving: 10) { Self.put(tag: field, type, at: $0) }
    }

    mutating func varint(_ value: UInt64) {
        write(reserving: 10) { Self.put(varint: value, at: $0) }
    }

    mutating func varintField(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }  // proto3 default
        write(reserving: 20) { pointer in
            let tagLength = Self.put(tag: field, .varint, at: pointer)
            return tagLength + Self.put(varint: value, at: pointer + tagLength)
        }
    }

    mutating func int64Field(_ field: Int, _ value: Int64) {
        write(reserving: 20) { pointer in
            let tagLength = Self.put(tag: field, .varint, at: pointer)
            return tagLength + Self.put(varint: UInt64(bitPattern: value), at: pointer + tagLength)
        }
    }

    /// Written even when false (a oneof member).
    mutating func boolField(_ field: Int, _ value: Bool) {
        int64Field(field, value ? 1 : 0)
    }

    mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        write(reserving: 18) { pointer in
            let tagLength = Self.put(tag: field, .fixed64, at: pointer)
            (pointer + tagLength).storeBytes(of: value.littleEndian, as: UInt64.self)
            return tagLength + 8
        }
    }

    mutating func fixed32Field(_ field: Int, _ value: UInt32) {
        write(reserving: 14) { pointer in
            let tagLength = Self.put(tag: field, .fixed32, at: pointer)
            (pointer + tagLength).storeBytes(of: value.littleEndian, as: UInt32.self)
            return tagLength + 4
        }
    }

    mutating func doubleField(_ field: Int, _ value: Double) {
        fixed64Field(field, value.bitPattern)
    }

    mutating func bytesField(_ field: Int, _ value: UnsafeRawBufferPointer) {
        write(reserving: value.count + 20) { pointer in
            var length = Self.put(tag: field, .lengthDelimited, at: pointer)
            length += Self.put(varint: UInt64(value.count), at: pointer + length)
            if !value.isEmpty { (pointer + length).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            return length + value.count
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

    // MARK: Attributes

    /// A `KeyValue` message field with a string value (`AnyValue.string_value`), its
    /// lengths worked out first so that it is one write.
    /// The string is `value` followed by `more`.
    mutating func keyValueField(
        _ field: Int, key: UnsafeRawBufferPointer, string value: UnsafeRawBufferPointer,
        _ more: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        let valueLength = value.count + more.count
        let anyLength = 1 + Self.varintSize(UInt64(valueLength)) + valueLength
        keyValueField(field, key: key, anyLength: anyLength) { pointer in
            pointer.storeBytes(of: 0x0A, as: UInt8.self)  // AnyValue.string_value = 1
            let length = 1 + Self.put(varint: UInt64(valueLength), at: pointer + 1)
            if !value.isEmpty { (pointer + length).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            if !more.isEmpty { (pointer + length + value.count).copyMemory(from: more.baseAddress!, byteCount: more.count) }
        }
    }

    /// A `KeyValue` message field with an integer value (`AnyValue.int_value`).
    mutating func keyValueField(_ field: Int, key: UnsafeRawBufferPointer, int value: Int64) {
        let anyLength = 1 + Self.varintSize(UInt64(bitPattern: value))
        keyValueField(field, key: key, anyLength: anyLength) { pointer in
            pointer.storeBytes(of: 0x18, as: UInt8.self)  // AnyValue.int_value = 3
            _ = Self.put(varint: UInt64(bitPattern: value), at: pointer + 1)
        }
    }

    /// KeyValue { key = 1, value = 2 }, with `writeAnyValue` writing the `AnyValue`
    /// content of `anyLength` bytes.
    @inline(__always)
    private mutating func keyValueField(
        _ field: Int, key: UnsafeRawBufferPointer, anyLength: Int, _ writeAnyValue: (UnsafeMutableRawPointer) -> Void
    ) {
        let keyValueLength = 1 + Self.varintSize(UInt64(key.count)) + key.count + 1 + Self.varintSize(UInt64(anyLength)) + anyLength
        write(reserving: keyValueLength + 12) { pointer in
            var at = Self.put(tag: field, .lengthDelimited, at: pointer)
            at += Self.put(varint: UInt64(keyValueLength), at: pointer + at)
            (pointer + at).storeBytes(of: 0x0A, as: UInt8.self)  // KeyValue.key = 1
            at += 1
            at += Self.put(varint: UInt64(key.count), at: pointer + at)
            if !key.isEmpty { (pointer + at).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            at += key.count
            (pointer + at).storeBytes(of: 0x12, as: UInt8.self)  // KeyValue.value = 2
            at += 1
            at += Self.put(varint: UInt64(anyLength), at: pointer + at)
            writeAnyValue(pointer + at)
            return at + anyLength
        }
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
        tag(field, .lengthDelimited)
        let lengthAt = count
        write(reserving: lengthBytes) { _ in lengthBytes }
        return lengthAt
    }

    /// Closes the message opened at `lengthAt`: writes its length, moving the content
    /// when the length needs another width than the one reserved.
    mutating func endMessage(_ lengthAt: Int, lengthBytes: Int) {
        let contentStart = lengthAt + lengthBytes
        let length = count - contentStart
        let needed = Self.varintSize(UInt64(length))
        if needed > lengthBytes, count + needed - lengthBytes > storage.count { grow(to: count + needed - lengthBytes) }
        storage.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            if needed != lengthBytes {
                (base + lengthAt + needed).copyMemory(from: base + contentStart, byteCount: length)
            }
            _ = Self.put(varint: UInt64(length), at: base + lengthAt)
        }
        count += needed - lengthBytes
    }
}
