public import TemoinCore
import TemoinCrypto
public import TemoinLedger
import TemoinAudio
import Foundation
import TemoinRecording

/// How a chunk's original bytes are encoded.
public enum OriginalFormat: Sendable, Hashable {
    /// A WAV file.
    case wav
    /// Raw 16-bit PCM (`audio/L16`): big-endian per RFC 2586 unless `bigEndian` is false.
    case l16(sampleRate: Int, channels: Int, bigEndian: Bool)
    /// Ogg Opus encoded on the phone: decoded and re-encoded into the alert's stream (the
    /// original stays the evidence).
    case oggOpus

    /// The `original-format` token of the entry.
    public var token: String {
        switch self {
        case .wav: return "wav"
        case .l16(_, _, let big): return big ? "l16" : "s16le"
        case .oggOpus: return "ogg-opus"
        }
    }

    /// Mono samples, their rate and duration. The duration is known from the headers (or the
    /// Opus TOC bytes) and checked against `maximumMicroseconds` before any sample is decoded, so
    /// memory stays a small multiple of the chunk's size.
    public func decode(
        _ bytes: [UInt8], maximumMicroseconds: UInt64 = .max
    )
        throws(TemoinError) -> (samples: [Float], rate: Int, durationMicroseconds: UInt64)
    {
        let audio = try open(bytes, maximumMicroseconds: maximumMicroseconds)
        return (audio.samples(), audio.rate, audio.durationMicroseconds)
    }

    /// The chunk checked (format, rate, duration) without turning it into samples yet: WAV and raw
    /// PCM keep a view of the bytes, and samples are made only when the chunk is encoded, on the
    /// codec threads (`ChunkAudio.samples()`); so chunks queued for the CPU hold their bytes only.
    /// Ogg Opus is decoded at once: its packets decide whether the phone's stream is kept.
    public func open(_ bytes: [UInt8], maximumMicroseconds: UInt64 = .max) throws(TemoinError) -> ChunkAudio {
        func checked(_ a: PCMAudio) throws(TemoinError) -> PCMAudio {
            guard a.durationMicroseconds <= maximumMicroseconds else {
                throw OriginalFormat.tooLong(a.durationMicroseconds, maximumMicroseconds)
            }
            return a
        }
        switch self {
        case .wav:
            return ChunkAudio(pcm: try checked(WAV.parse(bytes)))
        case .l16(let rate, let channels, let big):
            return ChunkAudio(
                pcm: try checked(PCMAudio.raw(bytes, sampleRate: rate, channels: channels, bigEndian: big)))
        case .oggOpus:
            let d = try OggOpusReader.decode(bytes, maximumMicroseconds: maximumMicroseconds)
            return ChunkAudio(ogg: d)
        }
    }

    static func tooLong(_ duration: UInt64, _ maximum: UInt64) -> TemoinError {
        .malformed(.audioTooLong, "the chunk lasts \(duration / 1000) ms, more than \(maximum / 1000) ms")
    }
}

/// A chunk's audio, checked but not necessarily decoded (`OriginalFormat.open`).
public struct ChunkAudio: Sendable {
    private enum Source: Sendable {
        case pcm(PCMAudio)
        case ogg(OggOpusReader.Decoded)
    }
    private let source: Source
    public let rate: Int
    public let durationMicroseconds: UInt64

    init(pcm: PCMAudio) {
        source = .pcm(pcm)
        rate = pcm.format.sampleRate
        durationMicroseconds = pcm.durationMicroseconds
    }

    init(ogg: OggOpusReader.Decoded) {
        source = .ogg(ogg)
        rate = 48000
        durationMicroseconds = ogg.durationMicroseconds
    }

    /// The phone's Opus stream, when the chunk is Ogg Opus.
    var ogg: OggOpusReader.Decoded? {
        if case .ogg(let d) = source { return d }
        return nil
    }

    /// Mono samples at `rate` (made now for PCM: call it where the CPU work belongs).
    public func samples() -> [Float] {
        switch source {
        case .pcm(let a): return a.monoSamples()
        case .ogg(let d): return d.samples
        }
    }
}

/// One audio chunk as the device sent it.
public struct ChunkUpload: Sendable {
    public let alert: AlertID
    public let seq: UInt64
    public let captureStart: Timestamp
    public let original: [UInt8]
    public let format: OriginalFormat
    /// The device's Ed25519 signature over the chunk's `DeviceStatement`, if it sent one.
    public let statementSignature: [UInt8]?
    /// The last chunk of the alert: the encoder is flushed (its 6.5 ms look-ahead), so the
    /// recording plays to the last sample.
    public let isFinal: Bool

