#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProxyCore
import Testing

/// The retry rules (README, "Retries"): once, on the next server, when connecting fails,
/// whatever the request, carrying what was queued; or when a reused kept-alive connection
/// turns out stale before any response byte, for an idempotent request without a body.
@Suite struct RetryTests {
    /// A report that means the connection was never made, and the failure it is.
    struct ConnectFailure: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var report: ExchangeMachine.Event
        var failure: ProxyFailure

        static let all: [ConnectFailure] = [
            .init(testDescription: "connect refused", report: .connectFailed(.connectRefused), failure: .connectRefused),
            .init(
                testDescription: "connect failed", report: .connectFailed(.connectFailed(code: EHOSTUNREACH)),
                failure: .connectFailed(code: EHOSTUNREACH)),
            .init(testDescription: "connect deadline passed", report: .deadlinePassed, failure: .connectTimeout),
            .init(
                testDescription: "upstream timed out while connecting", report: .upstreamTimedOut(responseBytesSeen: false),
                failure: .connectTimeout),
            .init(
                testDescription: "EOF while connecting", report: .upstreamEnded(responseBytesSeen: false),
                failure: .connectRefused),
            .init(
                testDescription: "ECONNREFUSED while connecting",
                report: .upstreamFailed(code: ECONNREFUSED, responseBytesSeen: false), failure: .connectRefused),
            .init(
                testDescription: "another socket error while connecting",
                report: .upstreamFailed(code: ENETUNREACH, responseBytesSeen: false),
                failure: .connectFailed(code: ENETUNREACH)),
        ]
    }

    static let anyRequest: [RequestKind] = [.get, .postWithBody, .postWithoutBody, .putWithBody, .postExpectingContinue]

    @Test(arguments: ConnectFailure.all, anyRequest)
    func connectFailureRetriesOnceCarryingTheQueuedBytesForAnyMethod(_ failure: ConnectFailure, _ kind: RequestKind) {
        var machine = startedMachine(kind, after: Path.connecting)
        #expect(machine.handle(failure.report) == .retry(after: failure.failure, carryQueued: true))
        #expect(machine.state == .connecting(.second))
        #expect(machine.attempts == 2)
        #expect(machine.failure == nil)
        #expect(machine.status == 0)
        #expect(machine.handle(.connecting) == .startDeadline(.connect))
    }

    @Test(arguments: ConnectFailure.all, anyRequest)
    func secondConnectFailureFailsWithBadGateway(_ failure: ConnectFailure, _ kind: RequestKind) {
        var machine = startedMachine(kind, after: Path.retried + [.connecting])
        // A body not read to its end keeps the client connection from being reused.
        let bodyUnread = kind.request.hasBody
        #expect(machine.handle(failure.report) == .fail(failure.failure, answerClient: true, closeClient: bodyUnread))
        #expect(machine.state == .finished)
        #expect(machine.failure == failure.failure)
        #expect(machine.status == 502)
        #expect(machine.attempts == 2)
    }

    @Test func connectFailureReportedWithoutConnectingRetriesToo() {
        // The executor reports `connectFailed` at once when the socket cannot even be made.
        var machine = startedMachine(.get, after: [])
        #expect(machine.handle(.connectFailed(.connectRefused)) == .retry(after: .connectRefused, carryQueued: true))
        #expect(machine.handle(.connectFailed(.connectRefused)) == .fail(.connectRefused, answerClient: true, closeClient: false))
    }

    /// A report that may mean a kept-alive connection the upstream closed while idle.
    enum StaleReport: CaseIterable, Sendable {
        case closedEarly, reset, writeTimeout

        func event(responseBytesSeen seen: Bool) -> ExchangeMachine.Event {
            switch self {
            case .closedEarly: .upstreamEnded(responseBytesSeen: seen)
            case .reset: .upstreamFailed(code: ECONNRESET, responseBytesSeen: seen)
            case .writeTimeout: .upstreamTimedOut(responseBytesSeen: seen)
            }
        }

        var failure: ProxyFailure {
            switch self {
            case .closedEarly: .upstreamClosedEarly
            case .reset: .upstreamReset(code: ECONNRESET)
            case .writeTimeout: .upstreamWriteTimeout
            }
        }
    }

    /// A request on a connection, before a response head, and whether a stale failure
    /// there is retried.
    struct StaleCase: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var kind: RequestKind
        var after: [ExchangeMachine.Event]
        var responseBytesSeen = false
        var retried: Bool

        static let all: [StaleCase] = [
            .init(testDescription: "reused, GET, sending", kind: .get, after: Path.sendingReused, retried: true),
            .init(testDescription: "reused, GET, awaiting the head", kind: .get, after: Path.awaitingHeadReused, retried: true),
            .init(testDescription: "a new connection", kind: .get, after: Path.sendingNew, retried: false),
            .init(testDescription: "a new connection, awaiting the head", kind: .get, after: Path.awaitingHeadNew, retried: false),
            .init(testDescription: "not idempotent (POST)", kind: .postWithoutBody, after: Path.awaitingHeadReused, retried: false),
            .init(
                testDescription: "a request body (PUT)", kind: .putWithBody, after: Path.bodyRead(Path.awaitingHeadReused),
                retried: false),
            .init(
                testDescription: "a response byte seen", kind: .get, after: Path.awaitingHeadReused, responseBytesSeen: true,
                retried: false),
            // The executor never reuses a connection for a retry; the rule holds even so.
            .init(
                testDescription: "the second attempt", kind: .get,
                after: Path.sendingReused + [.upstreamEnded(responseBytesSeen: false), .connectionReused], retried: false),
            .init(
                testDescription: "the second attempt after a connect failure", kind: .get,
                after: Path.retried + [.connecting, .connected], retried: false),
        ]
    }

    @Test(arguments: StaleCase.all, StaleReport.allCases)
    func staleConnectionIsRetriedOnlyWhenNothingCanHappenTwice(_ item: StaleCase, _ report: StaleReport) {
        var machine = startedMachine(item.kind, after: item.after)
        let action = machine.handle(report.event(responseBytesSeen: item.responseBytesSeen))
        if item.retried {
            #expect(action == .retry(after: report.failure, carryQueued: false))
            #expect(machine.state == .connecting(.second))
            #expect(machine.attempts == 2)
        } else {
            // Nothing went to the client yet: it is answered, and the connection kept.
            #expect(action == .fail(report.failure, answerClient: true, closeClient: false))
            #expect(machine.state == .finished)
            #expect(machine.failure == report.failure)
            #expect(machine.status == report.failure.status)
        }
    }

    @Test func staleRetryThenConnectFailureFails() {
        var machine = startedMachine(.get, after: Path.sendingReused + [.upstreamEnded(responseBytesSeen: false), .connecting])
        #expect(machine.handle(.deadlinePassed) == .fail(.connectTimeout, answerClient: true, closeClient: false))
        #expect(machine.attempts == 2)
    }

    @Test(arguments: [Path.awaitingHeadReused, Path.awaitingHeadNew])
    func responseHeadTimeoutIsNeverRetried(_ path: [ExchangeMachine.Event]) {
        var machine = startedMachine(.get, after: path)
        #expect(machine.handle(.deadlinePassed) == .fail(.responseHeadTimeout, answerClient: true, closeClient: false))
        #expect(machine.status == 504)
        #expect(machine.attempts == 1)
    }

    @Test func malformedResponseOnReusedConnectionIsNeverRetried() {
        var machine = startedMachine(.get, after: Path.awaitingHeadReused)
        let failure = ProxyFailure.malformedResponse(.invalidStatusLine)
        #expect(machine.handle(.responseFailed(failure)) == .fail(failure, answerClient: true, closeClient: false))
        #expect(machine.status == 502)
    }

    @Test(arguments: [
        Path.retried,
        Path.sendingReused + [.upstreamEnded(responseBytesSeen: false)],
    ])
    func noServerForTheRetryFailsUnresolved(_ path: [ExchangeMachine.Event]) {
        var machine = startedMachine(.get, after: path)
        #expect(machine.handle(.noServer) == .fail(.unresolved, answerClient: true, closeClient: false))
        #expect(machine.failure == .unresolved)
        #expect(machine.status == 502)
        #expect(machine.state == .finished)
    }

    @Test func upstreamFailureAfterTheResponseStartedIsNeverRetried() {
        var machine = startedMachine(.get, after: Path.awaitingHeadReused + [Path.ok])
        #expect(machine.handle(.upstreamFailed(code: ECONNRESET, responseBytesSeen: true))
            == .fail(.upstreamReset(code: ECONNRESET), answerClient: false, closeClient: true))
        #expect(machine.attempts == 1)
    }
}
