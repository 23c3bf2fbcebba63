import Foundation
internal import CTemoinOpus
internal import CTemoinShim
public import TemoinCore
public import TemoinRecording

extension OpusSettings {
    /// libopus's version string, recorded in `codec-library`.
    public static var libraryVersion: String { String(cString: opus_get_version_string()) }
}

/// An encoder's whole state, to put it back *in this process* after a failed commit. A libopus
/// state holds pointers to libopus's static tables: it is never stored, nor restored in another
/// process (DESIGN §3). After a restart, an alert's stream resumes from a fresh encoder primed with
/// the end of the previous chunk's audio (`prime(_:)`), read from the ledger.
public struct EncoderSnapshot: Sendable, Equatable {
    public let state: [UInt8]

    public init(state: [UInt8]) {
        self.state = state
    }
}

/// One libopus encoder whose whole state lives in memory we own, so that it can be copied within
/// this process (a failed commit puts it back as it was). Not thread-safe: one alert's pipeline
/// owns it.
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
        precondition(
            Int(lookahead) * 48000 / settings.sampleRate == OpusSettings.preSkip, "libopus VOIP lookahead changed")
    }

    /// An encoder restored from a snapshot taken in this process from an encoder with the same settings.
    public init(settings: OpusSettings, snapshot: EncoderSnapshot) throws(TemoinError) {
        let fresh = try OpusEncoderState(settings: settings)
        guard snapshot.state.count == fresh.size else {
            throw TemoinError(
                .opusBadSnapshot,
                "the encoder snapshot does not fit this libopus (\(snapshot.state.count) bytes, expected \(fresh.size))"
            )
        }
        self.settings = settings
        size = fresh.size
        memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        snapshot.state.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: size) }
    }

    deinit { memory.deallocate() }

    /// The whole encoder state, to put back in this process.
    public var snapshot: EncoderSnapshot {
        EncoderSnapshot(state: Array(UnsafeRawBufferPointer(start: memory, count: size)))
    }

    /// Feeds audio that was already encoded (the end of the previous chunk, at the encoder rate
    /// and with the same frame alignment) and drops the packets: the encoder's look-ahead,
    /// prediction and rate control take on the state they had, so the next chunk joins without
    /// a click.
    public func prime(_ samples: [Float]) throws(TemoinError) {
        _ = try encode(samples)
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
        TemoinError(.opusFailure, "libopus failed to \(what): \(String(cString: opus_strerror(rc)))")
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
        guard n >= 0 else {
            throw TemoinError(.opusBadPacket, "an Opus packet does not decode: \(String(cString: opus_strerror(n)))")
        }
        return Array(out.prefix(Int(n)))
    }

    /// Samples (at 48 kHz) a packet decodes to, from its TOC and frame count.
    public static func samples(in packet: [UInt8]) -> Int? {
        let n = opus_packet_get_nb_samples(packet, Int32(packet.count), 48000)
        return n > 0 ? Int(n) : nil
    }
}