    public init(
        alert: AlertID, seq: UInt64, captureStart: Timestamp, original: [UInt8], format: OriginalFormat,
        statementSignature: [UInt8]?, isFinal: Bool = false
    ) {
        self.isFinal = isFinal
        self.alert = alert
        self.seq = seq
        self.captureStart = captureStart
        self.original = original
        self.format = format
        self.statementSignature = statementSignature
    }
}

/// Limits on what one chunk may hold.
public struct AudioLimits: Sendable {
    public var maximumChunkBytes = 16 << 20
    public var maximumChunkMicroseconds: UInt64 = 60_000_000
    /// nil: the default for the encoder rate (`OpusSettings.defaultBitrate(forRate:)`).
    public var bitrate: Int?
    public var complexity = 10
    /// How long an early chunk waits for the ones before it before they are recorded missing.
    public var reorderWait: Duration = .seconds(30)
    /// Bytes stored for one alert at most (originals, conflicting bodies and Opus streams). 8 GiB:
    /// twice a phone sending 48 kHz stereo 16-bit PCM for the 6 h an alert may last (4.1 GB).
    public var maximumAlertBytes: UInt64 = 8 << 30
    /// Distinct conflicting bodies kept for one sequence number at most (each one is evidence of
    /// something, but not without bound).
    public var maximumConflictsPerSequence = 8

    public init() {}
}

/// What happened to an uploaded chunk.
public enum IngestOutcome: Sendable {
    /// Newly committed.
    case appended(Appended)
    /// The same bytes were already committed for this sequence number: nothing new.
    case duplicate(StoredEntry)
    /// Different bytes for a committed sequence number: kept in quarantine (blob) and recorded as a
    /// `chunk.conflict` entry (once per distinct content); the first chunk stays in the recording.
    /// `isNew`: false when these bytes were already recorded (nothing was stored this time).
    case conflict(kept: StoredEntry, recorded: StoredEntry, isNew: Bool)
}

