import HTTP1
import ProxyCore
import Testing

/// Pipelined requests through the real connection machine, the bytes split at every
/// position: the same requests come out, in order, with the same decisions.
@Suite struct PipeliningTests {
    typealias Outcome = PipelineDriver.Outcome

    static let get = "GET /a HTTP/1.1\r\nHost: example\r\n\r\n"
    static let head = "HEAD /b HTTP/1.1\r\nHost: example\r\n\r\n"
    static let post = "POST /c HTTP/1.1\r\nHost: example\r\nContent-Length: 0\r\n\r\n"
    static let requests = [
        PipelineDriver.Served(method: "GET", target: "/a"), .init(method: "HEAD", target: "/b"),
        .init(method: "POST", target: "/c"),
    ]

    /// Between requests: nothing, or the empty line RFC 9112 §2.2 lets a server skip.
    static let separators = ["", "\r\n"]

    static func exchangeActions(_ outcome: Outcome) -> [ExchangeMachine.Action] {
        switch outcome {
        case .forwarded:
            [.connect(pooled: true, sendContinue: false), .cancelDeadline, .startDeadline(.responseHead),
             .forwardResponseHead(closeClient: false), .finish(reuseUpstream: true, closeClient: false)]
        case .answeredLocally:
            [.fail(.noRoute, answerClient: true, closeClient: false)]
        }
    }

    /// The decisions that do not depend on how the bytes were split.
    static func decisions(_ actions: [ConnectionMachine.Action]) -> [ConnectionMachine.Action] {
        actions.filter {
            switch $0 {
            case .startExchange, .reject, .closeQuietly, .closeAfterFlush: true
            default: false
            }
        }
    }

    /// Per head: at most one clock start, at most one deadline.
    static func checkClocks(_ actions: [ConnectionMachine.Action], sourceLocation: SourceLocation = #_sourceLocation) {
        var clocks = 0
        var deadlines = 0
        for action in actions {
            switch action {
            case .startHeadClock: clocks += 1
            case .startHeadDeadline: deadlines += 1
            case .startExchange, .reject:
                #expect(clocks <= 1 && deadlines <= 1, "\(actions)", sourceLocation: sourceLocation)
                clocks = 0
                deadlines = 0
            default: break
            }
        }
    }

    @Test(arguments: Outcome.allCases, separators)
    func pipelinedRequestsGivenWholeAreServedInOrder(_ outcome: Outcome, _ separator: String) {
        let driver = PipelineDriver.run(Array(Self.get + separator + Self.head + separator + Self.post), splits: [], outcome: outcome)
        #expect(driver.served == Self.requests)
        #expect(driver.exchanges == Array(repeating: Self.exchangeActions(outcome), count: 3))
        #expect(driver.actions == [
            .none, .startExchange, .awaitNextRequest(idle: false),
            .none, .startExchange, .awaitNextRequest(idle: false),
            .none, .startExchange, .awaitNextRequest(idle: true),
        ])
        #expect(driver.connection.state == .awaitingHead(.idle))
    }

    @Test(arguments: Outcome.allCases, separators)
    func pipelinedRequestsSplitInTwoAnywhereGiveTheSameRequestsAndDecisions(_ outcome: Outcome, _ separator: String) {
        let bytes = Array(Self.get + separator + Self.head + separator + Self.post)
        let whole = PipelineDriver.run(bytes, splits: [], outcome: outcome)
        for split in 1..<bytes.count {
            let driver = PipelineDriver.run(bytes, splits: [split], outcome: outcome)
            #expect(driver.served == Self.requests, "split at \(split)")
            #expect(driver.exchanges == whole.exchanges, "split at \(split)")
            #expect(Self.decisions(driver.actions) == Self.decisions(whole.actions), "split at \(split)")
            #expect(driver.connection.state == .awaitingHead(.idle), "split at \(split)")
            Self.checkClocks(driver.actions)
        }
    }

    @Test(arguments: Outcome.allCases, separators)
    func pipelinedRequestsOneByteAtATimeStartOneClockAndOneDeadlineEach(_ outcome: Outcome, _ separator: String) {
        let bytes = Array(Self.get + separator + Self.head + separator + Self.post)
        let driver = PipelineDriver.trickle(bytes, outcome: outcome)
        #expect(driver.served == Self.requests)
        #expect(driver.exchanges == Array(repeating: Self.exchangeActions(outcome), count: 3))
        // The first head's time started at the accept; each later one at its first byte.
        let later: [ConnectionMachine.Action] = [.startHeadClock, .startHeadDeadline, .startExchange, .awaitNextRequest(idle: true)]
        let first: [ConnectionMachine.Action] = [.startHeadDeadline, .startExchange, .awaitNextRequest(idle: true)]
        #expect(driver.actions.filter { $0 != .none } == first + later + later)
        #expect(driver.connection.state == .awaitingHead(.idle))
    }

    /// A bad third head, and the rule it breaks (found by the scanner or the parser).
    static let malformed: [(String, HTTPParseError)] = [
        ("GET /x HTTP/1.1\nHost: example\r\n\r\n", .bareLineFeed),
        ("GET /x HTTP/1.1\r\nHost: example\r\rX: y\r\n\r\n", .bareCarriageReturn),
        ("GET /x HTTP/1.1\r\n\r\n", .missingHost),
        ("CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n", .connectNotSupported),
        ("GET /x HTTP/2.0\r\nHost: example\r\n\r\n", .unsupportedVersion),
    ]

    @Test(arguments: malformed)
    func malformedHeadAfterTwoGoodOnesIsRejectedOnceHoweverSplit(_ bad: String, _ error: HTTPParseError) {
        let bytes = Array(Self.get + Self.head + bad + Self.get)
        var splits: [[Int]] = [[], Array(1..<bytes.count)]
        splits += (1..<bytes.count).map { [$0] }
        for split in splits {
            let driver = PipelineDriver.run(bytes, splits: split, outcome: .forwarded)
            let context = split.count > 1 ? "one byte at a time" : "split at \(split)"
            #expect(driver.served == Array(Self.requests.prefix(2)), "\(context)")
            #expect(Self.decisions(driver.actions) == [.startExchange, .startExchange, .reject(.malformedRequest(error))], "\(context)")
            #expect(driver.connection.state == .closed, "\(context)")
        }
    }

    @Test(arguments: Outcome.allCases)
    func requestAskingToCloseEndsThePipeline(_ outcome: Outcome) {
        let closing = "GET /b HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n"
        let bytes = Array(Self.get + closing + Self.post)
        for split in [[]] + (1..<bytes.count).map({ [$0] }) {
            let driver = PipelineDriver.run(bytes, splits: split, outcome: outcome)
            #expect(driver.served.map(\.target) == ["/a", "/b"], "split at \(split)")
            #expect(Self.decisions(driver.actions) == [.startExchange, .startExchange, .closeAfterFlush], "split at \(split)")
            #expect(driver.connection.state == .closed)
        }
    }
}
