import HTTP1
import ProxyCore

/// The executor's pipelining loop (`ClientSession.serveBufferedRequests`) with no
/// socket: bytes go into a `ChunkedInput`, `HeadScanner` and `RequestHeadParser` find and
/// parse heads, `ConnectionMachine` runs the loop, and each request's exchange ends at
/// once, its `ExchangeMachine` told the reports of a response that needs no I/O.
///
/// Only requests without a body are served (the loop never reads one).
struct PipelineDriver {
    /// How each exchange ends.
    enum Outcome: String, CaseIterable, Sendable {
        /// A 200 from a pooled upstream, kept alive both ways.
        case forwarded
        /// The proxy's own 404.
        case answeredLocally
    }

    struct Served: Equatable, CustomStringConvertible {
        var method: String
        var target: String
        var description: String { "\(method) \(target)" }
    }

    let outcome: Outcome
    let limits = HTTPLimits.default
    private(set) var connection = ConnectionMachine()
    private var scanner = HeadScanner(maxHeadBytes: HTTPLimits.default.maxHeaderBytes)
    private var input = ChunkedInput()
    /// Every action of the connection machine, `.none` included, in order.
    private(set) var actions: [ConnectionMachine.Action] = []
    private(set) var served: [Served] = []
    /// Each exchange's actions, in order.
    private(set) var exchanges: [[ExchangeMachine.Action]] = []

    init(outcome: Outcome) {
        self.outcome = outcome
    }

    /// Feeds `bytes` split at `splits`, each piece one read.
    static func run(_ bytes: [UInt8], splits: [Int], outcome: Outcome) -> PipelineDriver {
        var driver = PipelineDriver(outcome: outcome)
        var start = 0
        for end in splits + [bytes.count] {
            driver.didRead(Array(bytes[start..<end]))
            start = end
        }
        return driver
    }

    /// One byte a read.
    static func trickle(_ bytes: [UInt8], outcome: Outcome) -> PipelineDriver {
        run(bytes, splits: Array(1..<bytes.count), outcome: outcome)
    }

    /// A read from the client, then `settle` (the executor serves what is buffered).
    mutating func didRead(_ bytes: [UInt8]) {
        guard connection.state != .closed else { return }
        input.append(bytes)
        serveBufferedRequests()
    }

    private mutating func serveBufferedRequests() {
        while case .awaitingHead = connection.state, !input.isEmpty {
            perform(.bytesArrived)
            let buffered = input
            switch scanner.scan({ buffered.forEachChunk(from: $0, $1) }) {
            case .needMore:
                perform(.headIncomplete)
                return
            case .failed(let error):
                perform(.headRejected(error))
                return
            case .complete(let leading, let end):
                input.drain(leading)
                let bytes = input.remove(end - leading)
                scanner.reset()
                let head: RequestHead
                do throws(HTTPParseError) {
                    head = try RequestHeadParser(limits: limits).parse(bytes)
                } catch {
                    perform(.headRejected(error))
                    return
                }
                perform(.headComplete)
                exchange(head)
            }
        }
    }

    /// Carries out what the connection machine decided: a close ends with `closed`.
    private mutating func perform(_ event: ConnectionMachine.Event) {
        let action = connection.handle(event)
        actions.append(action)
        switch action {
        case .reject, .closeQuietly, .closeAfterFlush: _ = connection.handle(.closed)
        default: break
        }
    }

    private mutating func exchange(_ head: RequestHead) {
        served.append(Served(method: head.methodString, target: head.targetString))
        var machine = ExchangeMachine(request: ExchangeMachine.Request(head))
        var log: [ExchangeMachine.Action] = []
        switch outcome {
        case .answeredLocally:
            log.append(machine.start(routeFound: false, serverAvailable: true, clientGone: false))
        case .forwarded:
            log.append(machine.start(routeFound: true, serverAvailable: true, clientGone: false))
            let reports: [ExchangeMachine.Event] = [
                .connectionReused, .requestWritten, .responseHead(status: 200, reusable: true, closeDelimited: false),
                .responseComplete(upstreamIdle: true),
            ]
            for report in reports { log.append(machine.handle(report)) }
        }
        exchanges.append(log)
        let closeClient: Bool
        switch log.last {
        case .finish(_, let close), .fail(_, _, let close): closeClient = close
        default: preconditionFailure("the exchange did not end: \(log)")
        }
        // As `finishExchange`: the head's own keep-alive decides too.
        perform(.exchangeFinished(closeClient: closeClient || !head.keepAlive, bytesPending: !input.isEmpty))
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}
