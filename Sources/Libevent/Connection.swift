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

/// A TCP connection: the one owner of a `bufferevent` and of its read event, both freed
/// in `deinit`.
///
/// **Reading** does not use the bufferevent: libevent 2.1.12 asks `ioctl(FIONREAD)` before
/// every read and then reads at most 4 KiB. A persistent read event of our own reads into
/// space reserved in the input buffer, up to 64 KiB a call, with no extra system call.
/// **Writing** goes to the socket directly (`flush()`); the bufferevent's write path is
/// armed only for bytes the socket did not take, and reports connect results.
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

    /// The most one read call takes from the socket.
    static let readSize = 64 * 1024

    public let loop: EventLoop
    private var bufferEvent: OpaquePointer!
    var readEvent: OpaquePointer?
    var descriptor: Int32 = -1
    /// Not retained: the delegate owns this connection (a session, or the upstream pool),
    /// and every path that lets go of it first clears this field or closes the connection.
    public unowned(unsafe) var delegate: ConnectionDelegate?
    /// Runs once, when the connection is finally closed (after any graceful flush).
    public var didClose: (() -> Void)?
    public internal(set) var state: State = .open
    private var lingerTimer: Timer?
    private var lingerMilliseconds = 2_000
    /// Set while flushing or lingering: a closing connection owns itself, so its owner
    /// may let go of it at once.
    private var selfReference: Connection?

    private var isConnecting = false
    private var isWriting = false
    var wantsReading = true
    var readTimeoutMilliseconds: Int?
    /// The read event was last added with a timeout.
    var readTimerArmed = false
    /// The peer has closed its side or the connection failed (seen as EPOLLRDHUP, end of
    /// stream or a read error), possibly before the bytes still in `input` were handled.
    public internal(set) var peerHasClosed = false
    var readHighWatermark = 0
    /// Reading paused because `input` reached the high watermark.
    var readSuspended = false

    public let input: Buffer
    public let output: Buffer

    /// Wraps an accepted socket.
    public init(loop: EventLoop, descriptor: Int32) throws(SystemError) {
        self.loop = loop
        guard let bufferEvent = bufferevent_socket_new(loop.base, descriptor, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else {
            Glibc.close(descriptor)
            throw SystemError("bufferevent_socket_new")
        }
        self.bufferEvent = bufferEvent
        input = Buffer(pointer: bufferevent_get_input(bufferEvent))
        output = Buffer(pointer: bufferevent_get_output(bufferEvent))
        installCallbacks()
        Self.setNoDelay(descriptor)
        try attachReadEvent(descriptor)
    }

    /// Starts connecting to `address`; `.connected` or `.failed` follows. Bytes written to
    /// `output` before then are sent once connected.
    public init(loop: EventLoop, connectingTo address: SocketAddress) throws(SystemError) {
        self.loop = loop
        guard let bufferEvent = bufferevent_socket_new(loop.base, -1, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else {
            throw SystemError("bufferevent_socket_new")
        }
        self.bufferEvent = bufferEvent
        input = Buffer(pointer: bufferevent_get_input(bufferEvent))
        output = Buffer(pointer: bufferevent_get_output(bufferEvent))
        installCallbacks()
        isConnecting = true
        let result = try address.withSockaddr { (pointer, length) throws(SystemError) -> Int32 in
            bufferevent_socket_connect(bufferEvent, UnsafeMutablePointer(mutating: pointer), Int32(length))
        }
        if result < 0 {
            let code = hoptrace_errno()
            bufferevent_free(bufferEvent)
            self.bufferEvent = nil
            throw SystemError("connect to \(address)", code: code)
        }
        try attachReadEvent(bufferevent_getfd(bufferEvent))
    }

    deinit {
        if let readEvent { event_free(readEvent) }
        if let bufferEvent { bufferevent_free(bufferEvent) }
    }

    private func installCallbacks() {
        bufferevent_setcb(
            bufferEvent,
            nil,
            { _, context in Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().didWrite() },
            { _, what, context in Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().didEvent(what) },
            Unmanaged.passUnretained(self).toOpaque()
        )
        // The bufferevent neither reads (our read event does) nor keeps its write event
        // armed (see `flush()`); a new bufferevent starts with writing enabled.
        bufferevent_disable(bufferEvent, Int16(EV_READ | EV_WRITE))
    }

    private func attachReadEvent(_ descriptor: Int32) throws(SystemError) {
        self.descriptor = descriptor
        // A bufferevent freezes the end of its input so only its read path fills it; that
        // read path is now this object's.
        evbuffer_unfreeze(input.pointer, 0)
        readEvent = event_new(loop.base, descriptor, Int16(EV_READ | EV_CLOSED | EV_PERSIST), { _, what, context in
            Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().readEventFired(what)
        }, Unmanaged.passUnretained(self).toOpaque())
        guard readEvent != nil else { throw SystemError("event_new") }
        updateReadEvent()
    }

    private static func setNoDelay(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    public var isOpen: Bool { state == .open }

    // MARK: Writing

    /// Writes queued output to the socket now, and arms the write event only for what the
    /// socket did not take. bufferevent would instead add and remove its write event
    /// around every write (two `epoll_ctl` calls); a proxy writes on almost every turn.
    /// Call it after queuing output, at the end of a callback.
    public func flush() {
        guard state == .open || state == .flushing, !isConnecting, !isWriting, !output.isEmpty else { return }
        // A bufferevent freezes the front of its output so only its own write path drains
        // it; this is that write path, run early.
        evbuffer_unfreeze(output.pointer, 1)
        let written = evbuffer_write(output.pointer, descriptor)
        evbuffer_freeze(output.pointer, 1)
        if written > 0, output.isEmpty { return }
        // The socket is full (EAGAIN) or failed: libevent's write path waits for it and
        // reports any error as an event.
        isWriting = true
        bufferevent_enable(bufferEvent, Int16(EV_WRITE))
    }

    /// `connectionDidDrain` fires when the output falls to `bytes` or below.
    public func setWriteLowWatermark(_ bytes: Int) {
        bufferevent_setwatermark(bufferEvent, Int16(EV_WRITE), bytes, 0)
    }

    /// Inactivity timeouts for reading and writing, in milliseconds (nil: none).
    /// After one fires, `.timedOut` is delivered.
    public func setTimeouts(readMilliseconds: Int?, writeMilliseconds: Int?) {
        if readTimeoutMilliseconds != readMilliseconds {
            readTimeoutMilliseconds = readMilliseconds
            if shouldRead { updateReadEvent() }
        }
        var write = timeval(tv_sec: (writeMilliseconds ?? 0) / 1000, tv_usec: ((writeMilliseconds ?? 0) % 1000) * 1000)
        withUnsafePointer(to: &write) { writePointer in
            _ = bufferevent_set_timeouts(bufferEvent, nil, writeMilliseconds == nil ? nil : writePointer)
        }
    }

    // MARK: Closing

    /// Closes now; queued output is dropped. Safe inside this connection's callbacks.
    public func close() {
        guard state != .closed else { return }
        state = .closed
        delegate = nil
        lingerTimer?.cancel()
        if let readEvent { event_del(readEvent) }
        bufferevent_disable(bufferEvent, Int16(EV_READ | EV_WRITE))
        bufferevent_setcb(bufferEvent, nil, nil, nil, nil)
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
        setWriteLowWatermark(0)
        setTimeouts(readMilliseconds: nil, writeMilliseconds: flushMilliseconds)
        lingerTimer = Timer(loop: loop) { [unowned self] in close() }
        lingerTimer!.schedule(milliseconds: flushMilliseconds + lingerMilliseconds)
        self.lingerMilliseconds = lingerMilliseconds
        flush()
        if output.isEmpty && !isConnecting { startLingering() }
    }

    private func startLingering() {
        state = .lingering
        shutdown(descriptor, Int32(SHUT_WR))
        setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        lingerTimer?.schedule(milliseconds: lingerMilliseconds)
        updateReadEvent()
    }

    // MARK: bufferevent callbacks (writing, connecting)

    private func didWrite() {
        if output.isEmpty, isWriting {
            // Drained: stop libevent from re-arming the write event on every append.
            isWriting = false
            bufferevent_disable(bufferEvent, Int16(EV_WRITE))
        }
        switch state {
        case .open: delegate?.connectionDidDrain(self)
        case .flushing: if output.isEmpty { startLingering() }
        case .lingering, .closed: break
        }
    }

    private func didEvent(_ what: Int16) {
        let flags = Int32(what)
        let event: ConnectionEvent
        if flags & Int32(BEV_EVENT_CONNECTED) != 0 {
            Self.setNoDelay(descriptor)
            isConnecting = false
            flush()
            event = .connected
        } else if flags & Int32(BEV_EVENT_TIMEOUT) != 0 {
            event = .timedOut
        } else if flags & Int32(BEV_EVENT_EOF) != 0 {
            event = .endOfStream
        } else {
            event = .failed(hoptrace_errno())
        }
        isConnecting = false
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
