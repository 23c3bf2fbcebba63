#if canImport(Glibc)
import Glibc
#endif
import TemoinAudio
import TemoinCore
import TemoinLedger
import TemoinIngest
import TemoinRecording

enum AudioTargets {
    /// The service's cap on a chunk's duration (`AudioLimits.maximumChunkMicroseconds`).
    static let cap = AudioLimits().maximumChunkMicroseconds

    static func wav(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let audio = try? WAV.parse(bytes) else { return .refused }
        let format = audio.format
        try check(
            PCMFormat.rates.contains(format.sampleRate) && (1...PCMFormat.maximumChannels).contains(format.channels)
                && !format.bigEndian,
            "WAV format within the accepted rates and channels: \(format)")
        try check(audio.data.startIndex >= 20 && audio.data.endIndex <= bytes.count, "WAV samples lie inside the file")
        try check(!audio.data.isEmpty && audio.data.count % format.blockAlign == 0, "WAV data is whole frames")
        let samples = audio.monoSamples()
        try check(samples.count == audio.frameCount, "one mono sample per frame")
        try check(samples.allSatisfy { $0.isFinite && $0 >= -1 && $0 <= 1 }, "samples are finite and within [-1, 1]")
        try check(
            audio.durationMicroseconds == UInt64(audio.frameCount) * 1_000_000 / UInt64(format.sampleRate),
            "duration from the frame count")
        // The canonical WAV of the same audio reads back the same format and samples.
        guard let again = try? WAV.parse(WAV.encode(format: format, data: audio.data)) else {
            throw Broken(invariant: "the canonical WAV of parsed audio does not parse")
        }
        try check(
            again.format == format && again.data.elementsEqual(audio.data),
            "canonical WAV re-encoding reads back the same audio")
        // The service's path: the same duration, refused only beyond the cap.
        switch Result(catching: { () throws(TemoinError) in
            try OriginalFormat.wav.decode(bytes, maximumMicroseconds: cap)
        }) {
        case .success(let d):
            try check(
                d.durationMicroseconds == audio.durationMicroseconds && d.samples.count == samples.count
                    && d.durationMicroseconds <= cap,
                "the ingest path decodes what WAV.parse read, within the cap")
        case .failure(let e):
            try check(
                e.code == "audio.too-long" && audio.durationMicroseconds > cap,
                "the ingest path refuses a parsed WAV only for its length (\(e.code))")
        }
        return .accepted
    }

    static func oggChunk(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        let decoded: OggOpusReader.Decoded
        switch Result(catching: { () throws(TemoinError) in try OggOpusReader.decode(bytes, maximumMicroseconds: cap) })
        {
        case .success(let d): decoded = d
        case .failure(let e):
            try check(
                e.category != .environment,
                "a hostile chunk is refused as input, not as an environment failure (\(e.code))")
            return .refused
        }
        try check(
            decoded.durationMicroseconds <= cap, "decoded duration \(decoded.durationMicroseconds) µs within the cap")
        try check(!decoded.packets.isEmpty, "an accepted chunk has audio packets")
        var declared = 0
        for p in decoded.packets {
            guard let n = OpusPacket.sampleCount(p) else {
                throw Broken(invariant: "an accepted packet has a valid TOC")
            }
            try check(
                p.count <= OpusPacketStream.maximumPacket,
                "an accepted packet is at most \(OpusPacketStream.maximumPacket) bytes")
            declared += n
        }
        let preSkip = decoded.head?.preSkip ?? 0
        try check(
            decoded.samples.count == max(0, declared - preSkip),
            "decoded samples (\(decoded.samples.count)) = TOC samples (\(declared)) − pre-skip (\(preSkip))")
        try check(decoded.samples.allSatisfy { $0.isFinite }, "decoded samples are finite")
        return .accepted
    }

    /// What the verifier reads from a bundle's recording.opus and what the ledger stores as an
    /// Opus packet stream.
    static func oggRecording(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        var outcome = Outcome.refused
        // The raw page cutter: whole pages, in order, from the start.
        let pages = OggDemux.pages(bytes)
        let joined = Array(pages.joined())
        try check(joined.count <= bytes.count && bytes.starts(with: joined), "pages are consecutive slices of the file")
        try check(pages.allSatisfy { $0.starts(with: Array("OggS".utf8)) }, "every page starts with OggS")

        // The two demuxers (whole buffer; file descriptor in blocks) read the same packets.
        let inMemory = Result { () throws(TemoinError) in try OggDemux.packets(bytes) }
        if let fromFile = try? packetsFromFile(bytes), case .success(let packets) = inMemory {
            try check(packets == fromFile, "the streaming demuxer reads the packets the in-memory one reads")
            outcome = .accepted
        }

        // The stored packet stream is canonical: decode → encode gives the same bytes.
        if let packets = try? OpusPacketStream.decode(bytes) {
            try check(OpusPacketStream.encode(packets) == bytes, "packet stream round trip")
            try check(
                packets.allSatisfy { (1...OpusPacketStream.maximumPacket).contains($0.count) },
                "packet sizes within bounds")
            outcome = .accepted
        }
        return outcome
    }

    /// `OggDemux.forEachPacket` over the bytes, through an unlinked temporary file.
    static func packetsFromFile(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var template = Array("/tmp/temoin-fuzz-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw TemoinError(.fuzzTmp, "no temporary file") }
        unlink(template)
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw TemoinError(.fuzzTmp, "short write") }
        var out = [[UInt8]]()
        try OggDemux.forEachPacket(fd: fd) { p throws(TemoinError) in
            out.append(Array(p))
            return true
        }
        return out
    }
}
