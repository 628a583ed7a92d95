/// OTLP `Span` messages, each as a `ScopeSpans.spans` field (tag and length included),
/// back to back. `ends` marks where each span ends, so a batch can be cut at any span.
/// Spans taken from the front are only skipped; their room is reclaimed when everything
/// has been taken, or when what is left is smaller than what was taken.
///
/// With `headroom`, room is kept ahead of the spans for an export request's resource
/// and scope, so that `takeRequest` builds the request around the spans where they lie
/// and hands their storage over, rather than copying a whole batch on its way out.
public struct EncodedSpans: Sendable {
    /// The spans' bytes, written in place by `OTLPSpanWriter`.
    var writer: ProtobufWriter
    /// Where each span ends in `writer`, from the first one not yet taken.
    private var ends: [Int] = []
    private var firstEnd = 0
    /// Where the first span not yet taken starts.
    private var start: Int
    /// Bytes kept free ahead of the first span written into new storage.
    let headroom: Int
    public static let initialCapacity = 64 * 1024

    public init() {
        self.init(headroom: 0)
    }

    /// `capacity`: the bytes expected, headroom included (the storage grows beyond it by
    /// doubling, copying what it holds).
    init(headroom: Int, capacity: Int = initialCapacity) {
        self.headroom = headroom
        writer = Self.emptyWriter(headroom: headroom, capacity: max(capacity, headroom + 16))
        start = headroom
    }

    private static func emptyWriter(headroom: Int, capacity: Int) -> ProtobufWriter {
        var writer = ProtobufWriter(capacity: capacity)
        writer.write(reserving: headroom) { $0.skip(headroom) }
        return writer
    }

    public var count: Int { ends.count - firstEnd }

    /// The bytes its storage holds, the room ahead included.
    public var storedByteCount: Int { writer.count }
    public var isEmpty: Bool { count == 0 }

    /// All the spans' bytes.
    public var bytes: [UInt8] { Array(prefix(count)) }

    /// The bytes of the first `count` spans (a copy).
    public func prefix(_ count: Int) -> ArraySlice<UInt8> {
        withUnsafeBytes(ofFirst: count) { Array($0)[...] }
    }

    /// How many bytes the first `count` spans take.
    func byteCount(ofFirst count: Int) -> Int {
        count == 0 ? 0 : ends[firstEnd + count - 1] - start
    }

    /// Runs `body` with the bytes of the first `count` spans, in place.
    func withUnsafeBytes<Result>(ofFirst count: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        writer.withUnsafeBytes(start..<(start + byteCount(ofFirst: count)), body)
    }

    /// Forgets the first `count` spans.
    public mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        if count >= self.count {
            removeAll()
            return
        }
        let cut = ends[firstEnd + count - 1]
        firstEnd += count
        start = cut
        if cut - headroom > writer.count - cut {
            writer.removeSubrange(headroom..<cut)
            ends.removeFirst(firstEnd)
            for index in ends.indices { ends[index] -= cut - headroom }
            firstEnd = 0
            start = headroom
        }
    }

    public mutating func removeAll() {
        writer.removeAll()
        writer.write(reserving: headroom) { $0.skip(headroom) }
        ends.removeAll(keepingCapacity: true)
        firstEnd = 0
        start = headroom
    }

    /// Takes the first `count` spans as a whole export request: the resource and scope
    /// of `preamble`, then the spans.
    ///
    /// The request is written in the room ahead of the spans and the storage handed over
    /// with it; the spans after them, if any, move to new storage. When there is no room
    /// ahead, or more bytes stay than go, the spans taken are copied out instead (as
    /// `OTLPEncoder.request` does): either way the fewer bytes are copied.
    mutating func takeRequest(_ count: Int, preamble: OTLPEncoder.Preamble) -> ExportBody {
        let length = byteCount(ofFirst: count)
        let headerLength = OTLPEncoder.headerLength(spans: length, preamble: preamble)
        let end = start + length
        guard count > 0, headerLength <= start, length >= writer.count - end else {
            let body = withUnsafeBytes(ofFirst: count) { OTLPEncoder.request($0, preamble: preamble) }
            removeFirst(count)
            return ExportBody(body)
        }
        writer.overwrite(at: start - headerLength, reserving: headerLength) {
            OTLPEncoder.writeHeader(spans: length, preamble: preamble, to: &$0)
        }
        let taken = writer
        let body = ExportBody(taken, range: (start - headerLength)..<end)
        // What stays moves to new storage of the same size.
        writer = Self.emptyWriter(headroom: headroom, capacity: taken.capacity)
        taken.withUnsafeBytes(end..<taken.count) { writer.append($0) }
        ends.removeFirst(firstEnd + count)
        for index in ends.indices { ends[index] += headroom - end }
        firstEnd = 0
        start = headroom
        return body
    }

    /// The room ahead of the first span.
    var roomAhead: Int { start }

    /// All its spans' storage, handed over in place, with `headerLength` bytes (at most
    /// `roomAhead`) written by `header` in the room ahead of them.
    consuming func takeAll(headerLength: Int = 0, header: (inout ProtobufCursor) -> Void = { _ in }) -> ExportBody.Piece {
        precondition(headerLength <= start, "no room for the header")
        let end = start + byteCount(ofFirst: count)
        if headerLength > 0 { writer.overwrite(at: start - headerLength, reserving: headerLength, header) }
        return ExportBody.Piece(writer: writer, range: (start - headerLength)..<end)
    }

    /// A copy of the first `count` spans' bytes.
    func copy(ofFirst count: Int) -> ExportBody.Piece {
        var copy = ProtobufWriter(capacity: byteCount(ofFirst: count))
        withUnsafeBytes(ofFirst: count) { copy.append($0) }
        return ExportBody.Piece(writer: copy, range: 0..<copy.count)
    }

    /// Appends copies of `other`'s spans (its first `count`).
    public mutating func append(contentsOf other: EncodedSpans, first count: Int? = nil) {
        let count = min(count ?? other.count, other.count)
        guard count > 0 else { return }
        let shift = writer.count - other.start
        other.withUnsafeBytes(ofFirst: count) { writer.append($0) }
        for index in other.firstEnd..<(other.firstEnd + count) { ends.append(other.ends[index] + shift) }
    }

    mutating func markEnd() {
        ends.append(writer.count)
    }

    /// Calls `body` with each span's `Span` message (without its field tag and length),
    /// in place.
    public func forEachSpanMessage(_ body: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeBytes(ofFirst: count) { all in
            var spanStart = 0
            for index in firstEnd..<ends.count {
                let spanEnd = ends[index] - start
                // One tag byte (field 2, length-delimited), then the length as a varint.
                var lengthEnd = spanStart + 1
                while all[lengthEnd] & 0x80 != 0 { lengthEnd += 1 }
                body(UnsafeRawBufferPointer(rebasing: all[(lengthEnd + 1)..<spanEnd]))
                spanStart = spanEnd
            }
        }
    }
}
