import HTTP1

/// Drives the codec over a byte stream the way the proxy does over libevent buffers:
/// `HeadScanner` finds the head, `RequestHeadParser` parses it, `BodyDecoder` delimits
/// the body. Collects what a proxy would forward, so tests can compare outcomes for
/// any way of splitting the same bytes.
struct RequestStreamDriver {
    struct Message: Equatable {
        var method: String
        var target: String
        var fields: [String]
        var framing: RequestHead.Framing
        var body: [UInt8]
        var keepAlive: Bool
    }

    var limits: HTTPLimits
    private var pending: [UInt8] = []
    private var scanner: HeadScanner
    private var head: RequestHead?
    private var decoder: BodyDecoder?
    private var body: [UInt8] = []
    private(set) var messages: [Message] = []
    private(set) var error: HTTPParseError?

    init(limits: HTTPLimits = .default) {
        self.limits = limits
        scanner = HeadScanner(maxHeadBytes: limits.maxHeaderBytes)
    }

    /// Feeds `bytes` split at `splits` (offsets), or one byte at a time when `byteByByte`.
    static func run(_ bytes: [UInt8], splits: [Int] = [], byteByByte: Bool = false, limits: HTTPLimits = .default) -> RequestStreamDriver {
        var driver = RequestStreamDriver(limits: limits)
        if byteByByte {
            for byte in bytes where driver.error == nil { driver.feed([byte]) }
        } else {
            var start = 0
            for split in splits.sorted() + [bytes.count] where split >= start {
                driver.feed(Array(bytes[start..<split]))
                start = split
            }
        }
        return driver
    }

    mutating func feed(_ piece: [UInt8]) {
        guard error == nil else { return }
        pending.append(contentsOf: piece)
        process()
    }

    private mutating func process() {
        while error == nil {
            if head == nil {
                guard pending.count > scanner.bytesScanned else { return }
                let unscanned = Array(pending[scanner.bytesScanned...])
                let result = unscanned.withUnsafeBytes { scanner.scan($0) }
                switch result {
                case .needMore:
                    return
                case .failed(let failure):
                    error = failure
                    return
                case .complete(let leading, let end):
                    let bytes = Array(pending[leading..<end])
                    pending.removeFirst(end)
                    scanner.reset()
                    do throws(HTTPParseError) {
                        let parsed = try RequestHeadParser(limits: limits).parse(bytes)
                        head = parsed
                        body = []
                        switch parsed.framing {
                        case .none: finishMessage()
                        case .length(let length): decoder = BodyDecoder(framing: .length(length), limits: limits)
                        case .chunked: decoder = BodyDecoder(framing: .chunked, limits: limits)
                        }
                    } catch {
                        self.error = error
                        return
                    }
                }
            } else {
                guard !pending.isEmpty, var decoder else { return }
                let step = pending.withUnsafeBytes { decoder.step($0) }
                self.decoder = decoder
                switch step {
                case .data(let count):
                    body.append(contentsOf: pending[0..<count])
                    pending.removeFirst(count)
                    if decoder.isComplete { finishMessage() }
                case .framing(let count), .chunkStart(_, let count), .chunkEnd(let count):
                    pending.removeFirst(count)
                case .end(let count):
                    pending.removeFirst(count)
                    finishMessage()
                case .failed(let failure):
                    error = failure
                }
            }
        }
    }

    private mutating func finishMessage() {
        guard let head else { return }
        messages.append(Message(
            method: head.methodString, target: head.targetString,
            fields: head.fields.map { head.string($0.name) + ": " + head.string($0.value) },
            framing: head.framing, body: body, keepAlive: head.keepAlive))
        self.head = nil
        decoder = nil
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}
