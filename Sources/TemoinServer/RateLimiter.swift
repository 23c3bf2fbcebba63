import TemoinCore

/// Token buckets keyed by device: each holds up to `capacity` tokens and refills at `perSecond`.
/// The table is bounded: past `maximumKeys` devices, buckets that are full again (the same as no
/// bucket) are dropped; if every device is busy, the least recently used half.
struct TokenBuckets<Key: Hashable> {
    let capacity: Double
    let perSecond: Double
    let maximumKeys: Int
    private var buckets: [Key: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(capacity: Double, perSecond: Double, maximumKeys: Int) {
        self.capacity = capacity
        self.perSecond = perSecond
        self.maximumKeys = maximumKeys
    }

    var count: Int { buckets.count }

    /// Takes `amount` tokens: nil if they were there, else the seconds until they will be (and
    /// nothing is taken).
    mutating func take(_ key: Key, _ amount: Double) -> Double? {
        let now = ContinuousClock.now
        var b = buckets[key] ?? (capacity, now)
        b.tokens = tokens(b, at: now)
        b.at = now
        buckets[key] = b
        guard b.tokens >= amount else { return (amount - b.tokens) / perSecond }
        buckets[key]!.tokens -= amount
        if buckets.count > maximumKeys { prune(now) }
        return nil
    }

    /// Gives back tokens taken for work that stored nothing.
    mutating func give(_ key: Key, _ amount: Double) {
        guard var b = buckets[key] else { return }
        b.tokens = min(capacity, b.tokens + amount)
        buckets[key] = b
    }

    private mutating func prune(_ now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, b in tokens(b, at: now) < capacity }
        if buckets.count > maximumKeys {
            let keep = buckets.sorted { $0.value.at > $1.value.at }.prefix(maximumKeys / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }

    /// A bucket's tokens at `now`, refilled since it was last used, at most `capacity`.
    private func tokens(_ b: (tokens: Double, at: ContinuousClock.Instant), at now: ContinuousClock.Instant) -> Double {
        let elapsed = now - b.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(capacity, b.tokens + seconds * perSecond)
    }
}

/// A token bucket per device: `perMinute` requests a minute, bursts up to `perMinute`.
/// Only verified devices are counted (`DeviceService.verify`); the table is bounded.
actor RateLimiter {
    private var buckets: TokenBuckets<DeviceID>

    init(perMinute: Int, capacity: Int = 10_000) {
        buckets = TokenBuckets(capacity: Double(perMinute), perSecond: Double(perMinute) / 60, maximumKeys: capacity)
    }

    var count: Int { buckets.count }

    /// True if the device may make one more request now.
    func allow(_ device: DeviceID) -> Bool {
        buckets.take(device, 1) == nil
    }
}

/// The bytes a device may have stored, per rolling hour: a bucket of `bytesPerHour` bytes that
/// refills continuously (a burst of an hour's worth, then the hourly rate). Counted only for
/// verified devices, before anything is stored; bytes of a request that stored nothing (a
/// duplicate, a refusal, a failure) are given back.
actor ByteQuota {
    private var buckets: TokenBuckets<DeviceID>

    init(bytesPerHour: Int, capacity: Int = 10_000) {
        buckets = TokenBuckets(
            capacity: Double(bytesPerHour), perSecond: Double(bytesPerHour) / 3600, maximumKeys: capacity)
    }

    /// nil if the device may store `bytes` now, else how many seconds until it may.
    func reserve(_ device: DeviceID, bytes: Int) -> Int? {
        buckets.take(device, Double(bytes)).map { Int($0.rounded(.up)) }
    }

    func refund(_ device: DeviceID, bytes: Int) {
        buckets.give(device, Double(bytes))
    }
}
