/// Histograms of durations, one per label set, a label set packed into a `UInt64` key.
///
/// A worker's own table, touched by its thread alone: an open-addressing table with a
/// multiplicative hash (no `Hasher`, no allocation once a label set has been seen), so that
/// an observation costs a probe, a bucket search and two additions.
struct HistogramTable: Sendable {
    /// Upper bounds in seconds: OpenTelemetry's HTTP duration buckets.
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    /// Counts per row: one per bound and one past the last (+Inf), not cumulative.
    static var width: Int { 15 }

    private(set) var keys: [UInt64] = []
    /// Per row: the counts of each bucket (`width` of them), then the sum's bits.
    private var cells: [UInt64] = []
    /// Where each key's row is: `slots[hash]` holds row + 1 (0: empty).
    private var slots: [Int32] = Array(repeating: 0, count: 64)
    /// The last key observed and its row: consecutive requests mostly share a label set.
    private var lastKey: UInt64 = 0
    private var lastRow = 0

    var rowCount: Int { keys.count }
    private static var stride: Int { 16 }

    /// Adds one observation of `nanoseconds` to the histogram of `key`. The sum is kept
    /// in nanoseconds too (seconds only when scraped): integers all the way.
    @inline(__always)
    mutating func observe(_ key: UInt64, nanoseconds: UInt64) {
        let row = key == lastKey ? lastRow : self.row(for: key)
        lastKey = key
        lastRow = row
        let base = row * Self.stride
        let bucket = Self.bucket(nanoseconds)
        cells.withUnsafeMutableBufferPointer { cells in
            cells[base + bucket] &+= 1
            cells[base + Self.width] &+= nanoseconds
        }
    }

    /// The first bucket whose bound is at least `nanoseconds` (`bounds.count`: past them
    /// all), by comparisons with the constants: no array read.
    @inline(__always)
    static func bucket(_ nanoseconds: UInt64) -> Int {
        if nanoseconds <= 100_000_000 {
            if nanoseconds <= 5_000_000 { return 0 }
            if nanoseconds <= 10_000_000 { return 1 }
            if nanoseconds <= 25_000_000 { return 2 }
            if nanoseconds <= 50_000_000 { return 3 }
            return nanoseconds <= 75_000_000 ? 4 : 5
        }
        if nanoseconds <= 250_000_000 { return 6 }
        if nanoseconds <= 500_000_000 { return 7 }
        if nanoseconds <= 750_000_000 { return 8 }
        if nanoseconds <= 1_000_000_000 { return 9 }
        if nanoseconds <= 2_500_000_000 { return 10 }
        if nanoseconds <= 5_000_000_000 { return 11 }
        if nanoseconds <= 7_500_000_000 { return 12 }
        return nanoseconds <= 10_000_000_000 ? 13 : 14
    }

    /// Adds another table's counts (a scrape sums the workers').
    mutating func add(_ other: HistogramTable) {
        for (index, key) in other.keys.enumerated() {
            let base = row(for: key) * Self.stride
            let otherBase = index * Self.stride
            for bucket in 0...Self.width { cells[base + bucket] &+= other.cells[otherBase + bucket] }
        }
    }

    /// Each label set with its counts per bucket (not cumulative) and sum in seconds.
    func forEach(_ body: (_ key: UInt64, _ buckets: ArraySlice<UInt64>, _ sum: Double) -> Void) {
        for (index, key) in keys.enumerated() {
            let base = index * Self.stride
            body(key, cells[base..<(base + Self.width)], Double(cells[base + Self.width]) / 1e9)
        }
    }

    private mutating func row(for key: UInt64) -> Int {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
        while true {
            let stored = Int(slots[slot])
            if stored == 0 { break }
            if keys[stored - 1] == key { return stored - 1 }
            slot = (slot + 1) & mask
        }
        // A new label set: its row, and a bigger table when half full.
        keys.append(key)
        cells.append(contentsOf: repeatElement(0, count: Self.stride))
        slots[slot] = Int32(keys.count)
        if keys.count * 2 > slots.count { rehash(to: slots.count * 2) }
        return keys.count - 1
    }

    private mutating func rehash(to capacity: Int) {
        slots = Array(repeating: 0, count: capacity)
        let mask = capacity - 1
        for (index, key) in keys.enumerated() {
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }
}
