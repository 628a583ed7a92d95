import ProxyCore
import Testing

/// The requests the exchange rules tell apart.
enum RequestKind: String, CaseIterable, Sendable {
    case get
    case getClosing
    case postWithBody
    case postWithoutBody
    case putWithBody
    case postExpectingContinue
    case upgrade

    var request: ExchangeMachine.Request {
        switch self {
        case .get: .init(idempotent: true, hasBody: false, keepAlive: true)
        case .getClosing: .init(idempotent: true, hasBody: false, keepAlive: false)
        case .postWithBody: .init(idempotent: false, hasBody: true, keepAlive: true)
        case .postWithoutBody: .init(idempotent: false, hasBody: false, keepAlive: true)
        case .putWithBody: .init(idempotent: true, hasBody: true, keepAlive: true)
        case .postExpectingContinue: .init(idempotent: false, hasBody: true, keepAlive: true, expectsContinue: true)
        case .upgrade: .init(idempotent: true, hasBody: false, keepAlive: true, wantsUpgrade: true)
        }
    }
}

extension ExchangeMachine.Attempt {
    static let first = Self(number: 1, reused: false)
    static let firstReused = Self(number: 1, reused: true)
    static let second = Self(number: 2, reused: false)
}

extension ExchangeMachine.Response {
    /// A response kept alive both ways.
    static let keepAlive = Self(closeClient: false, reusable: true)
}

/// The executor's reports, in order, that bring a started machine to a state.
enum Path {
    typealias Events = [ExchangeMachine.Event]

    static let connecting: Events = [.connecting]
    static let sendingNew: Events = [.connecting, .connected]
    static let sendingReused: Events = [.connectionReused]
    static let awaitingHeadNew: Events = sendingNew + [.requestWritten]
    static let awaitingHeadReused: Events = sendingReused + [.requestWritten]
    /// A 200 kept alive both ways is streaming to the client.
    static let streaming: Events = awaitingHeadNew + [ok]
    /// A 101 was forwarded (the request must want an upgrade).
    static let tunnelling: Events = awaitingHeadNew + [.responseHead(status: 101, reusable: false, closeDelimited: false)]
    /// The first connect failed: attempt 2 is connecting.
    static let retried: Events = [.connecting, .connectFailed(.connectRefused)]

    static let ok: ExchangeMachine.Event = .responseHead(status: 200, reusable: true, closeDelimited: false)

    /// `path` for a request whose body was read first.
    static func bodyRead(_ path: Events) -> Events { [.requestBodyComplete] + path }
}

/// A machine for `kind` started with a route, a server and the client there, then told
/// `events` (each one legal in the state it meets).
func startedMachine(_ kind: RequestKind, after events: [ExchangeMachine.Event]) -> ExchangeMachine {
    var machine = ExchangeMachine(request: kind.request)
    _ = machine.start(routeFound: true, serverAvailable: true, clientGone: false)
    for event in events { _ = machine.handle(event) }
    return machine
}

/// One rule as a row: the state reached by `after`, then `event` → `action` and `state`.
struct Transition: Sendable, CustomTestStringConvertible {
    var rule: String
    var kind: RequestKind = .get
    var after: [ExchangeMachine.Event]
    var event: ExchangeMachine.Event
    var action: ExchangeMachine.Action
    var state: ExchangeMachine.State

    var testDescription: String { rule }

    /// Checks the row and returns the machine after it, for its facts.
    @discardableResult
    func check(sourceLocation: SourceLocation = #_sourceLocation) -> ExchangeMachine {
        var machine = startedMachine(kind, after: after)
        let got = machine.handle(event)
        #expect(got == action, "\(rule)", sourceLocation: sourceLocation)
        #expect(machine.state == state, "\(rule)", sourceLocation: sourceLocation)
        return machine
    }
}

extension Transition {
    init(_ rule: String, _ kind: RequestKind = .get, after: [ExchangeMachine.Event], _ event: ExchangeMachine.Event,
         _ action: ExchangeMachine.Action, _ state: ExchangeMachine.State) {
        self.init(rule: rule, kind: kind, after: after, event: event, action: action, state: state)
    }
}
