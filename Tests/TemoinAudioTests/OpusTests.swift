import Foundation
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import Testing

/// A speech-like test signal: a gliding tone with a syllable-rate envelope.
func testSignal(seconds: Double, rate: Int) -> [Float] {
    (0..<Int(seconds * Double(rate))).map { i in
        let t = Double(i) / Double(rate)
        let envelope = 0.5 + 0.5 * sin(2 * .pi * 4 * t)
        return Float(0.4 * envelope * sin(2 * .pi * (220 + 80 * sin(2 * .pi * 0.5 * t)) * t))
    }
}

struct OpusTests {
    @Test func encoderRatesAreTheNativeOnesAtOrAboveTheInput() {
        #expect(OpusSettings.encoderRate(for: 8000) == 8000)
        #expect(OpusSettings.encoderRate(for: 11025) == 12000)
        #expect(OpusSettings.encoderRate(for: 16000) == 16000)
        #expect(OpusSettings.encoderRate(for: 22050) == 24000)
        #expect(OpusSettings.encoderRate(for: 32000) == 48000)
        #expect(OpusSettings.encoderRate(for: 44100) == 48000)
        #expect(OpusSettings.encoderRate(for: 48000) == 48000)
    }

    @Test func theCodecDescriptionRoundTripsAndRefusesVariants() throws {
        let s = try OpusSettings(inputRate: 44100)
        #expect(try OpusSettings(codecDescription: s.codecDescription) == s)
        #expect(throws: TemoinError.self) { try OpusSettings(codecDescription: s.codecDescription + " extra=1") }
        #expect(throws: TemoinError.self) { try OpusSettings(codecDescription: "vorbis bitrate=1") }
    }

    /// Found while writing the fuzz target `entry` (Docs/fuzzing.md): `preskip=70000` was read, but
    /// OpusHead holds 16 bits, so the rebuilt recording's header would have said 4464.
    @Test func aPhoneStreamCodecFieldHoldsOnlyWhatAnOpusHeadCarries() throws {
        let phone = PhoneStream(serial: 7, preSkip: 0xFFFF, inputRate: 48000, channels: 2)
        #expect(try PhoneStream(codecDescription: phone.codecDescription) == phone)
        #expect(throws: TemoinError.self) {
            try PhoneStream(codecDescription: "opus-phone serial=7 preskip=65536 input-rate=48000 channels=2")
        }
        #expect(throws: TemoinError.self) {
            try StreamHeader(codec: "opus-phone serial=7 preskip=70000 input-rate=48000 channels=1")
        }
    }

    @Test func twentyMillisecondPacketsAndAPaddedLastFrame() throws {
        let encoder = try OpusEncoderState(settings: OpusSettings(inputRate: 16000))
        let packets = try encoder.encode(testSignal(seconds: 1.01, rate: 16000))
        #expect(packets.count == 51)
        #expect(packets.allSatisfy { OpusDecoderState.samples(in: $0) == 960 })
    }

    @Test func aSnapshotPutBackInThisProcessContinuesExactlyLikeTheUninterruptedEncoder() throws {
        let settings = try OpusSettings(inputRate: 48000)
        let signal = testSignal(seconds: 2, rate: 48000)
        let first = Array(signal.prefix(48000)), second = Array(signal.suffix(48000))
        let continuous = try OpusEncoderState(settings: settings)
        let expected = try continuous.encode(first) + continuous.encode(second)
        let interrupted = try OpusEncoderState(settings: settings)
        let head = try interrupted.encode(first)
        let resumed = try OpusEncoderState(settings: settings, snapshot: interrupted.snapshot)
        let tail = try resumed.encode(second)
        #expect(head + tail == expected)
        #expect(resumed.finalRange == continuous.finalRange)
        #expect(throws: TemoinError.self) {
            try OpusEncoderState(settings: settings, snapshot: EncoderSnapshot(state: [1, 2, 3]))
        }
    }

    @Test func resamplingKeepsDurationAndPitch() throws {
        let input = testSignal(seconds: 1, rate: 44100)
        let output = try Resampler.resample(input, from: 44100, to: 48000)
        #expect(output.count == 48000)
        func crossings(_ x: [Float]) -> Int { zip(x, x.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count }
        #expect(abs(crossings(input) - crossings(output)) <= 2)
    }

    @Test func thePacketStreamRoundTripsAndRefusesDamage() throws {
        let packets: [[UInt8]] = [[0x48, 1, 2], [0x48], [0x48, 9]]
        let stream = OpusPacketStream.encode(packets)
        #expect(stream.prefix(7) == [0, 0, 0, 3, 0x48, 1, 2])
        #expect(try OpusPacketStream.decode(stream) == packets)
        #expect(throws: TemoinError.self) { try OpusPacketStream.decode(Array(stream.dropLast())) }
        #expect(throws: TemoinError.self) { try OpusPacketStream.decode(stream + [0, 0]) }
        #expect(throws: TemoinError.self) { try OpusPacketStream.decode([0, 0, 0, 0]) }
        #expect(throws: TemoinError.self) { try OpusPacketStream.decode([0xff, 0xff, 0xff, 0xff, 1]) }
    }
}

struct OggOpusTests {
    let alert = AlertID("7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e")!

