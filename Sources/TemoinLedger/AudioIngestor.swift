public import TemoinCore
import TemoinCrypto
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
    public func decode(_ bytes: [UInt8], maximumMicroseconds: UInt64 = .max)
        throws(TemoinError) -> (samples: [Float], rate: Int, durationMicroseconds: UInt64) {
        func checked(_ a: PCMAudio) throws(TemoinError) -> PCMAudio {
            guard a.durationMicroseconds <= maximumMicroseconds else { throw OriginalFormat.tooLong(a.durationMicroseconds, maximumMicroseconds) }
            return a
        }
        switch self {
        case .wav:
            let a = try checked(WAV.parse(bytes))
            return (a.monoSamples(), a.format.sampleRate, a.durationMicroseconds)
        case .l16(let rate, let channels, let big):
            let a = try checked(PCMAudio.raw(bytes, sampleRate: rate, channels: channels, bigEndian: big))
            return (a.monoSamples(), rate, a.durationMicroseconds)
        case .oggOpus:
            let d = try OggOpusReader.decode(bytes, maximumMicroseconds: maximumMicroseconds)
            return (d.samples, 48000, d.durationMicroseconds)
        }
    }

    static func tooLong(_ duration: UInt64, _ maximum: UInt64) -> TemoinError {
        .malformed("audio.too-long", "the chunk lasts \(duration / 1000) ms, more than \(maximum / 1000) ms")
    }
}

/// One audio chunk as the device sent it.
public struct ChunkUpload: Sendable {
    public let alert: String
    public let seq: UInt64
    public let captureStart: Timestamp
    public let original: [UInt8]
    public let format: OriginalFormat
    /// The device's Ed25519 signature over the chunk's `DeviceStatement`, if it sent one.
    public let statementSignature: [UInt8]?
    /// The last chunk of the alert: the encoder is flushed (its 6.5 ms look-ahead), so the
    /// recording plays to the last sample.
    public let isFinal: Bool

