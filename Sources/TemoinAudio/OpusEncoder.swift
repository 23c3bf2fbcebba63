import Foundation
internal import CTemoinOpus
internal import CTemoinShim
public import TemoinCore
public import TemoinRecording

extension OpusSettings {
    /// libopus's version string, recorded in `codec-library`.
    public static var libraryVersion: String { String(cString: opus_get_version_string()) }
}


/// Where libopus is mapped in this process. An encoder state holds pointers to libopus's static
/// tables (the CELT mode, SILK codebooks), which another process maps elsewhere (ASLR).
public struct LibraryMapping: Sendable, Hashable {
    public let start: UInt64
    public let end: UInt64

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }

    /// Read from /proc/self/maps: the lowest start and highest end of the mappings of libopus.
    public static let current: LibraryMapping? = {
        // /proc files report a size of 0: read to the end rather than by size.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        var start = UInt64.max, end: UInt64 = 0
        for line in text.split(separator: "\n") where line.contains("/libopus.so") {
            let range = line.split(separator: " ")[0].split(separator: "-")
            guard range.count == 2, let a = UInt64(range[0], radix: 16), let b = UInt64(range[1], radix: 16) else { continue }
            start = min(start, a)
            end = max(end, b)
        }
        return end > start ? LibraryMapping(start: start, end: end) : nil
    }()

    func contains(_ word: UInt64) -> Bool { word >= start && word < end }
}

/// An encoder's whole state and where libopus was mapped when it was taken.
public struct EncoderSnapshot: Sendable, Equatable {
    public let state: [UInt8]
    public let mapping: LibraryMapping?

    public init(state: [UInt8], mapping: LibraryMapping?) {
        self.state = state
        self.mapping = mapping
    }
}

/// One libopus encoder whose whole state lives in memory we own, so it can be snapshotted and
/// restored byte for byte. libopus states hold no pointer into themselves, but they do hold
/// pointers to libopus's static tables: restoring in another process relocates those words by
/// the difference between the two mappings of libopus, and checks the result against a fresh
/// encoder's pointer words. Not thread-safe: one alert's pipeline owns it.
public final class OpusEncoderState {
    public let settings: OpusSettings
    private let size: Int
    private let memory: UnsafeMutableRawPointer

    private var encoder: OpaquePointer { OpaquePointer(memory) }

    public init(settings: OpusSettings) throws(TemoinError) {
        self.settings = settings
        size = Int(opus_encoder_get_size(1))
        memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        let rc = opus_encoder_init(OpaquePointer(memory), Int32(settings.sampleRate), 1, OPUS_APPLICATION_VOIP)
        guard rc == OPUS_OK else {
            memory.deallocate()
            throw OpusEncoderState.error(rc, "initialize the encoder")
        }
        try check(temoin_opus_set_bitrate(encoder, Int32(settings.bitrate)), "set the bitrate")
        try check(temoin_opus_set_complexity(encoder, Int32(settings.complexity)), "set the complexity")
        try check(temoin_opus_set_signal_voice(encoder), "set the signal type")
        try check(temoin_opus_set_vbr(encoder, 1), "enable VBR")
        var lookahead: Int32 = 0
        try check(temoin_opus_get_lookahead(encoder, &lookahead), "read the lookahead")
        precondition(Int(lookahead) * 48000 / settings.sampleRate == OpusSettings.preSkip, "libopus VOIP lookahead changed")
    }

    /// Restores an encoder from `snapshot` (taken from an encoder with the same settings and
    /// library, in this process or another). Throws if the state cannot be safely relocated.
    public init(settings: OpusSettings, snapshot: EncoderSnapshot) throws(TemoinError) {
        let fresh = try OpusEncoderState(settings: settings)
        guard snapshot.state.count == fresh.size else {
            throw TemoinError(.environment, code: "opus.bad-snapshot",
                              "the encoder snapshot does not fit this libopus (\(snapshot.state.count) bytes, expected \(fresh.size))")
        }
        var state = snapshot.state
        let here = LibraryMapping.current
        if snapshot.mapping != here {
            guard let from = snapshot.mapping, let to = here, from.end - from.start == to.end - to.start else {
                throw TemoinError(.environment, code: "opus.snapshot-elsewhere", "the encoder snapshot was taken with libopus mapped differently")
            }
            state.withUnsafeMutableBytes { s in
                for offset in stride(from: 0, to: s.count - 7, by: 8) {
                    let word = s.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    if from.contains(word) {
                        s.storeBytes(of: word - from.start + to.start, toByteOffset: offset, as: UInt64.self)
                    }
                }
            }
            let template = fresh.snapshot.state
            // Every pointer a fresh encoder holds must now be a pointer into this libopus too.
            let valid = template.withUnsafeBytes { t in
                state.withUnsafeBytes { s in
                    stride(from: 0, to: t.count - 7, by: 8).allSatisfy { offset in
                        !to.contains(t.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                            || to.contains(s.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    }
                }
            }
            guard valid else {
                throw TemoinError(.environment, code: "opus.snapshot-elsewhere", "the encoder snapshot cannot be relocated safely")
            }
        }
        self.settings = settings
        size = fresh.size
        memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        state.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: size) }
    }

