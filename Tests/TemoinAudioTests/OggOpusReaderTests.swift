import Foundation
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinTestSupport
import Testing

/// Ogg Opus chunks as a phone would send them, made with opusenc (opus-tools), not by us.
@Suite(.tags(.process))
struct OggOpusReaderTests {
    static func opusenc(seconds: Double) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-ogg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let format = try PCMFormat(encoding: .signed16, sampleRate: 48000, channels: 1)
        let samples = testSignal(seconds: seconds, rate: 48000).flatMap { f -> [UInt8] in
            let v = UInt16(bitPattern: Int16(f * 30000))
            return [UInt8(v & 0xff), UInt8(v >> 8)]
        }
        try Data(WAV.encode(format: format, data: samples[...])).write(to: dir.appendingPathComponent("in.wav"))
        let r = try runProcess(
            "opusenc",
            [
                "--quiet", "--bitrate", "32", dir.appendingPathComponent("in.wav").path,
                dir.appendingPathComponent("out.opus").path,
            ])
        #expect(r.status == 0, "opusenc (opus-tools) is installed by Scripts/install-packages")
        return try [UInt8](Data(contentsOf: dir.appendingPathComponent("out.opus")))
    }

    @Test func aWholeOggOpusFileDecodesToItsDuration() throws {
        let file = try Self.opusenc(seconds: 2)
        let d = try OggOpusReader.decode(file)
        #expect(d.hadHeaders)
        #expect(abs(Int(d.durationMicroseconds) - 2_000_000) <= 20_000, "\(d.durationMicroseconds)")
    }

    @Test func aStreamCutAtPagesDecodesChunkByChunk() throws {
        let pages = OggDemux.pages(try Self.opusenc(seconds: 3))
        #expect(pages.count >= 4)
        let first = try OggOpusReader.decode(Array(pages.prefix(3).joined()))
        let rest = try OggOpusReader.decode(Array(pages.dropFirst(3).joined()))
        #expect(first.hadHeaders && !rest.hadHeaders)
        #expect(first.serial == rest.serial)
        #expect(abs(Int(first.durationMicroseconds + rest.durationMicroseconds) - 3_000_000) <= 40_000)
    }

    @Test func hostileOggIsRefusedWithAClearError() throws {
        let file = try Self.opusenc(seconds: 1)
        var damaged = file
        damaged[damaged.count / 2] ^= 0xff
        let other = try Self.opusenc(seconds: 1)
        var otherSerial = other
        otherSerial[14] ^= 0x01 // the serial number field of the first page (its CRC now fails too)
        for (name, bytes) in [
            ("not ogg", Array("RIFF....".utf8)), ("damaged page", damaged),
            ("headers only", Array(OggDemux.pages(file).prefix(2).joined())), ("empty", [UInt8]()),
        ] {
            #expect(throws: TemoinError.self, "\(name)") { try OggOpusReader.decode(bytes) }
        }
        #expect(throws: TemoinError.self) {
            try OggOpusReader.decode(file + OggDemux.pages(otherSerial).dropFirst(0).flatMap { $0 })
        }
    }
}
