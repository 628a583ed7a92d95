/// OTLP attributes: `KeyValue { key = 1, value = 2 }` holding an `AnyValue`
/// (`string_value = 1`, `bool_value = 2`, `int_value = 3`, `double_value = 4`).
///
/// Each is written in one go, its three lengths worked out first, rather than as nested
/// messages: attributes are most of a span's bytes and of the time spent encoding it.
/// Inlined where used, so that the field number, a constant there, folds into the tag.
extension ProtobufWriter {
    /// A `KeyValue` field with a string value: `value` followed by `more`.
    @inline(__always)
    mutating func keyValueField(
        _ field: Int, key: UnsafeRawBufferPointer, string value: UnsafeRawBufferPointer,
        _ more: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        let length = value.count + more.count
        let head = KeyValueHead(field, key: key, anyLength: Self.lengthDelimitedSize(1, length))
        write(reserving: head.fieldSize) { cursor in
            head.write(to: &cursor)
            cursor.byte(0x0A)  // AnyValue.string_value = 1
            cursor.varint(length)
            cursor.bytes(value)
            cursor.bytes(more)
        }
    }

    /// A `KeyValue` field with an integer value (negative numbers take ten bytes, as
    /// `int64` does).
    @inline(__always)
    mutating func keyValueField(_ field: Int, key: UnsafeRawBufferPointer, int value: Int64) {
        let bits = UInt64(bitPattern: value)
        let head = KeyValueHead(field, key: key, anyLength: 1 + Self.varintSize(bits))
        write(reserving: head.fieldSize) { cursor in
            head.write(to: &cursor)
            cursor.byte(0x18)  // AnyValue.int_value = 3
            cursor.varint(bits)
        }
    }

    /// A `KeyValue` field with a boolean value, written even when false (a oneof member).
    mutating func keyValueField(_ field: Int, key: UnsafeRawBufferPointer, bool value: Bool) {
        let head = KeyValueHead(field, key: key, anyLength: 2)
        write(reserving: head.fieldSize) { cursor in
            head.write(to: &cursor)
            cursor.byte(0x10)  // AnyValue.bool_value = 2
            cursor.byte(value ? 1 : 0)
        }
    }

    mutating func keyValueField(_ field: Int, key: UnsafeRawBufferPointer, double value: Double) {
        let head = KeyValueHead(field, key: key, anyLength: 9)
        write(reserving: head.fieldSize) { cursor in
            head.write(to: &cursor)
            cursor.byte(0x21)  // AnyValue.double_value = 4, fixed 64 bits
            cursor.fixed64(value.bitPattern)
        }
    }
}

/// Everything of a `KeyValue` field before its `AnyValue` content: the field's tag and
/// length, the key (written even when empty), the value's tag and length.
///
/// Nearly every attribute is under 128 bytes, where each length is one byte: `short`
/// then writes them as such, with one comparison for the lot instead of one per varint.
private struct KeyValueHead {
    let field: Int
    let key: UnsafeRawBufferPointer
    let anyLength: Int
    /// Field under 16 (a one-byte tag) and the whole `KeyValue` under 128 bytes.
    let short: Bool
    /// The `KeyValue` message's length.
    let length: Int

    @inline(__always)
    init(_ field: Int, key: UnsafeRawBufferPointer, anyLength: Int) {
        self.field = field
        self.key = key
        self.anyLength = anyLength
        short = field < 16 && key.count + anyLength < 124
        length = short
            ? 4 + key.count + anyLength
            : ProtobufWriter.lengthDelimitedSize(1, key.count) + ProtobufWriter.lengthDelimitedSize(2, anyLength)
    }

    /// The whole field's size, `AnyValue` included.
    var fieldSize: Int {
        @inline(__always) get { short ? 2 + length : ProtobufWriter.lengthDelimitedSize(field, length) }
    }

    @inline(__always)
    func write(to cursor: inout ProtobufCursor) {
        if short {
            cursor.byte(UInt8(truncatingIfNeeded: field << 3 | 2))
            cursor.byte(UInt8(truncatingIfNeeded: length))
            cursor.byte(0x0A)  // KeyValue.key = 1
            cursor.byte(UInt8(truncatingIfNeeded: key.count))
            cursor.bytes(key)
            cursor.byte(0x12)  // KeyValue.value = 2
            cursor.byte(UInt8(truncatingIfNeeded: anyLength))
            return
        }
        cursor.tag(field, .lengthDelimited)
        cursor.varint(length)
        cursor.byte(0x0A)
        cursor.varint(key.count)
        cursor.bytes(key)
        cursor.byte(0x12)
        cursor.varint(anyLength)
    }
}
