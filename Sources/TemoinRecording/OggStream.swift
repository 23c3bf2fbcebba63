internal import CTemoinOgg
#if canImport(Glibc)
import Glibc
#endif
public import TemoinCore

/// Ogg in bounded memory, for files of any size: the demuxer reads a file descriptor in 64 KiB
/// blocks and hands each packet to a closure without copying it; the muxer writes the very
/// pages `OggOpus.mux` writes, one packet at a time, to a sink.
extension OggDemux {
    /// Calls `body` with every packet of a one-stream Ogg file, in order, until it returns false.
    /// A packet larger than `maximumPacket` (a page chain that never ends a packet) is refused.
    public static func forEachPacket(
        fd: Int32, maximumPacket: Int = 1 << 20,
        _ body: (UnsafeRawBufferPointer) throws(TemoinError) -> Bool
    ) throws(TemoinError) {
        var offset: off_t = 0
        try forEachPacket(
            read: { buffer, capacity throws(TemoinError) in
                let n = pread(fd, buffer, capacity, offset)
                guard n >= 0 else { throw TemoinError(.oggRead, "the recording could not be read") }
                offset += off_t(n)
                return n
            }, maximumPacket: maximumPacket, body)
    }

    /// The one page-and-packet loop of every Ogg reader here: `read` fills libogg's buffer (at most
    /// `capacity` bytes; 0 at the end), pages are checked and fed to one stream, packets handed on.
    /// Public for readers of other sources (a member of a zip bundle).
    public static func forEachPacket(
        read: (_ buffer: UnsafeMutableRawPointer, _ capacity: Int) throws(TemoinError) -> Int,
        maximumPacket: Int,
        _ body: (UnsafeRawBufferPointer) throws(TemoinError) -> Bool
    ) throws(TemoinError) {
        let sync = UnsafeMutablePointer<ogg_sync_state>.allocate(capacity: 1)
        let stream = UnsafeMutablePointer<ogg_stream_state>.allocate(capacity: 1)
        defer { sync.deallocate(); stream.deallocate() }
        ogg_sync_init(sync)
        defer { ogg_sync_clear(sync) }
        var started = false
        defer { if started { ogg_stream_clear(stream) } }
        let block = 64 * 1024
        var any = false
        var page = ogg_page()
        var packet = ogg_packet()
        while true {
            guard let buffer = ogg_sync_buffer(sync, block) else {
                throw TemoinError(.oggFailure, "libogg could not allocate a buffer")
            }
            let n = try read(UnsafeMutableRawPointer(buffer), block)
            if n == 0 { break }
            any = true
            ogg_sync_wrote(sync, n)
            while true {
                let r = ogg_sync_pageout(sync, &page)
                if r == 0 { break }
                guard r > 0 else {
                    throw TemoinError(.oggBadPage, category: .invalidEvidence, "the recording has a damaged page")
                }
                if !started {
                    ogg_stream_init(stream, ogg_page_serialno(&page))
                    started = true
                }
                guard ogg_stream_pagein(stream, &page) == 0 else {
                    throw TemoinError(.oggTwoStreams, "the recording holds more than one stream")
                }
                while true {
                    let p = ogg_stream_packetout(stream, &packet)
                    if p == 0 { break }
                    guard p > 0 else { throw TemoinError(.oggGap, "pages are missing in the recording") }
                    guard try body(UnsafeRawBufferPointer(start: packet.packet, count: packet.bytes)) else { return }
                }
                guard stream.pointee.body_fill - stream.pointee.body_returned <= maximumPacket else {
                    throw TemoinError(.oggPacketTooLarge, "the recording holds a packet larger than any Opus packet")
                }
            }
        }
        guard any else { throw .malformed(.oggNoPages, "the recording is empty") }
    }
}

/// `OggOpus.mux`, one packet at a time: the same bytes for the same packets, pages handed to
/// `sink` as they are flushed. The number of audio packets is known in advance (the last one
/// carries end-of-stream and the trimmed granule position).
public final class OggOpusWriter {
    private let stream: UnsafeMutablePointer<ogg_stream_state>
    private let sink: (UnsafeRawBufferPointer) -> Void
    private let audioPackets: Int
    private var packetNumber: Int64 = 0
    private var written = 0
    private var granule: Int64 = 0