/// Turns chunks into `audio.chunk` entries: validates the audio, keeps the original (write-once
/// blob), encodes it with the alert's one Opus encoder strictly in sequence order, keeps the
/// packets (blob), and appends the entry together with the encoder's new state, so a restart or
/// a failed commit resumes the stream exactly.
///
/// Each alert has its own `AlertEncoder` actor: different alerts encode in parallel, one alert's
/// chunks one after the other. A chunk that arrives early waits (up to `limits.reorderWait`) for
/// the ones before it; then the missing ones are recorded as `chunk.missing` and it goes on. A
/// chunk that arrives after it was recorded missing is still accepted (evidence is never turned
/// away), encoded on its own.
public actor AudioIngestor {
    public nonisolated let writer: LedgerWriter
    public nonisolated let reader: LedgerReader
    public let limits: AudioLimits
    private let blobs: BlobStore
    /// Blob writes (fsync) run here, never on the cooperative pool.
    private let io = BlockingIO(threads: 2, name: "temoin-blobs")
    /// Audio work (samples, resampling, encoding, priming) runs here, one thread per CPU the process
    /// may use, in the order chunks ask: the cooperative pool stays free to read requests and
    /// answer, and only as many chunks hold decoded samples as there are threads.
    private let codec: BlockingIO
    /// The alerts with an encoder in memory, with how many calls are using each right now.
    private var alerts: [AlertID: (encoder: AlertEncoder, users: Int, lastUse: ContinuousClock.Instant)] = [:]

    /// `reader`: the read side to look entries up with (one is opened if none is given).
    /// `faults`: tests only, injected blob write failures. `codecThreads`: how many chunks are
    /// encoded at once (default: one per CPU the process may run on).
    public init(
        writer: LedgerWriter, reader: LedgerReader? = nil, limits: AudioLimits = AudioLimits(),
        faults: StorageFaults? = nil, codecThreads: Int = UsableCPUs.count
    ) throws(TemoinError) {
        codec = BlockingIO(threads: codecThreads, name: "temoin-codec")
        self.writer = writer
        if let reader {
            self.reader = reader
        } else {
            self.reader = try LedgerReader(directory: writer.directory)
        }
        self.limits = limits
        blobs = BlobStore(root: writer.directory.blobs.root, faults: faults)
    }

    /// The alert's encoder, counted as used until `checkIn`: an encoder in use is never released,
    /// so one alert never has two.
    private func checkOut(_ alert: AlertID) -> AlertEncoder {
        let encoder =
            alerts[alert]?.encoder
            ?? AlertEncoder(
                alert: alert, writer: writer, reader: reader, limits: limits, blobs: blobs, io: io, codec: codec)
        alerts[alert] = (encoder, (alerts[alert]?.users ?? 0) + 1, .now)
        return encoder
    }

    private func checkIn(_ alert: AlertID, _ encoder: AlertEncoder) {
        // Only the encoder that was checked out (after `forgetEncoders` a new one may be there).
        guard let entry = alerts[alert], entry.encoder === encoder else { return }
        alerts[alert] = (entry.encoder, entry.users - 1, .now)
    }

    private func using<T>(_ alert: AlertID, _ body: (AlertEncoder) async throws -> T) async throws -> T {
        let encoder = checkOut(alert)
        defer { checkIn(alert, encoder) }
        return try await body(encoder)
    }

    /// How many times the alert's early chunks went back to waiting (tests).
    func parkings(alert: AlertID) async -> Int {
        await alerts[alert]?.encoder.parkings ?? 0
    }

    /// How many alerts have an encoder in memory (metrics, tests).
    public var encodersInMemory: Int { alerts.count }

    /// Releases the encoder and buffers of an alert nobody is using (closed, or idle): the next
    /// chunk rebuilds them from the ledger, as after a restart.
    public func release(alert: AlertID) {
        if let entry = alerts[alert], entry.users == 0 { alerts[alert] = nil }
    }

    /// Releases every encoder unused for `idle` or longer; returns how many were released.
    @discardableResult
    public func releaseIdle(olderThan idle: Duration) -> Int {
        let limit = ContinuousClock.now - idle
        let stale = alerts.filter { $0.value.users == 0 && $0.value.lastUse <= limit }.map(\.key)
        for alert in stale { alerts[alert] = nil }
        return stale.count
    }

    /// The sequence number the alert's encoder expects next.
    public func nextSequence(alert: AlertID) async throws -> UInt64 {
        try await using(alert) { try await $0.nextSequence() }
    }

    /// Ingests a chunk in order (tests and `temoin ingest`): anything but a new entry is an error.
    public func ingest(_ chunk: ChunkUpload) async throws -> Appended {
        switch try await submit(chunk) {
        case .appended(let a): return a
        case .duplicate, .conflict:
            throw TemoinError(.audioAlreadyStored, "chunk \(chunk.seq) of alert \(chunk.alert) is already stored")
        }
    }

    /// Ingests a chunk that may be early, late, repeated or conflicting. `timing`, if given, is
    /// filled with the time each stage took.
    public func submit(_ chunk: ChunkUpload, timing: ChunkTiming? = nil) async throws -> IngestOutcome {
        try await using(chunk.alert) { try await $0.submit(chunk, timing: timing ?? ChunkTiming()) }
    }

    /// Closes an alert in one group, under the alert's lock: the chunks up to `lastSeq` that never
    /// came (`chunk.missing`, reason `closed`) and the `alert.closed` entry `close` makes from the
    /// sequence number the alert expects next. Both are committed together or not at all, and
    /// nothing is appended if the alert already has a close: the stored close is returned (with
    /// `.oncePerAlert` on the draft, which this function sets). `lastSeq` nil: record nothing
    /// missing (the server's timeout close).
    public func close(
        alert: AlertID, recordingMissingThrough lastSeq: UInt64?,
        _ close: @Sendable @escaping (_ next: UInt64) -> EntryDraft
    ) async throws -> Appended {
        try await using(alert) { try await $0.close(recordingMissingThrough: lastSeq, close) }
    }

    /// Forgets an alert's encoder and its key at once, in use or not (its data was erased: a chunk
    /// in flight fails at its append, `alert.erased`).
    public func forget(alert: AlertID) {
        alerts[alert] = nil
    }

    /// Forgets in-memory encoders, as a restart would (tests).
    public func forgetEncoders() {
        alerts = [:]
    }
}