    deinit { memory.deallocate() }

    /// The whole encoder state, to resume exactly where it stopped.
    public var snapshot: EncoderSnapshot {
        EncoderSnapshot(state: Array(UnsafeRawBufferPointer(start: memory, count: size)), mapping: LibraryMapping.current)
    }

    /// Encodes `samples` (mono, at the encoder rate) as 20 ms packets; a final partial frame is
    /// completed with zeros.
    public func encode(_ samples: [Float]) throws(TemoinError) -> [[UInt8]] {
        let frame = settings.frameSize
        var packets = [[UInt8]]()
        packets.reserveCapacity((samples.count + frame - 1) / frame)
        var buffer = [UInt8](repeating: 0, count: 1500)
        var start = 0
        var padded = [Float](repeating: 0, count: frame)
        while start < samples.count {
            let n = min(frame, samples.count - start)
            let length: Int32
            if n == frame {
                length = samples.withUnsafeBufferPointer { s in
                    opus_encode_float(encoder, s.baseAddress! + start, Int32(frame), &buffer, Int32(buffer.count))
                }
            } else {
                for i in 0..<frame { padded[i] = i < n ? samples[start + i] : 0 }
                length = opus_encode_float(encoder, padded, Int32(frame), &buffer, Int32(buffer.count))
            }
            guard length > 0 else { throw OpusEncoderState.error(length, "encode a frame") }
            packets.append(Array(buffer.prefix(Int(length))))
            start += frame
        }
        return packets
    }

    /// The range coder's final state after the last packet (equal states give equal values).
    public var finalRange: UInt32 {
        var r: UInt32 = 0
        _ = temoin_opus_get_final_range(encoder, &r)
        return r
    }

    private func check(_ rc: Int32, _ what: String) throws(TemoinError) {
        guard rc == OPUS_OK else { throw OpusEncoderState.error(rc, what) }
    }

    /// The one place where libopus status codes become errors.
    static func error(_ rc: Int32, _ what: String) -> TemoinError {
        TemoinError(.environment, code: "opus.failure", "libopus failed to \(what): \(String(cString: opus_strerror(rc)))")
    }
}

/// A libopus decoder at 48 kHz mono, for checks (tests, the verifier's duration report).
public final class OpusDecoderState {
    private let decoder: OpaquePointer

    public init() throws(TemoinError) {
        var rc: Int32 = 0
        guard let d = opus_decoder_create(48000, 1, &rc), rc == OPUS_OK else {
            throw OpusEncoderState.error(rc, "create a decoder")
        }
        decoder = d
    }

    deinit { opus_decoder_destroy(decoder) }

    /// Decodes one packet (a 1-byte TOC-only packet means a lost frame: concealment).
    public func decode(_ packet: [UInt8]) throws(TemoinError) -> [Float] {
        var out = [Float](repeating: 0, count: 5760)
        let n = opus_decode_float(decoder, packet, Int32(packet.count), &out, 5760, 0)
        guard n >= 0 else { throw TemoinError(.unusableInput, code: "opus.bad-packet", "an Opus packet does not decode: \(String(cString: opus_strerror(n)))") }
        return Array(out.prefix(Int(n)))
    }

    /// Samples (at 48 kHz) a packet decodes to, from its TOC and frame count.
    public static func samples(in packet: [UInt8]) -> Int? {
        let n = opus_packet_get_nb_samples(packet, Int32(packet.count), 48000)
        return n > 0 ? Int(n) : nil
    }
}
