#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// Writing and connecting: output goes to the socket at once (`flush()`); the write event
/// is armed only for what the socket did not take, and while connecting.
extension Connection {
    /// Writes queued output to the socket now, and arms the write event only for what the
    /// socket did not take (a proxy writes on almost every turn; adding and removing a
    /// write event around each write would cost two `epoll_ctl` calls).
    /// Call it after queuing output, at the end of a callback. Errors are reported from
    /// the write event, never from inside this call.
    public func flush() {
        guard state == .open || state == .flushing, !isConnecting, !isWriting, !output.isEmpty else { return }
        let written = writeOutput()
        // All written, and nobody waits for a drain: done.
        if written > 0, output.isEmpty, writeLowWatermark == 0 { return }
        // The socket is full (EAGAIN) or failed: the write event tries again and reports
        // any error. Or the output fell below a low watermark someone waits on: the write
        // event (the socket is writable) reports the drain on the next turn, outside
        // this call.
        armWriteEvent()
    }

    /// `connectionDidDrain` fires when the output falls to `bytes` or below after a write
    /// that had to wait for the socket (0: when everything is written).
    public func setWriteLowWatermark(_ bytes: Int) {
        writeLowWatermark = bytes
    }

    func armWriteEvent() {
        guard (try? makeWriteEvent()) != nil, let writeEvent else { return }
        isWriting = true
        if let milliseconds = writeTimeoutMilliseconds {
            loop.add(writeEvent, milliseconds: milliseconds, shared: true)
        } else {
            event_add(writeEvent, nil)
            event_remove_timer(writeEvent)
        }
    }

    func disarmWriteEvent() {
        guard isWriting, let writeEvent else { return }
        isWriting = false
        // The timeout first (see `stopReadEvent`).
        event_remove_timer(writeEvent)
        event_del(writeEvent)
    }

    func writeEventFired(_ what: Int16) {
        if isConnecting {
            finishConnecting()
            return
        }
        if Int32(what) & EV_TIMEOUT != 0 {
            disarmWriteEvent()
            deliver(.timedOut)
            return
        }
        let written = writeOutput()
        if written < 0 {
            let code = hoptrace_errno()
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            disarmWriteEvent()
            deliver(.failed(code))
            return
        }
        if output.isEmpty { disarmWriteEvent() }
        guard output.count <= writeLowWatermark else { return }
        switch state {
        case .open: delegate?.connectionDidDrain(self)
        case .flushing: if output.isEmpty { startLingering() }
        case .lingering, .closed: break
        }
    }

    /// Writes what the output holds: with `send` when it is one contiguous piece (a head,
    /// or a head and a small body copied behind it), which the kernel serves through
    /// fewer layers than `writev`; else every piece at once (`evbuffer_write`). The count
    /// written, or -1 with errno set.
    private func writeOutput() -> Int {
        let length = output.count
        guard evbuffer_get_contiguous_space(output.pointer) == length else {
            return Int(evbuffer_write(output.pointer, descriptor))
        }
        let written = output.withFirstChunk { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written > 0 { output.drain(written) }
        return written
    }

    /// The write event fired while connecting: connected, or failed with the reason.
    private func finishConnecting() {
        isConnecting = false
        disarmWriteEvent()
        var code = connectError
        if code == 0 {
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { code = hoptrace_errno() }
        }
        if code != 0 {
            peerHasClosed = true
            deliver(.failed(code))
            return
        }
        Self.setNoDelay(descriptor)
        flush()
        switch state {
        case .open: delegate?.connection(self, didReceive: .connected)
        case .flushing: if output.isEmpty { startLingering() }
        case .lingering, .closed: break
        }
    }
}
