/// A token bucket per device: `perMinute` requests a minute, bursts up to `perMinute`.
actor RateLimiter {
    private let perMinute: Double
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(perMinute: Int) {
        self.perMinute = Double(perMinute)
    }

    /// True if the device may make one more request now.
    func allow(_ device: String) -> Bool {
        let now = ContinuousClock.now
        var b = buckets[device] ?? (perMinute, now)
        let elapsed = now - b.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        b.tokens = min(perMinute, b.tokens + seconds * perMinute / 60)
        b.at = now
        guard b.tokens >= 1 else {
            buckets[device] = b
            return false
        }
        b.tokens -= 1
        buckets[device] = b
        if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < perMinute } }
        return true
    }
}
