#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// Reading: a persistent read event of the connection's own, reading into space reserved
/// in the input buffer (see `Connection`'s comment for why not the bufferevent's).
extension Connection {
    public func enableReading() {
        guard state == .open, !wantsReading else { return }
        wantsReading = true
        updateReadEvent()
    }

    public func disableReading() {
        guard state == .open, wantsReading else { return }
        wantsReading = false
        updateReadEvent()
    }

    /// Reading pauses by itself while `input` holds `bytes` or more (0: no limit), and
    /// resumes on `resumeReadingIfDrained()` once the owner has consumed input.
    public func setReadHighWatermark(_ bytes: Int) {
        readHighWatermark = bytes
    }

    /// Resumes reading paused by the read high watermark, if input has fallen below it.
    public func resumeReadingIfDrained() {
        guard readSuspended, input.count < readHighWatermark else { return }
        readSuspended = false
        updateReadEvent()
    }

    var shouldRead: Bool {
        switch state {
        case .open: return wantsReading && !readSuspended
        case .flushing, .lingering: return true
        case .closed: return false
        }
    }

    func updateReadEvent() {
        guard let readEvent else { return }
        if shouldRead {
            if let milliseconds = readTimeoutMilliseconds, state == .open {
                let now = Self.coarseMilliseconds()
                // Already added with this duration, set within 1% of it: adding it again
                // would move the deadline by less than that. A proxied exchange sets its
                // connections' read timeouts back a moment after the read that set them.
                if readEventAdded, armedReadTimeout == milliseconds, milliseconds >= Self.reusedTimeoutMinimum,
                    now - readTimerSetAt <= Int64(milliseconds / 100)
                {
                    return
                }
                // Common-timeout queues: O(1) for the many connections sharing a duration.
                loop.add(readEvent, milliseconds: milliseconds, shared: true)
                armedReadTimeout = milliseconds
                readTimerSetAt = now
            } else if readEventAdded, armedReadTimeout != nil {
                // Added, with a timeout no longer wanted: left as it is, and dropped by
                // `readEventFired` should it fire. A proxied exchange turns its client's
                // read timeout off and on again; this saves an `event_add` and an
                // `event_remove_timer` each time.
                return
            } else {
                event_add(readEvent, nil)
                // `event_add` without a timeout keeps a timeout set before: remove it.
                if armedReadTimeout != nil { event_remove_timer(readEvent) }
                armedReadTimeout = nil
            }
            readEventAdded = true
        } else {
            stopReadEvent()
        }
    }

    /// Timeouts this long or longer are not added again when set within 1% of their
    /// duration; shorter ones always are (the coarse clock moves in steps of a few ms).
    static let reusedTimeoutMinimum = 1_000

    /// Milliseconds of the coarse monotonic clock: no system call, a few ms per step.
    static func coarseMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Deletes the read event, its timeout first: libevent keeps a persistent event's
    /// duration through `event_del` and would bring it back on a later `event_add` without
    /// one; `event_remove_timer` forgets it, but only while it is pending.
    func stopReadEvent() {
        guard let readEvent else { return }
        if armedReadTimeout != nil { event_remove_timer(readEvent) }
        armedReadTimeout = nil
        readEventAdded = false
        event_del(readEvent)
    }

    func readEventFired(_ what: Int16) {
        if Int32(what) & EV_CLOSED != 0 { peerHasClosed = true }
        if Int32(what) & EV_TIMEOUT != 0 {
            if readTimeoutMilliseconds == nil || state != .open {
                // A timeout left in place when it was turned off (`updateReadEvent`).
                event_remove_timer(readEvent)
                armedReadTimeout = nil
                return
            }
            stopReadEvent()
            deliver(.timedOut)
            return
        }
        // libevent set the timeout again as the event fired.
        if armedReadTimeout != nil { readTimerSetAt = Self.coarseMilliseconds() }
        switch readOnce() {
        case .some(let count) where count > 0:
            switch state {
            case .open:
                if readHighWatermark > 0, input.count >= readHighWatermark {
                    readSuspended = true
                    updateReadEvent()
                }
                delegate?.connectionDidRead(self)
            case .flushing, .lingering:
                input.drain(input.count)
            case .closed:
                break
            }
        case .some:
            // End of stream.
            peerHasClosed = true
            stopReadEvent()
            switch state {
            case .open: delegate?.connection(self, didReceive: .endOfStream)
            case .flushing: break  // keep writing; the peer may still read
            case .lingering: close()
            case .closed: break
            }
        case .none:
            let code = hoptrace_errno()
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            peerHasClosed = true
            stopReadEvent()
            deliver(.failed(code))
        }
    }

    /// Reads up to `readSize` bytes (see there) into the input buffer: the count (0 at end of
    /// stream), or nil with errno set.
    private func readOnce() -> Int? {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { vectors -> Int? in
            let reserved = Int(evbuffer_reserve_space(input.pointer, readSize, vectors.baseAddress, 2))
            guard reserved > 0 else { return nil }
            // One piece (the usual case): `recv`, which the kernel serves through fewer
            // layers than `readv` (no iovec to import, no file-position checks).
            let count = reserved == 1
                ? recv(descriptor, vectors[0].iov_base, vectors[0].iov_len, 0)
                : readv(descriptor, vectors.baseAddress, Int32(reserved))
            guard count > 0 else {
                evbuffer_commit_space(input.pointer, vectors.baseAddress, 0)
                return count == 0 ? 0 : nil
            }
            // Filled what it asked for: more is coming, ask for more next time.
            if count >= readSize { readSize = Self.largeReadSize } else if count < Self.smallReadSize / 2 { readSize = Self.smallReadSize }
            var remaining = count
            var used = 0
            while used < reserved, remaining > 0 {
                let length = min(vectors[used].iov_len, remaining)
                vectors[used].iov_len = length
                remaining -= length
                used += 1
            }
            evbuffer_commit_space(input.pointer, vectors.baseAddress, Int32(used))
            return count
        }
    }
}
