import Foundation
import TemoinAudio
import TemoinRecording
import TemoinCore
import Testing

/// Builds RIFF files chunk by chunk, including wrong ones.
struct RIFF {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] {
        [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
    }

    static func chunk(_ id: String, _ body: [UInt8], declared: Int? = nil) -> [UInt8] {
        Array(id.utf8) + le32(declared ?? body.count) + body + (body.count % 2 == 1 && declared == nil ? [0] : [])
    }

    static func fmt(
        tag: Int = 1, channels: Int = 1, rate: Int = 16000, bits: Int = 16, blockAlign: Int? = nil, byteRate: Int? = nil
    ) -> [UInt8] {
        let align = blockAlign ?? channels * bits / 8
        return le16(tag) + le16(channels) + le32(rate) + le32(byteRate ?? rate * align) + le16(align) + le16(bits)
    }

    static func extensible(
        channels: Int = 2, rate: Int = 48000, bits: Int = 24, sub: Int = 1, guidTail: [UInt8]? = nil
    ) -> [UInt8] {
        let tail = guidTail ?? [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        return fmt(tag: 0xFFFE, channels: channels, rate: rate, bits: bits) + le16(22) + le16(bits) + le32(3)
            + le16(sub) + tail
    }

    static func file(_ chunks: [UInt8]...) -> [UInt8] {
        let body = chunks.flatMap { $0 }
        return Array("RIFF".utf8) + le32(4 + body.count) + Array("WAVE".utf8) + body
    }
}

struct WAVTests {
    static let samples16: [UInt8] = (0..<320).flatMap { i -> [UInt8] in
        let v = Int16(Double(12000) * sin(Double(i) * 0.1))
        return RIFF.le16(Int(UInt16(bitPattern: v)))
    }

    @Test func aPlain16BitMonoFileParses() throws {
        let audio = try WAV.parse(RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("data", Self.samples16)))
        #expect(audio.format.sampleRate == 16000)
        #expect(audio.frameCount == 320)
        #expect(audio.durationMicroseconds == 20000)
        let mono = audio.monoSamples()
        #expect(abs(mono[10] - Float(Int16(Double(12000) * sin(1.0))) / 32768) < 1e-6)
    }

    @Test func listFactAndUnknownChunksAreSkippedAndOddChunksArePadded() throws {
        let audio = try WAV.parse(
            RIFF.file(
                RIFF.chunk("LIST", Array("INFOISFT\u{5}\0\0\0Lavf\0".utf8)), RIFF.chunk("fmt ", RIFF.fmt()),
                RIFF.chunk("fact", RIFF.le32(320)), RIFF.chunk("junk", [1, 2, 3]), RIFF.chunk("data", Self.samples16)))
        #expect(audio.frameCount == 320)
    }

    @Test func waveFormatExtensibleStereo24BitIsDownMixed() throws {
        // Left = +0.5, right = -0.25 → mono 0.125.
        let frame: [UInt8] = [0x00, 0x00, 0x40, 0x00, 0x00, 0xE0]
        let data = Array((0..<100).map { _ in frame }.joined())
        let audio = try WAV.parse(RIFF.file(RIFF.chunk("fmt ", RIFF.extensible()), RIFF.chunk("data", data)))
        #expect(audio.format.channels == 2)
        #expect(audio.format.encoding == .signed24)
        #expect(audio.monoSamples().allSatisfy { abs($0 - 0.125) < 1e-6 })
    }

    @Test(arguments: [(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)])
    func everySupportedSampleFormatParses(_ tag: Int, _ bits: Int) throws {
        let data = [UInt8](repeating: 0, count: bits / 8 * 2 * 50)
        let audio = try WAV.parse(
            RIFF.file(
                RIFF.chunk("fmt ", RIFF.fmt(tag: tag, channels: 2, rate: 44100, bits: bits)), RIFF.chunk("data", data)))
        #expect(audio.frameCount == 50)
    }

