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

/// A TCP connection: the one owner of a `bufferevent`, freed in `deinit`.
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

    public let loop: EventLoop
    private var bufferEvent: OpaquePointer!
    public weak var delegate: ConnectionDelegate?
    /// Runs once, when the connection is finally closed (after any graceful flush).
    public var didClose: (() -> Void)?
    public private(set) var state: State = .open
    private var lingerTimer: Timer?
    /// Set while flushing or lingering: a closing connection owns itself, so its owner
    /// may let go of it at once.
    private var selfReference: Connection?

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
        Self.setNoDelay(descriptor)
        installCallbacks()
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
        Self.setNoDelay(bufferevent_getfd(bufferEvent))
    }

    deinit {
        if let bufferEvent { bufferevent_free(bufferEvent) }
    }

    private func installCallbacks() {
        bufferevent_setcb(
            bufferEvent,
            { _, context in Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().didRead() },
            { _, context in Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().didWrite() },
            { _, what, context in Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue().didEvent(what) },
            Unmanaged.passUnretained(self).toOpaque()
        )
        // Writing is enabled only while bytes wait for the socket (see `flush()`); a new
        // bufferevent starts with it enabled.
        bufferevent_disable(bufferEvent, Int16(EV_WRITE))
        bufferevent_enable(bufferEvent, Int16(EV_READ))
    }

    private static func setNoDelay(_ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    public var isOpen: Bool { state == .open }

    private var isConnecting = false
    private var isWriting = false

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
        let written = evbuffer_write(output.pointer, bufferevent_getfd(bufferEvent))
        evbuffer_freeze(output.pointer, 1)
        if written > 0, output.isEmpty { return }
        // The socket is full (EAGAIN) or failed: libevent's write path waits for it and
        // reports any error as an event.
        isWriting = true
        bufferevent_enable(bufferEvent, Int16(EV_WRITE))
    }

    // MARK: Flow control

    public func enableReading() {
        guard state == .open else { return }
        bufferevent_enable(bufferEvent, Int16(EV_READ))
    }

    public func disableReading() {
        guard state == .open else { return }
        bufferevent_disable(bufferEvent, Int16(EV_READ))
    }

    public var isReading: Bool { (Int32(bufferevent_get_enabled(bufferEvent)) & EV_READ) != 0 }

    /// `connectionDidDrain` fires when the output falls to `bytes` or below.
    public func setWriteLowWatermark(_ bytes: Int) {
        bufferevent_setwatermark(bufferEvent, Int16(EV_WRITE), bytes, 0)
    }

    /// Reading pauses by itself while `input` holds `bytes` or more (0: no limit).
    public func setReadHighWatermark(_ bytes: Int) {
        bufferevent_setwatermark(bufferEvent, Int16(EV_READ), 0, bytes)
    }

    /// Inactivity timeouts for reading and writing, in milliseconds (nil: none).
    /// After one fires, `.timedOut` is delivered.
    public func setTimeouts(readMilliseconds: Int?, writeMilliseconds: Int?) {
        var read = timeval(tv_sec: (readMilliseconds ?? 0) / 1000, tv_usec: ((readMilliseconds ?? 0) % 1000) * 1000)
        var write = timeval(tv_sec: (writeMilliseconds ?? 0) / 1000, tv_usec: ((writeMilliseconds ?? 0) % 1000) * 1000)
        withUnsafePointer(to: &read) { readPointer in
            withUnsafePointer(to: &write) { writePointer in
                _ = bufferevent_set_timeouts(
                    bufferEvent, readMilliseconds == nil ? nil : readPointer,
                    writeMilliseconds == nil ? nil : writePointer)
            }
        }
    }

    // MARK: Closing

    /// Closes now; queued output is dropped. Safe inside this connection's callbacks.
    public func close() {
        guard state != .closed else { return }
        state = .closed
        delegate = nil
        lingerTimer?.cancel()
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
        bufferevent_enable(bufferEvent, Int16(EV_READ))
        setWriteLowWatermark(0)
        setTimeouts(readMilliseconds: nil, writeMilliseconds: flushMilliseconds)
        lingerTimer = Timer(loop: loop) { [unowned self] in close() }
        lingerTimer!.schedule(milliseconds: flushMilliseconds + lingerMilliseconds)
        self.lingerMilliseconds = lingerMilliseconds
        flush()
        if output.isEmpty && !isConnecting { startLingering() }
    }

    private var lingerMilliseconds = 2_000

    private func startLingering() {
        state = .lingering
        shutdown(bufferevent_getfd(bufferEvent), Int32(SHUT_WR))
        setTimeouts(readMilliseconds: nil, writeMilliseconds: nil)
        lingerTimer?.schedule(milliseconds: lingerMilliseconds)
    }

    // MARK: Callbacks

    private func didRead() {
        switch state {
        case .open: delegate?.connectionDidRead(self)
        case .flushing, .lingering: input.drain(input.count)
        case .closed: break
        }
    }

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
            Self.setNoDelay(bufferevent_getfd(bufferEvent))
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
            // A reset, the peer's FIN or a stuck writer ends the graceful close.
            if event == .endOfStream && state == .flushing { return }
            close()
        case .closed:
            break
        }
    }
}
