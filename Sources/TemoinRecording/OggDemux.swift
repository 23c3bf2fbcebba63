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

    /// Every packet of a one-stream Ogg file held in memory (the same reading as `forEachPacket`).
    public static func packets(_ bytes: [UInt8]) throws(TemoinError) -> [[UInt8]] {
        var out = [[UInt8]]()
        var offset = 0
        try forEachPacket(
            read: { buffer, capacity in
                let n = min(capacity, bytes.count - offset)
                if n > 0 { bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
                offset += n
                return n
            },
            maximumPacket: 1 << 20
        ) { packet throws(TemoinError) in
            out.append(Array(packet))
            return true
        }
        return out
    }
}
