/// How PCM samples are stored in a byte stream.
public struct PCMFormat: Sendable, Hashable, CustomStringConvertible {
    public enum Encoding: String, Sendable, Hashable {
        case unsigned8, signed16, signed24, signed32, float32, float64
    }

    public let encoding: Encoding
    public let sampleRate: Int
    public let channels: Int
    public let bigEndian: Bool

    /// Rates Témoin accepts (DESIGN §3): 8 to 48 kHz.
    public static let rates: ClosedRange<Int> = 8000...48000
    public static let maximumChannels = 8

    public init(encoding: Encoding, sampleRate: Int, channels: Int, bigEndian: Bool = false) throws(TemoinError) {
        guard PCMFormat.rates.contains(sampleRate) else {
            throw .malformed(.audioBadRate, "sample rate \(sampleRate) Hz is outside 8000–48000 Hz")
        }
        guard (1...PCMFormat.maximumChannels).contains(channels) else {
            throw .malformed(.audioBadChannels, "\(channels) channels: 1 to \(PCMFormat.maximumChannels) are accepted")
        }
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channels = channels
        self.bigEndian = bigEndian
    }

    public var bytesPerSample: Int {
        switch encoding {
        case .unsigned8: return 1
        case .signed16: return 2
        case .signed24: return 3
        case .signed32, .float32: return 4
        case .float64: return 8
        }
    }

    /// Bytes per frame (one sample of every channel).
    public var blockAlign: Int { bytesPerSample * channels }

    public var description: String {
        "\(encoding.rawValue) \(sampleRate) Hz \(channels) ch"
    }

    /// Decodes interleaved frames into mono samples in [-1, 1] (channels averaged).
    /// `bytes.count` must be a multiple of `blockAlign`.
    public func monoSamples(_ bytes: ArraySlice<UInt8>) -> [Float] {
        let frames = bytes.count / blockAlign
        var out = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(channels)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            for f in 0..<frames {
                var sum: Float = 0
                for _ in 0..<channels {
                    sum += sample(raw, offset)
                    offset += bytesPerSample
                }
                out[f] = sum * scale
            }
        }
        return out
    }

    @inline(__always)
    private func sample(_ raw: UnsafeRawBufferPointer, _ o: Int) -> Float {
        @inline(__always) func u(_ i: Int) -> UInt32 { UInt32(raw[o + i]) }
        switch encoding {
        case .unsigned8:
            return (Float(raw[o]) - 128) / 128
        case .signed16:
            let v = bigEndian ? (u(0) << 8 | u(1)) : (u(1) << 8 | u(0))
            return Float(Int16(bitPattern: UInt16(v))) / 32768
        case .signed24:
            let v = bigEndian ? (u(0) << 24 | u(1) << 16 | u(2) << 8) : (u(2) << 24 | u(1) << 16 | u(0) << 8)
            return Float(Int32(bitPattern: v)) / 2_147_483_648
        case .signed32:
            let v =
                bigEndian ? (u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3)) : (u(3) << 24 | u(2) << 16 | u(1) << 8 | u(0))
            return Float(Int32(bitPattern: v)) / 2_147_483_648
        case .float32:
            let v =
                bigEndian ? (u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3)) : (u(3) << 24 | u(2) << 16 | u(1) << 8 | u(0))
            let f = Float(bitPattern: v)
            return f.isFinite ? max(-1, min(1, f)) : 0
        case .float64:
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(raw[o + (bigEndian ? 7 - i : i)]) << (8 * UInt64(i)) }
            let d = Double(bitPattern: v)
            return d.isFinite ? Float(max(-1, min(1, d))) : 0
        }
    }
}

/// Audio as received: its format and where its sample bytes are.
public struct PCMAudio: Sendable {
    public let format: PCMFormat
    /// The sample bytes (whole frames only).
    public let data: ArraySlice<UInt8>

    public var frameCount: Int { data.count / format.blockAlign }
    /// Duration in microseconds, rounded down.
    public var durationMicroseconds: UInt64 { UInt64(frameCount) * 1_000_000 / UInt64(format.sampleRate) }

    public func monoSamples() -> [Float] { format.monoSamples(data) }

    /// Raw s16 PCM (`audio/L16`: big-endian per RFC 2586; little-endian with `bigEndian: false`).
    public static func raw(
        _ bytes: [UInt8], sampleRate: Int, channels: Int, bigEndian: Bool
    ) throws(TemoinError) -> PCMAudio {
        let format = try PCMFormat(
            encoding: .signed16, sampleRate: sampleRate, channels: channels, bigEndian: bigEndian)
        guard !bytes.isEmpty else { throw .malformed(.audioEmpty, "the audio holds no samples") }
        guard bytes.count % format.blockAlign == 0 else {
            throw .malformed(
                .audioPartialFrame,
                "raw PCM length \(bytes.count) is not a whole number of \(format.blockAlign)-byte frames")
        }
        return PCMAudio(format: format, data: bytes[...])
    }
}
