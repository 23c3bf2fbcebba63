internal import CTemoinOgg
public import TemoinCore
import TemoinCrypto

/// The stored form of an Opus stream: each packet preceded by its length as a 4-byte
/// big-endian integer. `opus-sha256` in the ledger is the SHA-256 of these bytes.
public enum OpusPacketStream {
    /// libopus never makes a packet larger than this (RFC 6716 §3.4, 120 ms at the highest rate).
    public static let maximumPacket = 1275 * 6 + 7

    public static func encode(_ packets: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(packets.reduce(0) { $0 + $1.count + 4 })
        for p in packets {
            let n = UInt32(p.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            out += p
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(TemoinError) -> [[UInt8]] {
        var packets = [[UInt8]]()
        var i = 0
        while i < bytes.count {
            guard i + 4 <= bytes.count else {
                throw .malformed(.opusBadStream, "the packet stream ends inside a length")
            }
            let n = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            guard n >= 1, n <= maximumPacket, i + n <= bytes.count else {
                throw .malformed(.opusBadStream, "a packet length (\(n)) is impossible or runs past the end")
            }
            packets.append(Array(bytes[i..<i + n]))
            i += n
        }
        return packets
    }
}

/// Deterministic Ogg Opus (RFC 7845) from packets: the same inputs always give the same bytes.
///
/// Page policy: the identification header alone on page 0, the comment header on the next
/// page(s), then a page flushed after every 50 audio packets (1 s of 20 ms packets) and after the
/// last. Granule positions count 48 kHz samples from the first decoded sample (pre-skip
/// included); the last page's granule position trims the stream to `finalGranule`.
public enum OggOpus {
    public struct Header: Sendable, Hashable {
        public let inputRate: Int
        public let preSkip: Int
        public let vendor: String
        public let comments: [String]

        public init(inputRate: Int, preSkip: Int, vendor: String, comments: [String]) {
            self.inputRate = inputRate
            self.preSkip = preSkip
            self.vendor = vendor
            self.comments = comments
        }

        /// The `OpusHead` packet: version 1, one channel, mapping family 0, no gain.
        public var identification: [UInt8] {
            var out = Array("OpusHead".utf8)
            out += [1, 1]
            out += le16(preSkip) + le32(inputRate) + le16(0) + [0]
            return out
        }

        /// The `OpusTags` packet.
        public var comment: [UInt8] {
            var out = Array("OpusTags".utf8)
            let v = Array(vendor.utf8)
            out += le32(v.count) + v + le32(comments.count)
            for c in comments {
                let b = Array(c.utf8)
                out += le32(b.count) + b
            }
            return out
        }
    }

    public static let packetsPerPage = 50

    /// The stream serial number of an alert: the first 4 bytes of SHA-256("temoin/ogg-serial/v1\n" ‖ alert id),
    /// big-endian.
    public static func serial(alert: AlertID) -> UInt32 {
        SHA256.hash(Array(("temoin/ogg-serial/v1\n" + alert.rawValue).utf8)).bytes.prefix(4).reduce(UInt32(0)) {
            $0 << 8 | UInt32($1)
        }
    }

    /// A 1-byte packet with `toc`'s configuration and one zero-length frame: "this frame was lost"
    /// (RFC 7845 §4.1; decoders conceal it), used to keep playback time true across gaps.
    public static func lostFrame(like toc: UInt8) -> [UInt8] {
        [toc & 0xfc]
    }

    public static func mux(
        serial: UInt32, header: Header, packets: [[UInt8]], finalGranule: Int64? = nil
    ) throws(TemoinError) -> [UInt8] {
        guard !packets.isEmpty else { throw .malformed(.oggNoAudio, "a recording needs at least one audio packet") }
        let stream = UnsafeMutablePointer<ogg_stream_state>.allocate(capacity: 1)
        defer { stream.deallocate() }
        guard ogg_stream_init(stream, Int32(bitPattern: serial)) == 0 else {
            throw TemoinError(.oggFailure, "libogg could not start a stream")
        }
        defer { ogg_stream_clear(stream) }
        var out = [UInt8]()
        var packetNumber: Int64 = 0
        func put(_ data: [UInt8], granule: Int64, bos: Bool, eos: Bool) throws(TemoinError) {
            let rc: Int32 = data.withUnsafeBufferPointer { buf in
                var p = ogg_packet()
                p.packet = UnsafeMutablePointer(mutating: buf.baseAddress)
                p.bytes = buf.count
                p.b_o_s = bos ? 1 : 0
                p.e_o_s = eos ? 1 : 0
                p.granulepos = granule
                p.packetno = packetNumber
                return ogg_stream_packetin(stream, &p)
            }
            guard rc == 0 else { throw TemoinError(.oggFailure, "libogg refused a packet") }
            packetNumber += 1
        }
        func flush() {
            var page = ogg_page()
            while ogg_stream_flush(stream, &page) != 0 {
                out += Array(UnsafeBufferPointer(start: page.header, count: page.header_len))
                out += Array(UnsafeBufferPointer(start: page.body, count: page.body_len))
            }
        }
        try put(header.identification, granule: 0, bos: true, eos: false)
        flush()
        try put(header.comment, granule: 0, bos: false, eos: false)
        flush()
        var granule: Int64 = 0
        for (i, packet) in packets.enumerated() {
            guard let n = OpusPacket.sampleCount(packet) else {
                throw .malformed(.opusBadPacket, "audio packet \(i) has an invalid Opus TOC")
            }
            granule += Int64(n)
            let last = i == packets.count - 1
            try put(packet, granule: last ? min(granule, finalGranule ?? granule) : granule, bos: false, eos: last)
            if last || (i + 1) % packetsPerPage == 0 { flush() }
        }
        return out
    }

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] {
        [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
    }
}
