import Synchronization

/// Where one chunk's time went on its way to a receipt, stage by stage (the service sends it back
/// as a `Server-Timing` header, and the service benchmark reads it to tell the cost of the path
/// from the time spent waiting for a CPU). Filled by the ingestor while the request runs.
public final class ChunkTiming: Sendable {
    /// The stages, in the order a chunk goes through them.
    public enum Stage: String, Sendable, CaseIterable {
        /// The body hashed and the device's signature over its statement checked.
        case verify
        /// Waiting for the alert's lock (an earlier chunk of the same alert, or a reordering wait).
        case order
        /// Queued for a codec thread (other alerts' chunks being encoded).
        case queue
        /// Samples made, resampled and encoded (on a codec thread).
        case encode
        /// Original and Opus stream sealed and written with fsync.
        case store
        /// The entry committed under a signed checkpoint (group commit).
        case commit
    }

    private let stages = Mutex<[Stage: Duration]>([:])

    public init() {}

    /// Adds `duration` to `stage`.
    public func add(_ stage: Stage, _ duration: Duration) {
        stages.withLock { $0[stage, default: .zero] += duration }
    }

    /// Runs `body` and adds the time it took to `stage`.
    public func measure<T>(
        _ stage: Stage, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        let start = ContinuousClock.now
        defer { add(stage, ContinuousClock.now - start) }
        return try await body()
    }

    /// The time recorded for `stage` (zero when the chunk did not go through it).
    public subscript(_ stage: Stage) -> Duration {
        stages.withLock { $0[stage] ?? .zero }
    }

    /// The stages recorded, in order, as an HTTP `Server-Timing` value (W3C Server Timing):
    /// `verify;dur=0.3, order;dur=0.01, queue;dur=3.2, encode;dur=74.9, store;dur=1.1, commit;dur=4.0` (milliseconds).
    public var serverTimingHeader: String {
        let recorded = stages.withLock { $0 }
        return Stage.allCases.compactMap { stage in
            recorded[stage].map { "\(stage.rawValue);dur=\(Self.milliseconds($0))" }
        }.joined(separator: ", ")
    }

    private static func milliseconds(_ d: Duration) -> String {
        let micro = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
        return "\(micro / 1000).\(String(micro % 1000 + 1000).dropFirst())"
    }
}
