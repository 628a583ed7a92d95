import HTTP1
import ProxyCore
import Testing

/// Every transition of the client connection's machine: heads awaited and their limits,
/// keep-alive and pipelining, draining, and how the connection ends.
@Suite struct ConnectionMachineTests {
    typealias Event = ConnectionMachine.Event
    typealias Action = ConnectionMachine.Action
    typealias State = ConnectionMachine.State

    /// Reports that bring a new connection's machine to each state.
    enum Reached: String, CaseIterable, Sendable {
        case firstRequest, started, partial, idle, pipelined, exchanging, tunnelling, closing, closed

        var events: [Event] {
            switch self {
            case .firstRequest: []
            case .started: [.bytesArrived]
            case .partial: [.bytesArrived, .headIncomplete]
            case .idle: [.bytesArrived, .headComplete, .exchangeFinished(closeClient: false, bytesPending: false)]
            case .pipelined: [.bytesArrived, .headComplete, .exchangeFinished(closeClient: false, bytesPending: true)]
            case .exchanging: [.bytesArrived, .headComplete]
            case .tunnelling: [.bytesArrived, .headComplete, .tunnelStarted]
            case .closing: [.bytesArrived, .headRejected(.invalidMethod)]
            case .closed: [.closed]
            }
        }

        var machine: ConnectionMachine {
            var machine = ConnectionMachine()
            for event in events { _ = machine.handle(event) }
            return machine
        }
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var from: Reached
        var event: Event
        var action: Action
        var state: State
        var testDescription: String { "\(from.rawValue) + \(event)" }

        init(_ from: Reached, _ event: Event, _ action: Action, _ state: State) {
            self.from = from
            self.event = event
            self.action = action
            self.state = state
        }
    }

    static let rejected = HTTPParseError.invalidFieldName

    /// Every transition of the switch that the executor can cause.
    static let awaitingHead: [Row] = [
        // The first request's clock started at the accept; a later one's at its first byte.
        .init(.firstRequest, .bytesArrived, .none, .awaitingHead(.started)),
        .init(.idle, .bytesArrived, .startHeadClock, .awaitingHead(.started)),
        .init(.started, .bytesArrived, .none, .awaitingHead(.started)),
        .init(.pipelined, .bytesArrived, .none, .awaitingHead(.started)),
        .init(.partial, .bytesArrived, .none, .awaitingHead(.partial)),
        // The whole-head deadline starts with the first incomplete scan only.
        .init(.started, .headIncomplete, .startHeadDeadline, .awaitingHead(.partial)),
        .init(.pipelined, .headIncomplete, .startHeadDeadline, .awaitingHead(.partial)),
        .init(.partial, .headIncomplete, .none, .awaitingHead(.partial)),
        .init(.started, .headComplete, .startExchange, .exchanging),
        .init(.partial, .headComplete, .startExchange, .exchanging),
        .init(.pipelined, .headComplete, .startExchange, .exchanging),
        .init(.started, .headRejected(rejected), .reject(.malformedRequest(rejected)), .closing),
        .init(.partial, .headRejected(rejected), .reject(.malformedRequest(rejected)), .closing),
        .init(.partial, .headRejected(.headerSectionTooLarge), .reject(.malformedRequest(.headerSectionTooLarge)), .closing),
        // A partial head past its deadline is answered 408; a wait with no head closes quietly.
        .init(.partial, .deadlinePassed, .reject(.requestHeadTimeout), .closing),
        .init(.firstRequest, .deadlinePassed, .closeQuietly, .closing),
        .init(.idle, .deadlinePassed, .closeQuietly, .closing),
        .init(.started, .deadlinePassed, .closeQuietly, .closing),
        .init(.firstRequest, .clientEnded, .closeQuietly, .closing),
        .init(.idle, .clientEnded, .closeQuietly, .closing),
        .init(.started, .clientEnded, .closeQuietly, .closing),
        .init(.partial, .clientEnded, .closeQuietly, .closing),
        // Draining closes only a connection with nothing of a request.
        .init(.firstRequest, .drain, .closeQuietly, .closing),
        .init(.idle, .drain, .closeQuietly, .closing),
        .init(.started, .drain, .none, .awaitingHead(.started)),
        .init(.pipelined, .drain, .none, .awaitingHead(.started)),
        .init(.partial, .drain, .none, .awaitingHead(.partial)),
    ]