/// One alert's encoder and the sequence number it expects next.
actor AlertEncoder {
    let alert: AlertID
    let writer: LedgerWriter
    let reader: LedgerReader
    let limits: AudioLimits
    private let blobs: BlobStore
    private let io: BlockingIO
    private let codec: BlockingIO
    private var encoder: OpusEncoderState?
    /// The sequence number expected next; early chunks waiting for it are woken when it moves.
    private var next: UInt64 = 0 {
        didSet { if next != oldValue { wakeParked() } }
    }
    /// Early chunks parked until the state they wait on changes or their time is up.
    private var parked: [CheckedContinuation<Void, Never>] = []

    /// How many times an early chunk of this alert went back to waiting (tests: bounded, not spinning).
    private(set) var parkings = 0

    private func wakeParked() {
        let woken = parked
        parked = []
        for c in woken { c.resume() }
    }
    private var loaded = false
    /// Sequence numbers of early chunks waiting for their predecessors (with how many requests).
    private var earlyWaiters: [UInt64: Int] = [:]
    /// Bytes stored for the alert (`AudioLimits.maximumAlertBytes`), and conflicting bodies per
    /// sequence number: read from the ledger by `load()`, kept up to date under the lock.
    private var storedBytes: UInt64 = 0
    private var conflicts: [UInt64: Int] = [:]

    /// Refuses a chunk that would take the alert past its storage bound; nothing is stored.
    private func checkAlertQuota(adding bytes: Int) throws {
        guard storedBytes + UInt64(bytes) <= limits.maximumAlertBytes else {
            throw TemoinError(
                .quotaAlertBytes,
                "alert \(alert) already holds \(storedBytes) bytes, the most this service stores for one alert is "
                    + "\(limits.maximumAlertBytes); nothing was stored"
            )
        }
    }

    private func lowerEarlyChunkWaits(below seq: UInt64) -> Bool {
        earlyWaiters.keys.contains { $0 >= next && $0 < seq }
    }

    /// The phone's own Opus stream, while its chunks continue it (kept packet for packet).
    private var phone: (stream: PhoneStream, vendor: String, nextPage: Int, lastSeq: UInt64)?

    init(
        alert: AlertID, writer: LedgerWriter, reader: LedgerReader, limits: AudioLimits, blobs: BlobStore,
        io: BlockingIO, codec: BlockingIO
    ) {
        self.alert = alert
        self.writer = writer
        self.reader = reader
        self.limits = limits
        self.blobs = blobs
        self.io = io
        self.codec = codec
    }

    /// The alert's key (made with its `alert.opened` entry), fetched once from the writer.
    private var key: SymmetricKey?

    private func alertKey() async throws -> SymmetricKey {
        if let key { return key }
        let fetched = try await writer.alertKey(for: alert)
        key = fetched
        return fetched
    }

    /// Seals and stores blobs durably (fsync) on the blocking-I/O threads; returns their hashes in
    /// order.
    private func put(_ blobs: [[UInt8]]) async throws -> [Hash] {
        let store = self.blobs, alert = self.alert
        let key = try await alertKey()
        return try await io.run {
            try store.put(alert: alert, blobs: blobs, key: key)
        }
    }

    /// One chunk at a time per alert, across the suspension points of encoding and committing.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        }
        busy = true
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Read under the alert's lock, like every use of `next`: `load()` suspends, and two loads
    /// interleaved with an upload could move `next` back and record a false `chunk.missing`.
    func nextSequence() async throws -> UInt64 {
        await acquire()
        defer { release() }
        try await load()
        return next
    }

    func submit(_ chunk: ChunkUpload, timing: ChunkTiming) async throws -> IngestOutcome {
        guard chunk.original.count <= limits.maximumChunkBytes else {
            throw TemoinError(.audioTooLarge, "the chunk is larger than \(limits.maximumChunkBytes) bytes")
        }
        // Checked now (headers, rate, duration); samples are made when the chunk is encoded. Ogg
        // Opus is read once: its packets may be kept as sent, its samples re-encoded otherwise.
        let audio = try chunk.format.open(chunk.original, maximumMicroseconds: limits.maximumChunkMicroseconds)
        let ogg = audio.ogg
        guard audio.durationMicroseconds > 0 else { throw TemoinError(.audioEmpty, "the chunk holds no audio") }
        guard try reader.opening(alert: chunk.alert) != nil else {
            throw TemoinError(.ledgerAlertNotOpen, "alert \(chunk.alert) has no alert.opened entry")
        }
        let deadline = ContinuousClock.now + limits.reorderWait
        let arrived = ContinuousClock.now
        await acquire()
        defer { release() }
        try await load()
        if let stored = try reader.chunkEntry(alert: chunk.alert, seq: chunk.seq) {
            return try await repeated(chunk, stored: stored)
        }
        // Early: wait for the chunks before it, then record the ones still missing. A chunk never
        // records as missing one that is itself waiting: while a lower early chunk waits, this one
        // waits too (that one records the gap before it when its own time is up).
        earlyWaiters[chunk.seq, default: 0] += 1
        defer {
            earlyWaiters[chunk.seq]! -= 1
            if earlyWaiters[chunk.seq] == 0 {
                earlyWaiters[chunk.seq] = nil
                wakeParked()
            }
        }
        var waited = false
        while chunk.seq > next, ContinuousClock.now < deadline || lowerEarlyChunkWaits(below: chunk.seq) {
            waited = true
            // Parked, not polling: woken when `next` moves, when another early chunk stops
            // waiting, or when this one's time is up.
            release()
            let timer =
                ContinuousClock.now < deadline
                ? Task { [weak self] in
                    // Only a timer that ran its course wakes the waiters: a cancelled one (the chunk
                    // was woken by something else and parked again) must not, or a chunk still early
                    // would wake itself in a loop until its deadline (found by review: H1).
                    do { try await Task.sleep(until: deadline) } catch { return }
                    await self?.wakeParked()
                }
                : nil
            parkings += 1
            await withCheckedContinuation { parked.append($0) }
            timer?.cancel()
            await acquire()
        }
        timing.add(.order, ContinuousClock.now - arrived)
        // A copy of this chunk may have been stored while it waited (an in-order chunk, the common
        // case, was checked just above and has not let go of the lock since).
        if waited, let stored = try reader.chunkEntry(alert: chunk.alert, seq: chunk.seq) {
            return try await repeated(chunk, stored: stored)
        }
        // The gap before an early chunk is recorded in the chunk's own commit: one request, one
        // group (a failure or a crash leaves neither the gap nor the chunk).
        let gap = chunk.seq > next ? missingDraft(first: next, last: chunk.seq - 1, reason: "silence") : nil
        if chunk.seq < next {
            // Late: after it was recorded missing. Encoded on its own, the stream's state untouched.
            let settings =
                try encoder?.settings
                ?? OpusSettings(inputRate: audio.rate, bitrate: limits.bitrate, complexity: limits.complexity)
            return .appended(
                try await encodeAndAppend(
                    chunk, audio: audio, encoder: OpusEncoderState(settings: settings), gap: nil, timing: timing))
        }
        if let ogg, let kept = try await keepPhoneStream(chunk, ogg: ogg, gap: gap) {
            next = chunk.seq + 1
            return .appended(kept)
        }
        let encoder =
            try self.encoder
            ?? OpusEncoderState(
                settings: OpusSettings(
                    inputRate: audio.rate, bitrate: limits.bitrate, complexity: limits.complexity))
        let before = Before()
        do {
            let appended = try await encodeAndAppend(
                chunk, audio: audio, encoder: encoder, gap: gap, timing: timing, before: before)
            self.encoder = encoder
            next = chunk.seq + 1
            return .appended(appended)
        } catch {
            // Nothing was committed: put the encoder back as it was before this chunk (as it is,
            // if the chunk failed before it was encoded).
            if self.encoder != nil, let snapshot = before.snapshot {
                self.encoder = try OpusEncoderState(settings: encoder.settings, snapshot: snapshot)
            }
            throw error
        }
    }

    /// DESIGN §3: Ogg Opus chunks that continue one logical stream (OpusHead in chunk 0 only, the
    /// same serial, the next page number, whole packets, no gap) are kept as the phone encoded them;
    /// anything else is decoded and re-encoded. Returns nil when the chunk must be re-encoded.
    private func keepPhoneStream(
        _ chunk: ChunkUpload, ogg: OggOpusReader.Decoded, gap: EntryDraft?
    ) async throws -> Appended? {
        guard ogg.wholePackets, !ogg.packets.isEmpty else { return nil }
        let stream: PhoneStream, vendor: String
        if let head = ogg.head {
            guard chunk.seq == 0, phone == nil, encoder == nil else { return nil }
            stream = PhoneStream(
                serial: ogg.serial, preSkip: head.preSkip, inputRate: head.inputRate, channels: head.channels)
            let printable = String(
                (ogg.vendor ?? "").unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.map(Character.init)
            )
            .trimmingCharacters(in: .whitespaces)
            vendor = printable.isEmpty ? "phone" : String(printable.prefix(200))
        } else {
            guard gap == nil, let p = phone, p.stream.serial == ogg.serial, p.nextPage == ogg.firstPageSequence,
                p.lastSeq + 1 == chunk.seq
            else { return nil }
            stream = p.stream
            vendor = p.vendor
        }
        let packets = OpusPacketStream.encode(ogg.packets)
        try checkAlertQuota(adding: chunk.original.count + packets.count)
        let hashes = try await put([chunk.original, packets])
        let originalHash = hashes[0], opusHash = hashes[1]
        let appended = try await append(
            gap: gap,
            EntryDraft(
                kind: .audioChunk, alert: chunk.alert,
                [
                    ("seq", String(chunk.seq)),
                    ("capture-start", chunk.captureStart.description),
                    ("duration-us", String(ogg.durationMicroseconds)), ("original-format", chunk.format.token),
                    ("original-sha256", originalHash.hex), ("original-size", String(chunk.original.count)),
                    ("opus-sha256", opusHash.hex), ("opus-packets", String(ogg.packets.count)),
                    ("opus-bytes", String(ogg.packets.reduce(0) { $0 + $1.count })),
                    ("codec", stream.codecDescription), ("codec-library", vendor),
                    ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
                ]))
        phone = (stream, vendor, ogg.lastPageSequence + 1, chunk.seq)
        storedBytes += UInt64(chunk.original.count + packets.count)
        return appended
    }

    /// The same sequence number again: identical bytes are a harmless retry; different bytes are
    /// kept in quarantine and recorded.
    private func repeated(_ chunk: ChunkUpload, stored: StoredEntry) async throws -> IngestOutcome {
        let hash = SHA256.hash(chunk.original)
        if try stored.parsed().hash("original-sha256") == hash { return .duplicate(stored) }
        if let recorded = try conflictEntry(seq: chunk.seq, originalSHA256: hash) {
            return .conflict(kept: stored, recorded: recorded, isNew: false)
        }
        // A new conflicting body: bounded per sequence number, and counted in the alert's bytes.
        guard conflicts[chunk.seq, default: 0] < limits.maximumConflictsPerSequence else {
            throw TemoinError(
                .chunkTooManyConflicts,
                "sequence number \(chunk.seq) of alert \(alert) already has "
                    + "\(limits.maximumConflictsPerSequence) conflicting bodies; nothing was stored"
            )
        }
        try checkAlertQuota(adding: chunk.original.count)
        var draft = EntryDraft(
            kind: .chunkConflict, alert: chunk.alert,
            [
                ("seq", String(chunk.seq)), ("original-sha256", hash.hex),
                ("original-size", String(chunk.original.count)), ("kept-entry", String(stored.index)),
                ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
            ])
        // The same bytes for this sequence number again: the conflict already recorded (found by
        // its key, one indexed read); the blob is write-once, so putting it again only checks it.
        draft.idempotency = .sameStatement
        _ = try await put([chunk.original])
        let recorded = try await writer.append(draft)
        if recorded.isNew {
            conflicts[chunk.seq, default: 0] += 1
            storedBytes += UInt64(chunk.original.count)
        }
        return .conflict(
            kept: stored,
            recorded: StoredEntry(index: recorded.index, leafHash: recorded.leafHash, bytes: recorded.entry.bytes),
            isNew: recorded.isNew)
    }

    /// The `chunk.conflict` entry that recorded these bytes for `seq`, if one was committed (by its
    /// statement key: one indexed read on the read side).
    private func conflictEntry(seq: UInt64, originalSHA256: Hash) throws(TemoinError) -> StoredEntry? {
        try reader.conflictEntry(alert: alert, seq: seq, originalSHA256: originalSHA256, origin: writer.origin)
    }

    private func missingDraft(first: UInt64, last: UInt64, reason: String) -> EntryDraft {
        EntryDraft(
            kind: .chunkMissing, alert: alert,
            [
                ("first-seq", String(first)), ("last-seq", String(last)), ("reason", reason),
            ])
    }

    /// A chunk's entry, with the gap before it if there is one: one group, all or nothing.
    private func append(gap: EntryDraft?, _ draft: EntryDraft) async throws -> Appended {
        guard let gap else { return try await writer.append(draft) }
        return try await writer.append(group: [gap, draft])[1]
    }

    func close(
        recordingMissingThrough lastSeq: UInt64?, _ makeClose: @Sendable (UInt64) -> EntryDraft
    ) async throws -> Appended {
        await acquire()
        defer { release() }
        try await load()
        var close = makeClose(next)
        close.idempotency = .oncePerAlert
        guard let lastSeq, next <= lastSeq else { return try await writer.append(close) }
        var missing = missingDraft(first: next, last: lastSeq, reason: "closed")
        // Built and committed under the alert's lock with the close; if a close is already
        // stored (a retry, a concurrent close, the sweeper), neither draft is appended.
        missing.idempotency = .notAfter(.alertClosed)
        let appended = try await writer.append(group: [missing, close])
        if appended[0].isNew { next = lastSeq + 1 }
        return appended[1]
    }

    /// The encoder's state before a chunk, taken on the codec thread just before the chunk is
    /// encoded, to put back if the chunk is not committed.
    private final class Before: @unchecked Sendable {
        var snapshot: EncoderSnapshot?
    }

    /// An alert's encoder lent to a codec thread for one chunk: only the chunk holding the alert's
    /// lock uses it, and it waits for the codec thread to give it back.
    private struct Lent: @unchecked Sendable {
        let encoder: OpusEncoderState
    }

    /// Samples made, resampled, padded (final chunk) and encoded on a codec thread; returns the
    /// packets and their stream.
    private func encode(
        _ audio: ChunkAudio, isFinal: Bool, encoder: OpusEncoderState, timing: ChunkTiming, before: Before?
    ) async throws -> (packets: [[UInt8]], stream: [UInt8]) {
        let lent = Lent(encoder: encoder)
        let queued = ContinuousClock.now
        return try await codec.run {
            let start = ContinuousClock.now
            timing.add(.queue, start - queued)
            defer { timing.add(.encode, ContinuousClock.now - start) }
            let settings = lent.encoder.settings
            var samples = try Resampler.resample(audio.samples(), from: audio.rate, to: settings.sampleRate)
            if isFinal {
                samples += repeatElement(0, count: OpusSettings.preSkip * settings.sampleRate / 48000)
            }
            before?.snapshot = lent.encoder.snapshot
            let packets = try lent.encoder.encode(samples)
            return (packets, OpusPacketStream.encode(packets))
        }
    }

    private func encodeAndAppend(
        _ chunk: ChunkUpload, audio: ChunkAudio, encoder: OpusEncoderState, gap: EntryDraft?, timing: ChunkTiming,
        before: Before? = nil
    ) async throws -> Appended {
        let settings = encoder.settings
        // The original is made durable while the chunk is encoded, so only the Opus stream is left
        // to store once encoding ends; unless the alert is near its bound (`maximumAlertBytes`),
        // where nothing is stored before the exact check. "Near": less room than the original and
        // the most its stream can take (every 20 ms frame at Opus's largest packet, 1275 bytes,
        // plus its 4-byte length). A chunk that fails after that leaves its original stored
        // without an entry, as a crash before the commit would.
        let frames = Int(audio.durationMicroseconds / 20_000) + 2
        let roomy = storedBytes + UInt64(chunk.original.count + frames * (1275 + 4)) <= limits.maximumAlertBytes
        let store = blobs, alert = alert, io = io, original = chunk.original
        let key = try await alertKey()
        let storingOriginal =
            roomy ? Task { try await io.run { try store.put(alert: alert, bytes: original, key: key) } } : nil
        let packets: [[UInt8]], stream: [UInt8], originalHash: Hash, opusHash: Hash
        do {
            (packets, stream) = try await encode(
                audio, isFinal: chunk.isFinal, encoder: encoder, timing: timing, before: before)
            try checkAlertQuota(adding: chunk.original.count + stream.count)
            let stored = ContinuousClock.now
            if let storingOriginal {
                opusHash = try await put([stream])[0]
                originalHash = try await storingOriginal.value
            } else {
                let hashes = try await put([chunk.original, stream])
                (originalHash, opusHash) = (hashes[0], hashes[1])
            }
            timing.add(.store, ContinuousClock.now - stored)
        } catch {
            // The original's write is over before the alert's lock is let go (an erasure waits for
            // the lock: it must not find the alert's folder written again after it).
            _ = try? await storingOriginal?.value
            throw error
        }
        let draft = EntryDraft(
            kind: .audioChunk, alert: chunk.alert,
            [
                ("seq", String(chunk.seq)), ("capture-start", chunk.captureStart.description),
                ("duration-us", String(audio.durationMicroseconds)), ("original-format", chunk.format.token),
                ("original-sha256", originalHash.hex), ("original-size", String(chunk.original.count)),
                ("opus-sha256", opusHash.hex), ("opus-packets", String(packets.count)),
                ("opus-bytes", String(packets.reduce(0) { $0 + $1.count })),
                ("codec", settings.codecDescription), ("codec-library", OpusSettings.libraryVersion),
                ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
            ])
        let appended = try await timing.measure(.commit) { try await append(gap: gap, draft) }
        storedBytes += UInt64(chunk.original.count + stream.count)
        return appended
    }

    /// Rebuilds the alert's state from the ledger, once: the next sequence number (chunks and
    /// chunks recorded missing), and the stream to continue. A phone's stream kept as sent goes on
    /// if the last chunk was part of it; otherwise a fresh encoder is primed with the end of the
    /// last chunk's audio, read from its original and checked against its entry's hash.
    private func load() async throws {
        guard !loaded else { return }
        // Before anything is read: priming reads the alert's sealed originals.
        _ = try await alertKey()
        // Counted aside and kept only once the whole state is rebuilt: a load that fails halfway
        // is run again, and must not count the alert's bytes twice (review: L2).
        var bytes: UInt64 = 0
        var conflictCounts: [UInt64: Int] = [:]
        var lastChunk: Entry?
        var chunks: [UInt64: Entry] = [:]
        for e in try reader.alertEntries(alert).map({ e throws(TemoinError) in try e.parsed() }) {
            if e.kind == .audioChunk || e.kind == .chunkConflict { bytes += e.uint("original-size") ?? 0 }
            if e.kind == .audioChunk { bytes += (e.uint("opus-bytes") ?? 0) + 4 * (e.uint("opus-packets") ?? 0) }
            if e.kind == .chunkConflict, let seq = e.uint("seq") { conflictCounts[seq, default: 0] += 1 }
            if e.kind == .chunkMissing, let last = e.uint("last-seq"), last + 1 > next { next = last + 1 }
            if e.kind == .audioChunk, let seq = e.uint("seq") {
                chunks[seq] = e
                if seq + 1 > next {
                    next = seq + 1
                    lastChunk = e
                }
            }
        }
        if let e = lastChunk, let codec = e["codec"], let seq = e.uint("seq") {
            if let stream = try? PhoneStream(codecDescription: codec),
                let original = try? verifiedOriginal(e), let ogg = try? OggOpusReader.decode(original)
            {
                phone = (stream, e["codec-library"] ?? "phone", ogg.lastPageSequence + 1, seq)
            } else if let settings = try? OpusSettings(codecDescription: codec) {
                let fresh = try OpusEncoderState(settings: settings)
                // Without the audio (erased, damaged), the stream goes on unprimed: a short
                // transient in the derivative; the originals, the evidence, are untouched.
                if let tail = try? primingAudio(endingAt: seq, chunks: chunks, settings: settings) {
                    let lent = Lent(encoder: fresh)
                    try await self.codec.run { try lent.encoder.prime(tail) }
                }
                encoder = fresh
            }
        }
        storedBytes = bytes
        conflicts = conflictCounts
        loaded = true
    }

    /// Frames of the preceding audio (5 s) a fresh encoder is primed with after a restart. Measured
    /// (`AudioIngestTests`): 0.5 s leaves the next second 1.3–1.5 times too loud, as libopus's
    /// slow adaptations (noise and gain estimates) start from scratch; 1 s, 1.1–1.2 times.
    static let primingFrames = 250

    /// The audio the encoder saw last: the chunks before `seq` (contiguous sequence numbers, with
    /// the same codec), each padded to whole frames as `encodeAndAppend` gave it, up to
    /// `primingFrames` frames.
    private func primingAudio(endingAt seq: UInt64, chunks: [UInt64: Entry], settings: OpusSettings) throws -> [Float] {
        let wanted = Self.primingFrames * settings.frameSize
        var parts = [[Float]]()
        var total = 0
        var cursor = seq
        while total < wanted, let e = chunks[cursor], e["codec"] == settings.codecDescription {
            let audio = try primingAudio(e, settings: settings)
            parts.append(audio)
            total += audio.count
            guard cursor > 0 else { break }
            cursor -= 1
        }
        guard !parts.isEmpty else { throw TemoinError(.audioEmpty, "nothing to prime with") }
        return Array(parts.reversed().joined().suffix(wanted))
    }

    /// The original bytes of a chunk, only if they still hash to what its entry says.
    private func verifiedOriginal(_ e: Entry) throws -> [UInt8] {
        guard let hash = e.hash("original-sha256") else {
            throw TemoinError(.entryMissingField, category: .invalidEvidence, "no original-sha256")
        }
        let bytes = try blobs.read(alert: alert, hash: hash, key: key)
        guard SHA256.hash(bytes) == hash else {
            throw TemoinError(.blobMismatch, "the original of chunk \(e["seq"] ?? "?") does not match its entry")
        }
        return bytes
    }

    /// What the encoder saw of chunk `e`: its audio resampled to the encoder rate and padded to
    /// whole frames, as `encodeAndAppend` gave it.
    private func primingAudio(_ e: Entry, settings: OpusSettings) throws -> [Float] {
        let bytes = try verifiedOriginal(e)
        let format: OriginalFormat
        switch e["original-format"] {
        case "wav": format = .wav
        case "ogg-opus": format = .oggOpus
        case let token? where token == "l16" || token == "s16le":
            // Raw PCM keeps no header: its channels follow from its size, duration and rate.
            let rate = settings.inputRate
            let frames = (e.uint("duration-us") ?? 0) * UInt64(rate) / 1_000_000
            let channels = frames > 0 ? Int((UInt64(bytes.count) / 2 + frames / 2) / frames) : 1
            format = .l16(sampleRate: rate, channels: min(2, max(1, channels)), bigEndian: token == "l16")
        default:
            throw TemoinError(.audioUnknownFormat, "unknown original format")
        }
        let audio = try format.decode(bytes, maximumMicroseconds: limits.maximumChunkMicroseconds)
        var samples = try Resampler.resample(audio.samples, from: audio.rate, to: settings.sampleRate)
        let frame = settings.frameSize
        samples += repeatElement(0, count: (frame - samples.count % frame) % frame)
        return samples
    }
}
