import W3CTraceContext

/// Random trace and span ids from a per-worker xoshiro256** generator seeded from the
/// system's random source: no system call per id on the request path. Not shared
/// between threads (each worker owns one).
public struct IDGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next())
        if state == (0, 0, 0, 0) { state.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    /// A random trace id, never all zeros (which is invalid).
    public mutating func traceID() -> TraceID {
        while true {
            let (high, low) = (next(), next())
            if high | low != 0 { return TraceID(bytes: unsafeBitCast((high, low), to: TraceID.Bytes.self)) }
        }
    }

    /// A random span id, never all zeros (which is invalid).
    public mutating func spanID() -> SpanID {
        while true {
            let value = next()
            if value != 0 { return SpanID(bytes: unsafeBitCast(value, to: SpanID.Bytes.self)) }
        }
    }
}
