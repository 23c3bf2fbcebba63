internal import CTemoinOgg
public import TemoinCore
import TemoinRecording

/// Reads an Ogg Opus chunk sent by a phone: one logical stream, its audio packets decoded with
/// libopus to mono 48 kHz. A chunk may carry the stream's headers (the first one does) or only
/// audio pages (later ones). Hostile input gets a clear error, never a crash.
public enum OggOpusReader {
    public struct Decoded: Sendable {
        public let samples: [Float]
        public let serial: UInt32
        public let hadHeaders: Bool
        /// The audio packets, as sent.
        public let packets: [[UInt8]]
        /// From OpusHead, when the chunk carries it.
        public let head: (preSkip: Int, inputRate: Int, channels: Int)?
        public let vendor: String?
        public let firstPageSequence: Int
        public let lastPageSequence: Int
        /// No packet continues across the chunk's first or last page boundary.
        public let wholePackets: Bool
        public var durationMicroseconds: UInt64 { UInt64(samples.count) * 1_000_000 / 48000 }
    }

    /// Reads and decodes a chunk. Its duration is read from the packets' TOC bytes first and
    /// checked against `maximumMicroseconds` before anything is decoded: a small chunk of tiny
    /// packets cannot make the service allocate hours of samples.
    public static func decode(_ bytes: [UInt8], maximumMicroseconds: UInt64 = .max) throws(TemoinError) -> Decoded {
        guard bytes.count >= 27, Array(bytes.prefix(4)) == Array("OggS".utf8) else {
            throw .malformed(.oggNotOgg, "not an Ogg stream (no OggS capture pattern)")
        }
        let sync = UnsafeMutablePointer<ogg_sync_state>.allocate(capacity: 1)
        let stream = UnsafeMutablePointer<ogg_stream_state>.allocate(capacity: 1)
        defer { sync.deallocate(); stream.deallocate() }
        ogg_sync_init(sync)
        defer { ogg_sync_clear(sync) }
        guard let buffer = ogg_sync_buffer(sync, bytes.count) else {
            throw TemoinError(.oggFailure, "libogg could not allocate a buffer")
        }
        bytes.withUnsafeBytes { buffer.update(from: $0.bindMemory(to: CChar.self).baseAddress!, count: bytes.count) }
        ogg_sync_wrote(sync, bytes.count)

        let maximumPackets = maximumMicroseconds == .max ? Int.max : Int(min(maximumMicroseconds / 2500, 1 << 30)) + 2
        var serial: UInt32?
        var streamReady = false
        defer { if streamReady { ogg_stream_clear(stream) } }
        var packets = [[UInt8]]()
        var headers = false
        var page = ogg_page()
        var pagesIn = 0
        var firstSequence = -1, lastSequence = -1
        var whole = true
        while true {
            let r = ogg_sync_pageout(sync, &page)
            if r == 0 { break }
            guard r > 0 else { throw .malformed(.oggBadPage, "the Ogg data has a damaged page (bad CRC or framing)") }
            let s = UInt32(bitPattern: ogg_page_serialno(&page))
            if serial == nil {
                serial = s
                ogg_stream_init(stream, Int32(bitPattern: s))
                streamReady = true
            }
            guard s == serial else {
                throw .malformed(.oggTwoStreams, "an audio chunk holds one logical Ogg stream only")
            }
            let sequence = Int(ogg_page_pageno(&page))
            if firstSequence < 0 {
                firstSequence = sequence
                whole = ogg_page_continued(&page) == 0
            }
            lastSequence = sequence
            guard ogg_stream_pagein(stream, &page) == 0 else { throw .malformed(.oggBadPage, "libogg refused a page") }
            pagesIn += 1
            var packet = ogg_packet()
            while true {
                let p = ogg_stream_packetout(stream, &packet)
                if p == 0 { break }
                // A later chunk starts mid-stream: a hole before its first page is expected.
                if p < 0 && pagesIn == 1 { continue }
                guard p > 0 else { throw .malformed(.oggGap, "pages are missing inside the chunk") }
                // Every Opus packet lasts at least 2.5 ms: more packets than the longest chunk could
                // hold is refused while demuxing, before a copy per tiny packet adds up.
                guard packets.count < maximumPackets else {
                    throw .malformed(
                        .audioTooLong,
                        "the chunk holds more Opus packets than \(maximumMicroseconds / 1000) ms of audio")
                }
                packets.append(Array(UnsafeBufferPointer(start: packet.packet, count: packet.bytes)))
            }
        }
        guard let serial else { throw .malformed(.oggNoPages, "no complete Ogg page") }
        var preSkip = 0
        var head: (preSkip: Int, inputRate: Int, channels: Int)?
        var vendor: String?
        if let first = packets.first, first.starts(with: Array("OpusHead".utf8)) {
            guard first.count >= 19, first[8] == 1, first[18] == 0, (1...2).contains(first[9]) else {
                throw .malformed(.oggBadHead, "unsupported OpusHead (version 1, mono or stereo, mapping family 0)")
            }
            preSkip = Int(first[10]) | Int(first[11]) << 8
            let rate = Int(first[12]) | Int(first[13]) << 8 | Int(first[14]) << 16 | Int(first[15]) << 24
            head = (preSkip, rate, Int(first[9]))
            packets.removeFirst()
            guard let tags = packets.first, tags.starts(with: Array("OpusTags".utf8)), tags.count >= 12 else {
                throw .malformed(.oggBadHead, "OpusHead must be followed by OpusTags")
            }
            let length = Int(tags[8]) | Int(tags[9]) << 8 | Int(tags[10]) << 16 | Int(tags[11]) << 24
            if length <= tags.count - 12 { vendor = String(decoding: tags[12..<12 + length], as: UTF8.self) }
            packets.removeFirst()
            headers = true
        }
        guard !packets.isEmpty else { throw .malformed(.audioEmpty, "the Ogg chunk holds no audio packet") }
        var total = 0
        for p in packets {
            guard let n = OpusPacket.sampleCount(p) else {
                throw .malformed(.opusBadPacket, "an Opus packet has an invalid TOC or frame count")
            }
            total += n
        }
        let declared = UInt64(max(0, total - preSkip)) * 1_000_000 / 48000
        guard declared <= maximumMicroseconds else {
            throw .malformed(
                .audioTooLong, "the chunk lasts \(declared / 1000) ms, more than \(maximumMicroseconds / 1000) ms")
        }
        let decoder = try OpusDecoderState()
        var samples = [Float]()
        for p in packets {
            guard !p.starts(with: Array("OpusHead".utf8)) else {
                throw .malformed(.oggBadHead, "OpusHead in the middle of a stream")
            }
            samples += try decoder.decode(p)
        }
        if preSkip > 0 { samples.removeFirst(min(preSkip, samples.count)) }
        return Decoded(
            samples: samples, serial: serial, hadHeaders: headers, packets: packets, head: head, vendor: vendor,
            firstPageSequence: firstSequence, lastPageSequence: lastSequence, wholePackets: whole)
    }
}
