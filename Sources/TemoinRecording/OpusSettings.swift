public import TemoinCore

/// Encoder settings; `codecDescription` is what the ledger records.
public struct OpusSettings: Sendable, Hashable {
    /// Rates libopus encodes natively.
    public static let nativeRates = [8000, 12000, 16000, 24000, 48000]
    /// The default bitrate for an encoder rate: the lowest measured to reach PESQ-WB ≥ 4.0 on
    /// speech (Docs/audio.md): 24 kbit/s up to 16 kHz, 32 kbit/s at 24 and 48 kHz, where Opus
    /// spends part of its bits above 8 kHz.
    public static func defaultBitrate(forRate rate: Int) -> Int {
        rate <= 16000 ? 24000 : 32000
    }
    public static let frameMilliseconds = 20

    /// The rate the encoder runs at.
    public let sampleRate: Int
    /// The rate the audio arrived at (recorded in OpusHead; resampled when it differs).
    public let inputRate: Int
    public let bitrate: Int
    public let complexity: Int

    /// `bitrate` nil: the default for the encoder rate.
    public init(inputRate: Int, bitrate: Int? = nil, complexity: Int = 10) throws(TemoinError) {
        guard PCMFormat.rates.contains(inputRate) else {
            throw .malformed(.audioBadRate, "sample rate \(inputRate) Hz is outside 8000–48000 Hz")
        }
        let bitrate = bitrate ?? OpusSettings.defaultBitrate(forRate: OpusSettings.encoderRate(for: inputRate))
        guard (6000...510_000).contains(bitrate) else {
            throw TemoinError(.opusBadBitrate, "the Opus bitrate must be 6000 to 510000 bit/s")
        }
        guard (0...10).contains(complexity) else {
            throw TemoinError(.opusBadComplexity, "the Opus complexity must be 0 to 10")
        }
        self.inputRate = inputRate
        sampleRate = OpusSettings.encoderRate(for: inputRate)
        self.bitrate = bitrate
        self.complexity = complexity
    }

    /// The smallest native rate at or above the input rate (44.1 kHz → 48 kHz, 22.05 → 24, 11.025 → 12).
    public static func encoderRate(for inputRate: Int) -> Int {
        nativeRates.first { $0 >= inputRate } ?? 48000
    }

    /// Samples per 20 ms frame at the encoder rate.
    public var frameSize: Int { sampleRate / 50 }

    /// Pre-skip in 48 kHz samples: libopus's lookahead for the VOIP application (2.5 ms + 4 ms).
    public static let preSkip = 312

    /// The `codec` field of `audio.chunk` entries: key=value pairs, space separated.
    public var codecDescription: String {
        "opus application=voip frame-ms=20 bitrate=\(bitrate) complexity=\(complexity) rate=\(sampleRate) "
            + "input-rate=\(inputRate) channels=1 preskip=\(OpusSettings.preSkip)"
    }

    /// Parses a `codec` field written by `codecDescription`.
    public init(codecDescription text: String) throws(TemoinError) {
        var values: [String: Int] = [:]
        let parts = text.split(separator: " ")
        guard parts.first == "opus" else { throw .malformed(.opusBadCodec, "the codec field does not describe Opus") }
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw .malformed(.opusBadCodec, "codec parameter '\(part)' is not key=value") }
            if kv[0] == "application" {
                guard kv[1] == "voip" else { throw .malformed(.opusBadCodec, "only the voip application is used") }
                continue
            }
            guard let v = Int(kv[1]) else {
                throw .malformed(.opusBadCodec, "codec parameter '\(part)' is not a number")
            }
            values[String(kv[0])] = v
        }
        guard let input = values["input-rate"], let bitrate = values["bitrate"], let complexity = values["complexity"]
        else {
            throw .malformed(.opusBadCodec, "the codec field lacks input-rate, bitrate or complexity")
        }
        try self.init(inputRate: input, bitrate: bitrate, complexity: complexity)
        guard codecDescription == text else { throw .malformed(.opusBadCodec, "the codec field is not canonical") }
    }
}

/// Opus packet durations from the TOC byte alone (RFC 6716 §3.1), so the recording can be
/// muxed and checked without libopus.
public enum OpusPacket {
    /// Samples at 48 kHz the packet decodes to, or nil for an invalid packet.
    public static func sampleCount(_ packet: [UInt8]) -> Int? {
        guard let toc = packet.first else { return nil }
        let config = Int(toc >> 3)
        let frameSize: Int
        switch config {
        case 0...11: frameSize = [480, 960, 1920, 2880][config & 3]
        case 12...15: frameSize = [480, 960][config & 1]
        default: frameSize = [120, 240, 480, 960][config & 3]
        }
        let frames: Int
        switch toc & 3 {
        case 0: frames = 1
        case 1, 2: frames = 2
        default:
            guard packet.count >= 2 else { return nil }
            frames = Int(packet[1] & 0x3f)
        }
        let samples = frames * frameSize
        guard frames > 0, samples <= 5760 else { return nil }
        return samples
    }
}
