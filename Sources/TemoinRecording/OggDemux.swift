internal import CTemoinOgg
public import TemoinCore

/// Reads back the packets of a one-stream Ogg file, for checking a recording against the ledger.
public enum OggDemux {
    /// The raw pages of an Ogg stream, cut by their headers (no CRC check: that is libogg's job
    /// when the pages are read). A phone streams its Opus in such pages, a few per chunk.
    public static func pages(_ bytes: [UInt8]) -> [[UInt8]] {
        var out = [[UInt8]](), i = 0
        while i + 27 <= bytes.count, bytes[i..<i + 4].elementsEqual("OggS".utf8) {
            let segments = Int(bytes[i + 26])
            guard i + 27 + segments <= bytes.count else { break }
            let size = 27 + segments + bytes[(i + 27)..<(i + 27 + segments)].reduce(0) { $0 + Int($1) }
            guard i + size <= bytes.count else { break }
            out.append(Array(bytes[i..<i + size]))
            i += size
        }
        return out
    }

    public static func packets(_ bytes: [UInt8]) throws(TemoinError) -> [[UInt8]] {
        let sync = UnsafeMutablePointer<ogg_sync_state>.allocate(capacity: 1)
        let stream = UnsafeMutablePointer<ogg_stream_state>.allocate(capacity: 1)
        defer { sync.deallocate(); stream.deallocate() }
        ogg_sync_init(sync)
        defer { ogg_sync_clear(sync) }
        guard !bytes.isEmpty, let buffer = ogg_sync_buffer(sync, bytes.count) else {
            throw .malformed(.oggNoPages, "the recording is empty")
        }
        bytes.withUnsafeBytes { buffer.update(from: $0.bindMemory(to: CChar.self).baseAddress!, count: bytes.count) }
        ogg_sync_wrote(sync, bytes.count)
        var started = false
        defer { if started { ogg_stream_clear(stream) } }
        var out = [[UInt8]]()
        var page = ogg_page()
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
            var packet = ogg_packet()
            while true {
                let p = ogg_stream_packetout(stream, &packet)
                if p == 0 { break }
                guard p > 0 else { throw TemoinError(.oggGap, "pages are missing in the recording") }
                out.append(Array(UnsafeBufferPointer(start: packet.packet, count: packet.bytes)))
            }
        }
        return out
    }
}