    public init(alert: String, seq: UInt64, captureStart: Timestamp, original: [UInt8], format: OriginalFormat,
                statementSignature: [UInt8]?, isFinal: Bool = false) {
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
    case conflict(kept: StoredEntry, recorded: StoredEntry)
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
    public let writer: LedgerWriter
    public let limits: AudioLimits
    private let blobs: BlobStore
    private var alerts: [String: AlertEncoder] = [:]

    /// `faults`: tests only, injected blob write failures.
    public init(writer: LedgerWriter, limits: AudioLimits = AudioLimits(), faults: StorageFaults? = nil) {
        self.writer = writer
        self.limits = limits
        blobs = BlobStore(root: writer.directory.blobs.root, faults: faults)
    }

    private func channel(_ alert: String) -> AlertEncoder {
        if let c = alerts[alert] { return c }
        let c = AlertEncoder(alert: alert, writer: writer, limits: limits, blobs: blobs)
        alerts[alert] = c
        return c
    }

    /// The sequence number the alert's encoder expects next.
    public func nextSequence(alert: String) async throws -> UInt64 {
        try await channel(alert).nextSequence()
    }

    /// Ingests a chunk in order (tests and `temoin ingest`): anything but a new entry is an error.
    public func ingest(_ chunk: ChunkUpload) async throws -> Appended {
        switch try await submit(chunk) {
        case .appended(let a): return a
        case .duplicate, .conflict:
            throw TemoinError(.usage, code: "audio.already-stored", "chunk \(chunk.seq) of alert \(chunk.alert) is already stored")
        }
    }

    /// Ingests a chunk that may be early, late, repeated or conflicting.
    public func submit(_ chunk: ChunkUpload) async throws -> IngestOutcome {
        try await channel(chunk.alert).submit(chunk)
    }

    /// Records the chunks up to `lastSeq` that never came as `chunk.missing` (at close).
    public func recordMissing(alert: String, through lastSeq: UInt64, reason: String) async throws {
        try await channel(alert).recordMissing(through: lastSeq, reason: reason)
    }

    /// Forgets in-memory encoders, as a restart would (tests).
    public func forgetEncoders() {
        alerts = [:]
    }
}

/// One alert's encoder and the sequence number it expects next.
actor AlertEncoder {
    let alert: String
    let writer: LedgerWriter
    let limits: AudioLimits
    private let blobs: BlobStore
    private var encoder: OpusEncoderState?
    private var next: UInt64 = 0
    private var loaded = false
    /// The phone's own Opus stream, while its chunks continue it (kept packet for packet).
    private var phone: (stream: PhoneStream, vendor: String, nextPage: Int, lastSeq: UInt64)?

    init(alert: String, writer: LedgerWriter, limits: AudioLimits, blobs: BlobStore) {
        self.alert = alert
        self.writer = writer
        self.limits = limits
        self.blobs = blobs
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

    func nextSequence() async throws -> UInt64 {
        try await load()
        return next
    }

    func submit(_ chunk: ChunkUpload) async throws -> IngestOutcome {
        guard chunk.original.count <= limits.maximumChunkBytes else {
            throw TemoinError(.unusableInput, code: "audio.too-large", "the chunk is larger than \(limits.maximumChunkBytes) bytes")
        }
        // Ogg Opus is read once: its packets may be kept as sent, its samples re-encoded otherwise.
        let limit = limits.maximumChunkMicroseconds
        let ogg = chunk.format == .oggOpus ? try OggOpusReader.decode(chunk.original, maximumMicroseconds: limit) : nil
        let audio = try ogg.map { (samples: $0.samples, rate: 48000, durationMicroseconds: $0.durationMicroseconds) }
            ?? chunk.format.decode(chunk.original, maximumMicroseconds: limit)
        guard audio.durationMicroseconds <= limit else { throw OriginalFormat.tooLong(audio.durationMicroseconds, limit) }
        guard audio.durationMicroseconds > 0 else { throw TemoinError(.unusableInput, code: "audio.empty", "the chunk holds no audio") }
        guard try await writer.head(alert: chunk.alert) != nil else {
            throw TemoinError(.usage, code: "ledger.alert-not-open", "alert \(chunk.alert) has no alert.opened entry")
        }
        let deadline = ContinuousClock.now + limits.reorderWait
        await acquire()
        defer { release() }
        try await load()
        if let stored = try await writer.chunkEntry(alert: chunk.alert, seq: chunk.seq) {
            return try await repeated(chunk, stored: stored)
        }
        // Early: wait for the chunks before it, then record the ones still missing.
        while chunk.seq > next, ContinuousClock.now < deadline {
            release()
            try? await Task.sleep(for: .milliseconds(20))
            await acquire()
        }
        if let stored = try await writer.chunkEntry(alert: chunk.alert, seq: chunk.seq) {
            return try await repeated(chunk, stored: stored)
        }
        if chunk.seq > next {
            try await appendMissing(first: next, last: chunk.seq - 1, reason: "silence")
            next = chunk.seq
        }
        if chunk.seq < next {
            // Late: after it was recorded missing. Encoded on its own, the stream's state untouched.
            let settings = try encoder?.settings ?? OpusSettings(inputRate: audio.rate, bitrate: limits.bitrate, complexity: limits.complexity)
            return .appended(try await encodeAndAppend(chunk, audio: audio, encoder: OpusEncoderState(settings: settings), saveState: false))
        }
        if let ogg, let kept = try await keepPhoneStream(chunk, ogg: ogg) {
            next = chunk.seq + 1
            return .appended(kept)
        }
        let encoder = try self.encoder ?? OpusEncoderState(settings: OpusSettings(
            inputRate: audio.rate, bitrate: limits.bitrate, complexity: limits.complexity))
        let before = encoder.snapshot
        do {
            let appended = try await encodeAndAppend(chunk, audio: audio, encoder: encoder, saveState: true)
            self.encoder = encoder
            next = chunk.seq + 1
            return .appended(appended)
        } catch {
            // Nothing was committed: put the encoder back as it was before this chunk.
            self.encoder = self.encoder == nil ? nil : try OpusEncoderState(settings: encoder.settings, snapshot: before)
            throw error
        }
    }

    /// DESIGN §3: Ogg Opus chunks that continue one logical stream (OpusHead in chunk 0 only, the
    /// same serial, the next page number, whole packets, no gap) are kept as the phone encoded them;
    /// anything else is decoded and re-encoded. Returns nil when the chunk must be re-encoded.
    private func keepPhoneStream(_ chunk: ChunkUpload, ogg: OggOpusReader.Decoded) async throws -> Appended? {
        guard ogg.wholePackets, !ogg.packets.isEmpty else { return nil }
        let stream: PhoneStream, vendor: String
        if let head = ogg.head {
            guard chunk.seq == 0, phone == nil, encoder == nil else { return nil }
            stream = PhoneStream(serial: ogg.serial, preSkip: head.preSkip, inputRate: head.inputRate, channels: head.channels)
            let printable = String((ogg.vendor ?? "").unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.map(Character.init))
                .trimmingCharacters(in: .whitespaces)
            vendor = printable.isEmpty ? "phone" : String(printable.prefix(200))
        } else {
            guard let p = phone, p.stream.serial == ogg.serial, p.nextPage == ogg.firstPageSequence, p.lastSeq + 1 == chunk.seq else { return nil }
            stream = p.stream
            vendor = p.vendor
        }
        let packets = OpusPacketStream.encode(ogg.packets)
        let originalHash = try blobs.put(alert: chunk.alert, bytes: chunk.original)
        let opusHash = try blobs.put(alert: chunk.alert, bytes: packets)
        let appended = try await writer.append(EntryDraft(kind: .audioChunk, [
            ("alert", chunk.alert), ("seq", String(chunk.seq)), ("capture-start", chunk.captureStart.description),
            ("duration-us", String(ogg.durationMicroseconds)), ("original-format", chunk.format.token),
            ("original-sha256", originalHash.hex), ("original-size", String(chunk.original.count)),
            ("opus-sha256", opusHash.hex), ("opus-packets", String(ogg.packets.count)),
            ("opus-bytes", String(ogg.packets.reduce(0) { $0 + $1.count })),
            ("codec", stream.codecDescription), ("codec-library", vendor),
            ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
        ]))
        phone = (stream, vendor, ogg.lastPageSequence + 1, chunk.seq)
        return appended
    }

    /// The same sequence number again: identical bytes are a harmless retry; different bytes are
    /// kept in quarantine and recorded.
    private func repeated(_ chunk: ChunkUpload, stored: StoredEntry) async throws -> IngestOutcome {
        let hash = SHA256.hash(chunk.original)
        if try stored.parsed().hash("original-sha256") == hash { return .duplicate(stored) }
        for (e, parsed) in try await writer.alertEntries(chunk.alert)
        where parsed.kind == .chunkConflict && parsed.uint("seq") == chunk.seq && parsed.hash("original-sha256") == hash {
            return .conflict(kept: stored, recorded: e)
        }
        try blobs.put(alert: chunk.alert, bytes: chunk.original)
        let recorded = try await writer.append(EntryDraft(kind: .chunkConflict, [
            ("alert", chunk.alert), ("seq", String(chunk.seq)), ("original-sha256", hash.hex),
            ("original-size", String(chunk.original.count)), ("kept-entry", String(stored.index)),
            ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
        ]))
        return .conflict(kept: stored, recorded: StoredEntry(index: recorded.index, leafHash: recorded.leafHash, bytes: recorded.entry.bytes))
    }

    private func appendMissing(first: UInt64, last: UInt64, reason: String) async throws {
        _ = try await writer.append(EntryDraft(kind: .chunkMissing, [
            ("alert", alert), ("first-seq", String(first)), ("last-seq", String(last)), ("reason", reason),
        ]))
    }

    func recordMissing(through lastSeq: UInt64, reason: String) async throws {
        await acquire()
        defer { release() }
        try await load()
        guard next <= lastSeq else { return }
        try await appendMissing(first: next, last: lastSeq, reason: reason)
        next = lastSeq + 1
    }

    private func encodeAndAppend(_ chunk: ChunkUpload, audio: (samples: [Float], rate: Int, durationMicroseconds: UInt64),
                                 encoder: OpusEncoderState, saveState: Bool) async throws -> Appended {
        let settings = encoder.settings
        var samples = try Resampler.resample(audio.samples, from: audio.rate, to: settings.sampleRate)
        if chunk.isFinal {
            samples += repeatElement(0, count: OpusSettings.preSkip * settings.sampleRate / 48000)
        }
        let packets = try encoder.encode(samples)
        let stream = OpusPacketStream.encode(packets)
        let originalHash = try blobs.put(alert: chunk.alert, bytes: chunk.original)
        let opusHash = try blobs.put(alert: chunk.alert, bytes: stream)
        var draft = EntryDraft(kind: .audioChunk, [
            ("alert", chunk.alert), ("seq", String(chunk.seq)), ("capture-start", chunk.captureStart.description),
            ("duration-us", String(audio.durationMicroseconds)), ("original-format", chunk.format.token),
            ("original-sha256", originalHash.hex), ("original-size", String(chunk.original.count)),
            ("opus-sha256", opusHash.hex), ("opus-packets", String(packets.count)),
            ("opus-bytes", String(packets.reduce(0) { $0 + $1.count })),
            ("codec", settings.codecDescription), ("codec-library", OpusSettings.libraryVersion),
            ("statement-sig", chunk.statementSignature.map { Base64.encode($0) } ?? "none"),
        ])
        if saveState {
            draft.codecState = CodecStateSnapshot(alert: chunk.alert, seq: chunk.seq, codec: settings.codecDescription,
                                                  library: OpusSettings.libraryVersion, snapshot: encoder.snapshot)
        }
        return try await writer.append(draft)
    }

    /// Restores the encoder saved with the alert's last committed chunk, once; the next sequence
    /// number also accounts for chunks recorded missing.
    private func load() async throws {
        guard !loaded else { return }
        if let saved = try await writer.codecState(alert: alert) {
            let settings = try OpusSettings(codecDescription: saved.codec)
            if saved.library == OpusSettings.libraryVersion,
               let restored = try? OpusEncoderState(settings: settings, snapshot: saved.snapshot) {
                encoder = restored
            } else {
                // Another libopus build, or a state that cannot be relocated safely: continue with
                // a fresh encoder (a short transient in the recording; the originals are untouched).
                encoder = try OpusEncoderState(settings: settings)
            }
            next = saved.seq + 1
        }
        var lastChunk: Entry?
        for (_, e) in try await writer.alertEntries(alert) {
            if e.kind == .chunkMissing, let last = e.uint("last-seq"), last + 1 > next { next = last + 1 }
            if e.kind == .audioChunk, let seq = e.uint("seq"), seq + 1 > next {
                next = seq + 1
                lastChunk = e
            }
        }
        // A phone stream kept as sent continues if the last chunk was part of it.
        if let e = lastChunk, let codec = e["codec"], let stream = try? PhoneStream(codecDescription: codec),
           let original = try? blobs.read(alert: alert, hash: e.hash("original-sha256")!),
           let ogg = try? OggOpusReader.decode(original), let seq = e.uint("seq") {
            phone = (stream, e["codec-library"] ?? "phone", ogg.lastPageSequence + 1, seq)
        }
        loaded = true
    }
}