    public init(
        serial: UInt32, header: OggOpus.Header, audioPackets: Int, sink: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws(TemoinError) {
        guard audioPackets > 0 else { throw .malformed(.oggNoAudio, "a recording needs at least one audio packet") }
        stream = UnsafeMutablePointer<ogg_stream_state>.allocate(capacity: 1)
        guard ogg_stream_init(stream, Int32(bitPattern: serial)) == 0 else {
            stream.deallocate()
            throw TemoinError(.oggFailure, "libogg could not start a stream")
        }
        self.sink = sink
        self.audioPackets = audioPackets
        let identification = header.identification, comment = header.comment
        guard identification.withUnsafeBytes({ put($0, granule: 0, bos: true, eos: false) }) else { throw Self.refused }
        flush()
        guard comment.withUnsafeBytes({ put($0, granule: 0, bos: false, eos: false) }) else { throw Self.refused }
        flush()
    }

    deinit {
        ogg_stream_clear(stream)
        stream.deallocate()
    }

    /// Samples of all audio packets given so far (48 kHz).
    public var decodableSamples: Int64 { granule }

    /// Adds the next audio packet; for the last one, `finalGranule` trims the stream.
    public func append(_ packet: UnsafeRawBufferPointer, finalGranule: Int64? = nil) throws(TemoinError) {
        guard written < audioPackets else { throw .malformed(.oggTooManyPackets, "more audio packets than announced") }
        guard let n = OpusPacket.sampleCount(Array(packet.prefix(2))) else {
            throw .malformed(.opusBadPacket, "audio packet \(written) has an invalid Opus TOC")
        }
        granule += Int64(n)
        let last = written == audioPackets - 1
        guard put(packet, granule: last ? min(granule, finalGranule ?? granule) : granule, bos: false, eos: last) else {
            throw Self.refused
        }
        written += 1
        if last || written % OggOpus.packetsPerPage == 0 { flush() }
    }

    private static let refused = TemoinError(.oggFailure, "libogg refused a packet")

    private func put(_ data: UnsafeRawBufferPointer, granule: Int64, bos: Bool, eos: Bool) -> Bool {
        var p = ogg_packet()
        p.packet = UnsafeMutablePointer(mutating: data.baseAddress?.assumingMemoryBound(to: UInt8.self))
        p.bytes = data.count
        p.b_o_s = bos ? 1 : 0
        p.e_o_s = eos ? 1 : 0
        p.granulepos = granule
        p.packetno = packetNumber
        guard ogg_stream_packetin(stream, &p) == 0 else { return false }
        packetNumber += 1
        return true
    }

    private func flush() {
        var page = ogg_page()
        while ogg_stream_flush(stream, &page) != 0 {
            sink(UnsafeRawBufferPointer(start: page.header, count: page.header_len))
            sink(UnsafeRawBufferPointer(start: page.body, count: page.body_len))
        }
    }
}

extension Recording {
    /// The OpusTags comments of an alert's recording (Docs/audio.md): shared by `Recording` and
    /// the streaming check of `temoin-verify`.
    public static func comments(
        origin: String, alert: AlertID, firstSeq: UInt64, lastSeq: UInt64, captureStart: Timestamp,
        missing: [ClosedRange<UInt64>]
    ) -> [String] {
        [
            "TEMOIN_LOG=\(origin)",
            "TEMOIN_ALERT=\(alert)",
            "TEMOIN_FIRST_SEQ=\(firstSeq)",
            "TEMOIN_LAST_SEQ=\(lastSeq)",
            "TEMOIN_CAPTURE_START=\(captureStart)",
            "TEMOIN_MISSING=\(missing.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))",
            "COMMENT=Dérivé Opus avec perte ; les originaux font foi. / Lossy Opus derivative; the originals are "
                + "the evidence.",
        ]
    }
}
