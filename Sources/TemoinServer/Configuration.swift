public import TemoinCore
public import TemoinLedger
public import TemoinIngest
public import TemoinFanout

/// How the service runs and what it accepts. Every limit is explicit (Docs/api.md).
public struct ServiceConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Plain HTTP binds to loopback only unless this is set (put TLS in front: Docs/deployment.md).
    public var allowNonLoopback = false
    public var audio = AudioLimits()
    /// Largest request body (chunk) accepted.
    public var maximumBodyBytes = 16 << 20
    /// Requests per device per minute (token bucket, bursts up to this many).
    public var requestsPerMinute = 600
    /// Failed staff authentications per minute, from anyone (one bucket for all: guessing tokens
    /// from many addresses is slowed as much as from one), in bursts of up to half as many; past
    /// it a failure is answered 429. A valid token is never slowed by it.
    public var staffAuthFailuresPerMinute = 60
    /// Requests one staff account may make a minute (each appends a ledger entry).
    public var staffRequestsPerMinute = 600
    /// Bytes of chunks a device may store per rolling hour (a bucket of this many bytes that
    /// refills continuously). 1 GiB: 1.5 times a phone sending 48 kHz stereo 16-bit PCM all hour
    /// (0.69 GB), about 70 times one sending Ogg Opus at 32 kbit/s. The per-alert bound and the
    /// bound on conflicting bodies per sequence number are in `audio` (`AudioLimits`).
    public var deviceBytesPerHour = 1 << 30
    /// An alert still open this long after it opened is closed by the server.
    public var maximumAlertSeconds = 6 * 3600
    /// How often the server looks for alerts to close (and encoders to release).
    public var sweepSeconds = 30
    /// An alert's encoder and buffers are released after this long without a chunk; the next
    /// chunk rebuilds them from the ledger (primed with the audio before it, Docs/audio.md).
    public var encoderIdleSeconds = 120
    /// Read-only database connections of the read side (proofs, receipts, recordings, lookups).
    public var readConnections = 4
    /// Send each chunk's stages (`Server-Timing`) with its receipt. Off by default: the queue and
    /// commit times tell a phone how busy the service is with other alerts (benchmarks turn it on).
    public var serverTiming = false
    /// How long a client may take to send a request (slow or idle connections are closed).
    public var deadlines = RequestDeadlines()
    /// Closed alerts older than this (from their `alert.closed` entry) and not on legal hold are
    /// erased by the sweeper, each with a `data.erased` entry of reason `retention`. Nil (the
    /// default): never; evidence of violence may be needed for years, so erasure by age is a
    /// deployment's explicit decision (`temoin serve --retention-days N`).
    public var retentionSeconds: Int?
    /// Tests only: injected blob write failures.
    public var storageFaults: StorageFaults?
    /// The alert fan-out: texts to trusted contacts and the live-location page (Docs/fanout.md).
    public var fanout = FanoutSettings()
    /// The SMS gateway; nil: the log adapter (texts written to the service's log, numbers masked).
    public var smsGateway: (any SMSGateway)?

    public init() {}

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }

    public func validate() throws(TemoinError) {
        guard allowNonLoopback || ServiceConfiguration.isLoopback(host) else {
            throw TemoinError(
                .serveNotLoopback,
                "plain HTTP binds to loopback only; put a TLS reverse proxy in front (Docs/deployment.md) or pass "
                    + "--allow-non-loopback"
            )
        }
        guard (0...65535).contains(port) else { throw TemoinError(.serveBadPort, "the port must be 0 to 65535") }
        guard maximumBodyBytes > 0, requestsPerMinute > 0, staffAuthFailuresPerMinute > 0, staffRequestsPerMinute > 0,
            maximumAlertSeconds > 0, encoderIdleSeconds > 0, readConnections > 0, (retentionSeconds ?? 1) > 0,
            audio.maximumConflictsPerSequence >= 0
        else {
            throw TemoinError(.serveBadLimit, "limits must be positive")
        }
        try fanout.validate()
        guard deviceBytesPerHour >= maximumBodyBytes, audio.maximumAlertBytes >= UInt64(maximumBodyBytes) else {
            throw TemoinError(
                .serveBadLimit, "the storage quotas must hold at least one chunk of the largest size accepted")
        }
    }
}
