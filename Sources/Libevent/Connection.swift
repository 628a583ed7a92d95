#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// What happened on a connection besides readable and writable bytes.
public enum ConnectionEvent: Sendable, Equatable {
    /// An outgoing connection is established.
    case connected
    /// The peer closed its side; bytes read before it are in `input`.
    case endOfStream
    /// A socket error (errno), including a refused or reset connection.
    case failed(Int32)
    /// No progress within the read or write timeout.
    case timedOut
}

/// Receives a connection's callbacks on the loop thread.
public protocol ConnectionDelegate: AnyObject {
    func connectionDidRead(_ connection: Connection)
    /// The output buffer fell to the write low watermark (0 unless set): all written.
    func connectionDidDrain(_ connection: Connection)
    func connection(_ connection: Connection, didReceive event: ConnectionEvent)
}

/// A TCP connection: the one owner of a socket, its two `evbuffer`s and its read and
/// write events, all freed in `deinit`.
///
/// No bufferevent: an idle connection then holds two buffers and one event, not the
/// bufferevent's ~600 bytes more (see `Connection+Reading` and `Connection+Writing`).
/// **Reading** is a persistent read event that reads into space reserved in the input
/// buffer, up to 64 KiB a call, with no `ioctl(FIONREAD)` first.
/// **Writing** goes to the socket directly (`flush()`); a write event, created on first
/// need, is armed only for bytes the socket did not take, and while connecting.
///
/// `close()` never frees inside a callback: it clears the callbacks, disables the events
/// and hands the object to the loop to release on its next turn.
/// `closeAfterFlush()` writes what is queued, shuts down the write side, and reads and
/// discards until the peer closes or a short linger passes, so that unread request bytes
/// do not turn the close into a reset that could destroy the response on its way.
public final class Connection {
    public enum State: Equatable {
        case open
        case flushing
        case lingering
        case closed
    }

    /// What one read call asks for: small at first (a request or response head fits, and
    /// the buffer chain is a 4 KiB allocation), large once a read fills what it asked for
    /// (a body streams). libevent rounds a chain with its header up to a power of two, so
    /// both leave room for that header: 64 KiB exactly would cost a 128 KiB chain.
    static let smallReadSize = 4 * 1024 - 128
    static let largeReadSize = 64 * 1024 - 128
    var readSize = Connection.smallReadSize

    public let loop: EventLoop
    var readEvent: OpaquePointer?
    /// Created the first time output waits for the socket (or to connect).
    var writeEvent: OpaquePointer?
    var descriptor: Int32 = -1
    /// Not retained: the delegate owns this connection (a session, or the upstream pool),
    /// and every path that lets go of it first clears this field or closes the connection.
    public unowned(unsafe) var delegate: ConnectionDelegate?
    /// Runs once, when the connection is finally closed (after any graceful flush).
    public var didClose: (() -> Void)?
    public internal(set) var state: State = .open
    private var lingerTimer: Timer?
    var lingerMilliseconds = 2_000
    /// Set while flushing or lingering: a closing connection owns itself, so its owner
    /// may let go of it at once.
    private var selfReference: Connection?

    /// Connecting: the write event waits for the result.
    var isConnecting = false
    /// A connect error found at once, reported from the write event's next turn.
    var connectError: Int32 = 0
    /// The write event is armed: output waits for the socket.
    var isWriting = false
    var writeLowWatermark = 0
    var writeTimeoutMilliseconds: Int?
    var wantsReading = true
    var readTimeoutMilliseconds: Int?
    /// The duration of the read event's timeout when it was last added with one (nil:
    /// none), and when (`coarseMilliseconds`) that timeout was last set: by an add, or by
    /// libevent itself each time the event fires for reading.
    var armedReadTimeout: Int?
    var readTimerSetAt: Int64 = 0
    /// The read event is added (pending).
    var readEventAdded = false
    /// The peer has closed its side or the connection failed (seen as EPOLLRDHUP, end of
    /// stream or a read error), possibly before the bytes still in `input` were handled.
    public internal(set) var peerHasClosed = false
    var readHighWatermark = 0
    /// Reading paused because `input` reached the high watermark.
    var readSuspended = false

    public let input: Buffer
    public let output: Buffer

    /// Wraps an accepted socket (non-blocking; closed when the connection is released).
    public init(loop: EventLoop, descriptor: Int32) throws(SystemError) {
        self.loop = loop
        self.descriptor = descriptor
        input = Buffer(pointer: evbuffer_new())
        output = Buffer(pointer: evbuffer_new())
        Self.setNoDelay(descriptor)
        try attachReadEvent()
    }

