/// A token bucket per device: `perMinute` requests a minute, bursts up to `perMinute`.
/// Only verified devices are counted (`DeviceService.verify`), and the table is bounded: past
/// `capacity` devices, buckets that are full again (the same as no bucket) are dropped.
actor RateLimiter {
    private let perMinute: Double
    private let capacity: Int
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(perMinute: Int, capacity: Int = 10_000) {
        self.perMinute = Double(perMinute)
        self.capacity = capacity
    }

    var count: Int { buckets.count }

    /// True if the device may make one more request now.
    func allow(_ device: String) -> Bool {
        let now = ContinuousClock.now
        var b = buckets[device] ?? (perMinute, now)
        b.tokens = tokens(b, at: now)
        b.at = now
        guard b.tokens >= 1 else {
            buckets[device] = b
            return false
        }
        b.tokens -= 1
        buckets[device] = b
        if buckets.count > capacity { prune(now) }
        return true
    }

    /// Drops the buckets that have refilled; if every device is busy, the oldest half.
    private func prune(_ now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, b in tokens(b, at: now) < perMinute }
        if buckets.count > capacity {
            let keep = buckets.sorted { $0.value.at > $1.value.at }.prefix(capacity / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }

    /// A bucket's tokens at `now`, refilled since it was last used, at most `perMinute`.
    private func tokens(_ b: (tokens: Double, at: ContinuousClock.Instant), at now: ContinuousClock.Instant) -> Double {
        let elapsed = now - b.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(perMinute, b.tokens + seconds * perMinute / 60)
    }
}