    static let exchanging: [Row] = [
        .init(
            .exchanging, .exchangeFinished(closeClient: false, bytesPending: false), .awaitNextRequest(idle: true),
            .awaitingHead(.idle)),
        // Pipelined bytes wait: the next head's time has started.
        .init(
            .exchanging, .exchangeFinished(closeClient: false, bytesPending: true), .awaitNextRequest(idle: false),
            .awaitingHead(.started)),
        .init(.exchanging, .exchangeFinished(closeClient: true, bytesPending: false), .closeAfterFlush, .closing),
        .init(.exchanging, .exchangeFinished(closeClient: true, bytesPending: true), .closeAfterFlush, .closing),
        .init(.exchanging, .tunnelStarted, .none, .tunnelling),
        .init(.exchanging, .drain, .none, .exchanging),
        .init(.tunnelling, .drain, .none, .tunnelling),
    ]

    static let everyEvent: [Event] = [
        .bytesArrived, .headIncomplete, .headComplete, .headRejected(rejected), .deadlinePassed, .clientEnded,
        .exchangeFinished(closeClient: false, bytesPending: false), .exchangeFinished(closeClient: true, bytesPending: true),
        .tunnelStarted, .drain,
    ]

    /// Closing and closed take any report and do nothing more.
    static let ending: [Row] = everyEvent.map { Row(.closing, $0, .none, .closing) } + everyEvent.map { Row(.closed, $0, .none, .closed) }

    /// `closed` from any state.
    static let closes: [Row] = Reached.allCases.map { Row($0, .closed, .none, .closed) }

    @Test(arguments: awaitingHead + exchanging + ending + closes)
    func transition(_ row: Row) {
        var machine = row.from.machine
        #expect(machine.handle(row.event) == row.action)
        #expect(machine.state == row.state)
    }

    @Test func newConnectionAwaitsItsFirstRequest() {
        #expect(ConnectionMachine().state == .awaitingHead(.firstRequest))
    }

    @Test func keptAliveConnectionServesRequestAfterRequest() {
        var machine = ConnectionMachine()
        var actions: [Action] = []
        for _ in 0..<3 {
            actions.append(machine.handle(.bytesArrived))
            actions.append(machine.handle(.headComplete))
            actions.append(machine.handle(.exchangeFinished(closeClient: false, bytesPending: false)))
        }
        #expect(actions == [
            .none, .startExchange, .awaitNextRequest(idle: true),
            .startHeadClock, .startExchange, .awaitNextRequest(idle: true),
            .startHeadClock, .startExchange, .awaitNextRequest(idle: true),
        ])
    }

    @Test func pipelinedRequestsStartTheirClockWhenTheLastExchangeEnds() {
        var machine = Reached.pipelined.machine
        #expect(machine.state == .awaitingHead(.started))
        // The executor started the head's time with `awaitNextRequest(idle: false)`.
        #expect(machine.handle(.bytesArrived) == .none)
        #expect(machine.handle(.headIncomplete) == .startHeadDeadline)
        #expect(machine.handle(.bytesArrived) == .none)
        #expect(machine.handle(.headIncomplete) == .none)
        #expect(machine.handle(.deadlinePassed) == .reject(.requestHeadTimeout))
    }

    @Test func trickledHeadStartsOneDeadlineAndIsServed() {
        var machine = Reached.idle.machine
        var actions: [Action] = [machine.handle(.bytesArrived), machine.handle(.headIncomplete)]
        for _ in 0..<5 {
            actions.append(machine.handle(.bytesArrived))
            actions.append(machine.handle(.headIncomplete))
        }
        actions.append(machine.handle(.bytesArrived))
        actions.append(machine.handle(.headComplete))
        #expect(actions.filter { $0 != .none } == [.startHeadClock, .startHeadDeadline, .startExchange])
    }

    @Test func tunnelEndsWithTheConnection() {
        var machine = Reached.tunnelling.machine
        #expect(machine.handle(.drain) == .none)
        #expect(machine.handle(.closed) == .none)
        #expect(machine.state == .closed)
    }
}