    /// Starts connecting to `address`; `.connected` or `.failed` follows. Bytes written to
    /// `output` before then are sent once connected.
    public init(loop: EventLoop, connectingTo address: SocketAddress) throws(SystemError) {
        self.loop = loop
        input = Buffer(pointer: evbuffer_new())
        output = Buffer(pointer: evbuffer_new())
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        descriptor = fd
        let result = try address.withSockaddr { (pointer, length) throws(SystemError) -> Int32 in Glibc.connect(fd, pointer, length) }
        let code = result == 0 ? 0 : hoptrace_errno()
        if result != 0, code != EINPROGRESS {
            // Refused at once (loopback): reported like any other outcome, from the loop.
            connectError = code
        }
        isConnecting = true
        try attachReadEvent()
        try makeWriteEvent()
        if connectError != 0 {
            event_active(writeEvent, Int32(EV_WRITE), 0)
        } else {
            event_add(writeEvent, nil)
        }
        isWriting = true
    }

    deinit {
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
        evbuffer_free(input.pointer)
        evbuffer_free(output.pointer)
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    private func attachReadEvent() throws(SystemError) {
        loop.reserveDescriptorRecords(through: descriptor)
        readEvent = event_new(loop.base, descriptor, Int16(EV_READ | EV_CLOSED | EV_PERSIST), { _, what, context in
            Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().readEventFired(what)
        }, Unmanaged.passUnretained(self).toOpaque())
        guard readEvent != nil else { throw SystemError("event_new") }
        updateReadEvent()
    }

    func makeWriteEvent() throws(SystemError) {
        guard writeEvent == nil else { return }
        writeEvent = event_new(loop.base, descriptor, Int16(EV_WRITE | EV_PERSIST), { _, what, context in
            Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().writeEventFired(what)
        }, Unmanaged.passUnretained(self).toOpaque())
        guard writeEvent != nil else { throw SystemError("event_new") }
    }

    static func setNoDelay(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    public var isOpen: Bool { state == .open }

    /// Inactivity timeouts for reading and writing, in milliseconds (nil: none).
    /// After one fires, `.timedOut` is delivered.
    public func setTimeouts(readMilliseconds: Int?, writeMilliseconds: Int?) {
        if readTimeoutMilliseconds != readMilliseconds {
            readTimeoutMilliseconds = readMilliseconds
            if shouldRead { updateReadEvent() }
        }
        if writeTimeoutMilliseconds != writeMilliseconds {
            writeTimeoutMilliseconds = writeMilliseconds
            if isWriting, !isConnecting { armWriteEvent() }
        }
    }

    // MARK: Closing

    /// Closes now; queued output is dropped. Safe inside this connection's callbacks.
    public func close() {
        guard state != .closed else { return }
        state = .closed
        delegate = nil
        lingerTimer?.cancel()
        stopReadEvent()
        disarmWriteEvent()
        loop.deferRelease(self)
        selfReference = nil
        let didClose = self.didClose
        self.didClose = nil
        didClose?()
    }

    /// Sends what is queued, then closes gracefully (see the type's comment). The delegate
    /// hears nothing more. A peer that does not read within `flushMilliseconds` of
    /// inactivity is cut off.
    public func closeAfterFlush(flushMilliseconds: Int = 30_000, lingerMilliseconds: Int = 2_000) {
        guard state == .open else { return }
        state = .flushing
        selfReference = self
        delegate = nil
        input.drain(input.count)
        updateReadEvent()
        writeLowWatermark = 0
        setTimeouts(readMilliseconds: nil, writeMilliseconds: flushMilliseconds)
        lingerTimer = Timer(loop: loop) { [unowned self] in close() }
        lingerTimer!.schedule(milliseconds: flushMilliseconds + lingerMilliseconds)
        self.lingerMilliseconds = lingerMilliseconds
        flush()
        if output.isEmpty && !isConnecting { startLingering() }
    }

    func startLingering() {
        state = .lingering
        shutdown(descriptor, Int32(SHUT_WR))
        disarmWriteEvent()
        setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        lingerTimer?.schedule(milliseconds: lingerMilliseconds)
        updateReadEvent()
    }

    /// Reports `event` to the delegate, or ends a graceful close.
    func deliver(_ event: ConnectionEvent) {
        switch state {
        case .open:
            delegate?.connection(self, didReceive: event)
        case .flushing, .lingering:
            // A reset or a stuck writer ends the graceful close.
            close()
        case .closed:
            break
        }
    }
}