    /// A chunk encoded with `encoder`; a final chunk also flushes the encoder's look-ahead.
    func chunk(
        _ seq: UInt64, startMs: Int64, seconds: Double, encoder: OpusEncoderState, final: Bool = false
    ) throws -> RecordingChunk {
        let flush = final ? [Float](repeating: 0, count: OpusSettings.preSkip / 3) : []
        let packets = try encoder.encode(testSignal(seconds: seconds, rate: 16000) + flush)
        return RecordingChunk(
            seq: seq, captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + startMs),
            durationMicroseconds: UInt64(seconds * 1e6), codec: encoder.settings.codecDescription,
            library: OpusSettings.libraryVersion, packets: packets)
    }

    @Test func theHeadersFollowRFC7845() throws {
        let h = OggOpus.Header(inputRate: 44100, preSkip: 312, vendor: "libopus 1.3.1", comments: ["A=b"])
        #expect(h.identification == Array("OpusHead".utf8) + [1, 1, 0x38, 0x01, 0x44, 0xAC, 0, 0, 0, 0, 0])
        #expect(
            h.comment == Array("OpusTags".utf8) + [13, 0, 0, 0] + Array("libopus 1.3.1".utf8) + [
                1, 0, 0, 0, 3, 0, 0, 0,
            ] + Array("A=b".utf8))
        #expect(OggOpus.serial(alert: alert) == OggOpus.serial(alert: alert))
        #expect(OggOpus.serial(alert: alert) != OggOpus.serial(alert: AlertID("00000000000000000000000000000000")!))
    }

    @Test func theSameChunksAlwaysGiveTheSameBytes() throws {
        let encoder = try OpusEncoderState(settings: OpusSettings(inputRate: 16000))
        let chunks = try [
            chunk(0, startMs: 0, seconds: 1, encoder: encoder), chunk(1, startMs: 1000, seconds: 1, encoder: encoder),
        ]
        let a = try Recording(origin: "example.org/t", alert: alert, chunks: chunks)
        let b = try Recording(origin: "example.org/t", alert: alert, chunks: chunks.reversed())
        #expect(a.bytes == b.bytes)
        // The last chunk was not marked final: the encoder's 312-sample look-ahead was never flushed.
        #expect(a.durationSamples == 96000 - 312)
        #expect(Array(a.bytes.prefix(4)) == Array("OggS".utf8))
    }

    /// Capture times come from the phone: gaps 6 h apart, again and again, fill at most 6 h of
    /// lost frames over the whole recording (not 6 h per gap: gigabytes in memory).
    @Test func theLostFramesOfAllGapsTogetherAreBounded() throws {
        let settings = try OpusSettings(inputRate: 16000)
        let encoder = try OpusEncoderState(settings: settings)
        let packets = try encoder.encode([Float](repeating: 0, count: 16000))
        let sixHours: Int64 = 6 * 3600 * 1000
        let chunks = (0..<6).map { i in
            RecordingChunk(
                seq: UInt64(2 * i),
                captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(i) * sixHours),
                durationMicroseconds: 1_000_000, codec: settings.codecDescription, library: "libopus", packets: packets)
        }
        let recording = try Recording(origin: "o", alert: AlertID("00000000000000000000000000000000")!, chunks: chunks)
        #expect(Int64(recording.filledFrames) <= Recording.maximumGapFrames)
        #expect(recording.missing.count == 5)
    }

    @Test func aMissingChunkIsFilledWithLostFramesSoPlaybackTimeStaysTrue() throws {
        let encoder = try OpusEncoderState(settings: OpusSettings(inputRate: 16000))
        let c0 = try chunk(0, startMs: 0, seconds: 1, encoder: encoder)
        _ = try chunk(1, startMs: 1000, seconds: 1, encoder: encoder)
        let c2 = try chunk(2, startMs: 2000, seconds: 1, encoder: encoder, final: true)
        let r = try Recording(origin: "example.org/t", alert: alert, chunks: [c0, c2])
        #expect(r.missing == [1...1])
        #expect(r.filledFrames == 50)
        #expect(r.durationSamples == 3 * 48000)
        // Every packet decodes, the lost frames by concealment.
        let decoder = try OpusDecoderState()
        var total = 0
        for p in c0.packets + Array(repeating: OggOpus.lostFrame(like: c0.packets.last![0]), count: 50) + c2.packets {
            total += try decoder.decode(p).count
        }
        #expect(total == 151 * 960)
    }

    @Test func noAudioIsAClearError() {
        #expect(throws: TemoinError.self) { try Recording(origin: "o", alert: alert, chunks: []) }
    }
}

struct OpusPacketDurationTests {
    /// The pure TOC reading of TemoinRecording agrees with libopus on every TOC byte and frame count.
    @Test func packetDurationsFromTheTOCMatchLibopus() {
        for toc in 0...255 {
            let seconds: [[UInt8]] =
                (toc & 3) == 3
                ? (0...63).map { [UInt8(toc), UInt8($0)] + [UInt8](repeating: 0, count: 4) } : [[UInt8(toc), 0, 0, 0]]
            for packet in seconds {
                #expect(
                    OpusPacket.sampleCount(packet) == OpusDecoderState.samples(in: packet),
                    "toc \(toc) \(packet.prefix(2))")
            }
        }
        #expect(OpusPacket.sampleCount([]) == nil)
    }
}
