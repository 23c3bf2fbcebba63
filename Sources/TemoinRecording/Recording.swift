public import TemoinCore

/// One stored chunk as the recording needs it: ledger values and its Opus packets.
public struct RecordingChunk: Sendable {
    public let seq: UInt64
    public let captureStart: Timestamp
    public let durationMicroseconds: UInt64
    public let codec: String
    public let library: String
    public let packets: [[UInt8]]

    public init(
        seq: UInt64, captureStart: Timestamp, durationMicroseconds: UInt64, codec: String, library: String,
        packets: [[UInt8]]
    ) {
        self.seq = seq
        self.captureStart = captureStart
        self.durationMicroseconds = durationMicroseconds
        self.codec = codec
        self.library = library
        self.packets = packets
    }

    /// Builds it from an `audio.chunk` entry and its stored packet stream, checking the stream
    /// against the entry's hash, packet count and byte count.
    public init(entry: Entry, packetStream: [UInt8], sha256: (([UInt8]) -> Hash)) throws(TemoinError) {
        guard entry.kind == .audioChunk, let seq = entry.uint("seq"), let start = entry.time("capture-start"),
            let duration = entry.uint("duration-us"), let codec = entry["codec"], let library = entry["codec-library"]
        else {
            throw .malformed(.recordingNotAChunk, "the entry is not an audio.chunk entry")
        }
        guard sha256(packetStream) == entry.hash("opus-sha256") else {
            throw TemoinError(.recordingOpusHash, "the stored Opus packets of chunk \(seq) do not match their hash")
        }
        let packets = try OpusPacketStream.decode(packetStream)
        guard UInt64(packets.count) == entry.uint("opus-packets"),
            UInt64(packets.reduce(0) { $0 + $1.count }) == entry.uint("opus-bytes")
        else {
            throw TemoinError(.recordingOpusCount, "the Opus packets of chunk \(seq) do not match the entry's counts")
        }
        self.init(
            seq: seq, captureStart: start, durationMicroseconds: duration, codec: codec, library: library,
            packets: packets)
    }
}

/// What the recording's OpusHead says, from the first chunk's `codec` field: Témoin's encoder, or
/// a phone's own Opus stream kept as sent (`opus-phone …`).
public struct StreamHeader: Sendable, Equatable {
    public let inputRate: Int
    public let preSkip: Int

    public init(codec: String) throws(TemoinError) {
        if codec.hasPrefix("opus-phone ") {
            let phone = try PhoneStream(codecDescription: codec)
            inputRate = phone.inputRate
            preSkip = phone.preSkip
        } else {
            inputRate = try OpusSettings(codecDescription: codec).inputRate
            preSkip = OpusSettings.preSkip
        }
    }
}

/// A phone's own Ogg Opus stream, kept packet for packet: its serial and its OpusHead values.
/// `codec` field: `opus-phone serial=N preskip=N input-rate=N channels=N`.
public struct PhoneStream: Sendable, Equatable {
    public let serial: UInt32
    public let preSkip: Int
    public let inputRate: Int
    public let channels: Int

    public init(serial: UInt32, preSkip: Int, inputRate: Int, channels: Int) {
        self.serial = serial
        self.preSkip = preSkip
        self.inputRate = inputRate
        self.channels = channels
    }

    public var codecDescription: String {
        "opus-phone serial=\(serial) preskip=\(preSkip) input-rate=\(inputRate) channels=\(channels)"
    }

    public init(codecDescription text: String) throws(TemoinError) {
        var values: [String: UInt64] = [:]
        let parts = text.split(separator: " ")
        guard parts.first == "opus-phone" else { throw .malformed(.opusBadCodec, "not a phone stream description") }
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let v = StrictDecimal.parse(kv[1], max: UInt64(UInt32.max)) else {
                throw .malformed(.opusBadCodec, "codec parameter '\(part)' is not key=number")
            }
            values[String(kv[0])] = v
        }
        guard let serial = values["serial"], let preSkip = values["preskip"], let rate = values["input-rate"],
            let channels = values["channels"],
            (1...2).contains(channels)
        else {
            throw .malformed(
                .opusBadCodec, "a phone stream description needs serial, preskip, input-rate and channels (1 or 2)")
        }
        // OpusHead holds the pre-skip in 16 bits (RFC 7845 §5.1): a larger value could not be
        // written back, and the rebuilt recording's header would disagree with its granules.
        guard preSkip <= 0xFFFF else {
            throw .malformed(.opusBadCodec, "a phone stream's pre-skip is at most 65535 samples")
        }
        self.init(serial: UInt32(serial), preSkip: Int(preSkip), inputRate: Int(rate), channels: Int(channels))
        guard codecDescription == text else { throw .malformed(.opusBadCodec, "the codec field is not canonical") }
    }
}