    static let hostile: [(String, [UInt8], String)] = [
        ("empty file", [], "wav.not-wav"),
        ("not RIFF", Array("RIFX\0\0\0\0WAVE".utf8), "wav.not-wav"),
        ("RIFF but not WAVE", RIFF.file().prefix(8) + Array("AVI ".utf8), "wav.not-wav"),
        ("no fmt", RIFF.file(RIFF.chunk("data", samples16)), "wav.data-before-format"),
        ("no data", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt())), "wav.no-data"),
        ("nothing after the header", RIFF.file(), "wav.no-format"),
        (
            "truncated data",
            Array(RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("data", samples16)).dropLast(100)),
            "wav.truncated"
        ),
        (
            "data size 4 GiB",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("data", samples16, declared: 0xFFFF_FFFF)),
            "wav.truncated"
        ),
        ("truncated fmt", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(), declared: 4000)), "wav.truncated"),
        (
            "unknown chunk past the end",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("LIST", [1, 2], declared: 0x7FFF_FFFF)),
            "wav.truncated"
        ),
        (
            "short fmt", RIFF.file(RIFF.chunk("fmt ", Array(RIFF.fmt().prefix(14))), RIFF.chunk("data", samples16)),
            "wav.bad-format"
        ),
        (
            "two fmt chunks",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("data", samples16)),
            "wav.two-formats"
        ),
        (
            "ADPCM",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(tag: 2, bits: 4, blockAlign: 256)), RIFF.chunk("data", samples16)),
            "wav.unsupported"
        ),
        (
            "12-bit PCM",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(bits: 12, blockAlign: 2)), RIFF.chunk("data", samples16)),
            "wav.unsupported"
        ),
        (
            "zero channels", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(channels: 0)), RIFF.chunk("data", samples16)),
            "audio.bad-channels"
        ),
        (
            "nine channels", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(channels: 9)), RIFF.chunk("data", samples16)),
            "audio.bad-channels"
        ),
        ("4 kHz", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(rate: 4000)), RIFF.chunk("data", samples16)), "audio.bad-rate"),
        (
            "96 kHz", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(rate: 96000)), RIFF.chunk("data", samples16)),
            "audio.bad-rate"
        ),
        ("rate 0", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(rate: 0)), RIFF.chunk("data", samples16)), "audio.bad-rate"),
        (
            "wrong block align", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(blockAlign: 3)), RIFF.chunk("data", samples16)),
            "wav.bad-format"
        ),
        (
            "wrong byte rate", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(byteRate: 1)), RIFF.chunk("data", samples16)),
            "wav.bad-format"
        ),
        (
            "partial final frame",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(channels: 2)), RIFF.chunk("data", Array(samples16.prefix(6)))),
            "audio.partial-frame"
        ),
        ("no samples", RIFF.file(RIFF.chunk("fmt ", RIFF.fmt()), RIFF.chunk("data", [])), "audio.empty"),
        (
            "extensible without extension",
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(tag: 0xFFFE)), RIFF.chunk("data", samples16)), "wav.bad-format"
        ),
        (
            "extensible, unknown sub-format",
            RIFF.file(
                RIFF.chunk("fmt ", RIFF.extensible(guidTail: [UInt8](repeating: 7, count: 14))),
                RIFF.chunk("data", [UInt8](repeating: 0, count: 60))), "wav.unsupported"
        ),
        (
            "extensible, ADPCM sub-format",
            RIFF.file(
                RIFF.chunk("fmt ", RIFF.extensible(sub: 2)), RIFF.chunk("data", [UInt8](repeating: 0, count: 60))),
            "wav.unsupported"
        ),
    ]

    @Test(arguments: hostile)
    func hostileFilesAreRefusedWithAClearError(_ name: String, _ bytes: [UInt8], _ code: String) {
        #expect(name.isEmpty == false)
        #expect { try WAV.parse(bytes) } throws: { ($0 as? TemoinError)?.code == code }
    }

    @Test func randomCorruptionsNeverCrashAndNeverAllocateFromDeclaredSizes() {
        let valid = RIFF.file(
            RIFF.chunk("LIST", [1, 2, 3, 4]), RIFF.chunk("fmt ", RIFF.fmt(channels: 2)),
            RIFF.chunk("data", Self.samples16))
        var rng = SplitMix(seed: 42)
        var parsed = 0, refused = 0
        for _ in 0..<5000 {
            var b = valid
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(b.count))
                b[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 5 == 0 { b = Array(b.prefix(Int(rng.next() % UInt64(b.count)))) }
            if let audio = try? WAV.parse(b) {
                #expect(audio.data.count <= b.count)
                parsed += 1
            } else {
                refused += 1
            }
        }
        #expect(parsed > 0 && refused > 0)
    }

    @Test func rawL16IsBigEndianAndS16LEIsLittleEndian() throws {
        let big = try PCMAudio.raw([0x40, 0x00], sampleRate: 8000, channels: 1, bigEndian: true)
        let little = try PCMAudio.raw([0x00, 0x40], sampleRate: 8000, channels: 1, bigEndian: false)
        #expect(big.monoSamples() == [0.5])
        #expect(little.monoSamples() == [0.5])
        #expect(throws: TemoinError.self) {
            try PCMAudio.raw([1, 2, 3], sampleRate: 8000, channels: 1, bigEndian: false)
        }
        #expect(throws: TemoinError.self) { try PCMAudio.raw([], sampleRate: 8000, channels: 1, bigEndian: false) }
        #expect(throws: TemoinError.self) { try PCMAudio.raw([1, 2], sampleRate: 7999, channels: 1, bigEndian: false) }
    }

    @Test func aChunkCutFromAFileIsAValidWAVWithTheSameSamples() throws {
        let audio = try WAV.parse(
            RIFF.file(RIFF.chunk("fmt ", RIFF.fmt(channels: 2, rate: 44100)), RIFF.chunk("data", Self.samples16)))
        let cut = WAV.encode(format: audio.format, data: audio.data.prefix(80))
        let again = try WAV.parse(cut)
        #expect(again.format == audio.format)
        #expect(Array(again.data) == Array(audio.data.prefix(80)))
    }
}

/// A small deterministic generator for reproducible corruption tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
