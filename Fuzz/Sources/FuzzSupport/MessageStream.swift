import HTTP1

/// Drives `HeadScanner`, a head parser and `CheckedBodyDecoder` over a byte stream fed in
/// pieces, the way the proxy does over its libevent buffers, and records what it reads,
/// so runs over different splits of one input can be compared.
public struct MessageStream {
    public enum Event: Equatable {
        /// A head, as the target describes it.
        case head(String)
        case body([UInt8])
        case failed(HTTPParseError)
    }

    /// What the target's parser made of one head.
    public enum HeadDecision {
        /// A message: its description, its body's framing (nil: none), and whether the
        /// stream stops after it (a tunnel, a close, a final response).
        case message(String, body: BodyDecoder.Framing?, last: Bool)
        case failed(HTTPParseError)
    }

    private let limits: HTTPLimits
    private let parse: ([UInt8]) -> HeadDecision
    private var pending: [UInt8] = []
    /// Where in `pending` the unread part of the stream starts.
    private var start = 0
    /// Bytes dropped from the front of `pending`.
    private var dropped = 0
    private var scanner: HeadScanner
    private var body: CheckedBodyDecoder?
    private var stopAfterBody = false
    public private(set) var events: [Event] = []
    /// No more bytes are read: a failure, or the last message ended.
    public private(set) var stopped = false

    public init(limits: HTTPLimits, parse: @escaping ([UInt8]) -> HeadDecision) {
        self.limits = limits
        self.parse = parse
        scanner = HeadScanner(maxHeadBytes: limits.maxHeaderBytes)
    }

    /// Bytes of the stream read as messages (the rest was never looked at, or is an
    /// unfinished head); nil after a failure, where a decoder says nothing of the
    /// framing bytes it read in the failing step.
    public var consumed: Int? {
        if case .failed = events.last { return nil }
        return dropped + start
    }

    public mutating func feed(_ piece: UnsafeRawBufferPointer) {
        guard !stopped else { return }
        pending.append(contentsOf: piece)
        process()
        // Keep the buffer short without copying on every piece.
        if start > 4096, start * 2 > pending.count {
            pending.removeFirst(start)
            dropped += start
            start = 0
        }
    }

    /// The stream ended.
    public mutating func finish() {
        guard !stopped, var decoder = body else { return }
        decoder.finish()
        end(decoder)
    }

    private mutating func process() {
        while !stopped {
            if var decoder = body {
                guard start < pending.count else { return }
                let taken = pending.withUnsafeBytes { decoder.offer(UnsafeRawBufferPointer(rebasing: $0[start...])) }
                fuzzCheck(taken <= pending.count - start, "the body took more than it was offered")
                start += taken
                body = decoder
                if decoder.status == .needMore {
                    fuzzCheck(start == pending.count, "an unfinished body left bytes unread")
                    return
                }
                end(decoder)
            } else {
                let from = start + scanner.bytesScanned
                guard from < pending.count else { return }
                let result = pending.withUnsafeBytes { scanner.scan(UnsafeRawBufferPointer(rebasing: $0[from...])) }
                switch result {
                case .needMore:
                    fuzzCheck(start + scanner.bytesScanned == pending.count, "needMore with bytes unscanned")
                    return
                case .failed(let error):
                    events.append(.failed(error))
                    stopped = true
                case .complete(let leading, let headEnd):
                    fuzzCheck(headEnd == scanner.bytesScanned, "head ends at \(headEnd), scanned \(scanner.bytesScanned)")
                    fuzzCheck(leading >= 0 && leading + 4 <= headEnd && start + headEnd <= pending.count, "head \(leading)..<\(headEnd) out of place")
                    let head = Array(pending[(start + leading)..<(start + headEnd)])
                    fuzzCheck(head.suffix(4) == [13, 10, 13, 10], "a complete head that does not end in CRLF CRLF")
                    fuzzCheck(head.count <= limits.maxHeaderBytes + 2, "a head of \(head.count) bytes passed the limit \(limits.maxHeaderBytes)")
                    start += headEnd
                    scanner.reset()
                    switch parse(head) {
                    case .failed(let error):
                        events.append(.failed(error))
                        stopped = true
                    case .message(let description, let framing, let last):
                        events.append(.head(description))
                        if let framing {
                            body = CheckedBodyDecoder(framing: framing, limits: limits)
                            stopAfterBody = last
                        } else if last {
                            stopped = true
                        }
                    }
                }
            }
        }
    }

    private mutating func end(_ decoder: CheckedBodyDecoder) {
        body = nil
        switch decoder.status {
        case .needMore:
            preconditionFailure("MessageStream.end with an unfinished body")
        case .complete:
            events.append(.body(decoder.data))
            if stopAfterBody { stopped = true }
        case .failed(let error):
            events.append(.failed(error))
            stopped = true
        }
    }
}

extension MessageStream {
    /// Feeds `input` in the pieces given, then ends the stream.
    public static func run<Pieces: Sequence<Range<Int>>>(
        _ input: UnsafeRawBufferPointer, pieces: Pieces, limits: HTTPLimits,
        parse: @escaping ([UInt8]) -> HeadDecision
    ) -> MessageStream {
        var stream = MessageStream(limits: limits, parse: parse)
        for piece in pieces {
            stream.feed(UnsafeRawBufferPointer(rebasing: input[piece]))
            if stream.stopped { break }
        }
        stream.finish()
        return stream
    }

    /// Runs `input` whole, in pieces cut by its hash, and (when short) a byte at a time,
    /// and checks the three read the same messages.
    public static func checkSplits(
        _ input: UnsafeRawBufferPointer, limits: HTTPLimits, parse: @escaping ([UInt8]) -> HeadDecision
    ) {
        let whole = run(input, pieces: CollectionOfOne(0..<input.count), limits: limits, parse: parse)
        let split = run(input, pieces: InputSplits(of: input), limits: limits, parse: parse)
        fuzzCheck(whole.events == split.events, "split input read differently:\n\(whole.events)\n\(split.events)")
        fuzzCheck(whole.consumed == split.consumed, "split input consumed \(String(describing: split.consumed)), whole \(String(describing: whole.consumed))")
        guard input.count <= 1024 else { return }
        let bytewise = run(input, pieces: (0..<input.count).lazy.map { $0..<($0 + 1) }, limits: limits, parse: parse)
        fuzzCheck(whole.events == bytewise.events, "input a byte at a time read differently:\n\(whole.events)\n\(bytewise.events)")
        fuzzCheck(whole.consumed == bytewise.consumed, "input a byte at a time consumed \(String(describing: bytewise.consumed)), whole \(String(describing: whole.consumed))")
    }
}