/// The deterministic Ogg Opus recording of an alert, built only from ledger data and stored
/// packets (Docs/audio.md): the same ledger always gives the same bytes.
public struct Recording: Sendable {
    public let bytes: [UInt8]
    /// Playback duration in 48 kHz samples (after pre-skip and end trimming).
    public let durationSamples: Int64
    /// Sequence numbers that were missing, filled with lost-frame packets.
    public let missing: [ClosedRange<UInt64>]
    /// 20 ms lost-frame packets inserted for the missing chunks.
    public let filledFrames: Int

    /// Most lost frames filled in one recording, all gaps together: six hours of 20 ms frames.
    /// Capture times come from the phone: without a bound over the whole recording, a phone could
    /// make its recording (and every export of it) hours of silence per gap, gigabytes in memory.
    public static let maximumGapFrames: Int64 = 6 * 3600 * 50

    /// A chunk's duration as used in time arithmetic (at most a day: no overflow whatever an entry says).
    static func boundedMicroseconds(_ d: UInt64) -> Int64 { Int64(min(d, 86_400_000_000)) }

    /// The 20 ms lost-frame packets that fill the gap between two chunks: from the end of the
    /// previous one to the start of the next (device clock), rounded, never negative, and never
    /// more than what is left of `maximumGapFrames` after the `filledSoFar` of earlier gaps.
    public static func gapFrames(after p: RecordingChunk, before c: RecordingChunk, filledSoFar: Int64) -> Int64 {
        let endOfPrevious = p.captureStart.millisecondsSinceEpoch * 1000 + boundedMicroseconds(p.durationMicroseconds)
        let gapMicroseconds = c.captureStart.millisecondsSinceEpoch * 1000 - endOfPrevious
        return max(0, min(Recording.maximumGapFrames - filledSoFar, (gapMicroseconds + 10_000) / 20_000))
    }

    /// Samples at 48 kHz of a chunk's duration, rounded.
    public static func samples48k(_ durationMicroseconds: UInt64) -> Int64 {
        (boundedMicroseconds(durationMicroseconds) * 48 + 500) / 1000
    }

    public init(origin: String, alert: AlertID, chunks unsorted: [RecordingChunk]) throws(TemoinError) {
        var bySeq: [UInt64: RecordingChunk] = [:]
        for c in unsorted where bySeq[c.seq] == nil { bySeq[c.seq] = c }
        let chunks = bySeq.values.sorted { $0.seq < $1.seq }
        guard let first = chunks.first, !first.packets.isEmpty else {
            throw .malformed(.recordingNoAudio, "alert \(alert) has no audio yet")
        }
        let stream = try StreamHeader(codec: first.codec)
        var packets = [[UInt8]]()
        var missing = [ClosedRange<UInt64>]()
        var filled = 0
        var trueSamples: Int64 = 0
        var previous: RecordingChunk?
        for c in chunks {
            if let p = previous, c.seq > p.seq + 1 {
                missing.append((p.seq + 1)...(c.seq - 1))
                // The gap lasts from the end of the previous chunk to the start of this one
                // (device clock), in whole 20 ms frames, never negative.
                let frames = Recording.gapFrames(after: p, before: c, filledSoFar: Int64(filled))
                let lost = OggOpus.lostFrame(like: packets.last?[0] ?? c.packets.first?[0] ?? 0x48)
                packets += repeatElement(lost, count: Int(frames))
                filled += Int(frames)
                trueSamples += frames * 960
            }
            packets += c.packets
            trueSamples += Recording.samples48k(c.durationMicroseconds)
            previous = c
        }
        let tags = Recording.comments(
            origin: origin, alert: alert, firstSeq: first.seq, lastSeq: chunks.last!.seq,
            captureStart: first.captureStart, missing: missing)
        let header = OggOpus.Header(
            inputRate: stream.inputRate, preSkip: stream.preSkip, vendor: first.library, comments: tags)
        let decodable = packets.reduce(Int64(0)) { $0 + Int64(OpusPacket.sampleCount($1) ?? 0) }
        let finalGranule = min(decodable, trueSamples + Int64(stream.preSkip))
        bytes = try OggOpus.mux(
            serial: OggOpus.serial(alert: alert), header: header, packets: packets, finalGranule: finalGranule)
        durationSamples = finalGranule - Int64(stream.preSkip)
        self.missing = missing
        filledFrames = filled
    }
}
