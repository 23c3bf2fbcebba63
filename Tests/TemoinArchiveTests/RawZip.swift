import CTemoinZlib
import TemoinArchive

/// A zip built byte by byte, every field settable, to craft the archives a hostile sender could
/// hand over (the writer itself refuses to make them).
struct RawZip {
    struct Entry {
        var name: [UInt8]
        var data: [UInt8]
        /// The bytes stored: `data` itself, or its raw deflate.
        var method: UInt16 = 0
        var flags: UInt16 = 0x0800
        var madeBy: UInt16 = 3 << 8 | 20
        var needed: UInt16 = 20
        var external: UInt32 = 0o100644 << 16
        var crc: UInt32? = nil
        var compressedSize: UInt32? = nil
        var size: UInt32? = nil
        var localCRC: UInt32? = nil
        var localCompressedSize: UInt32? = nil
        var localSize: UInt32? = nil
        var localName: [UInt8]? = nil
        var localExtra: [UInt8] = []
        var centralExtra: [UInt8] = []
        /// Offset of its local header, if not where it is written.
        var offset: UInt32? = nil
        /// A data descriptor (flag 3) after the data, with its signature.
        var descriptor = false
        /// The bytes stored, when not `data` (deflated if method 8).
        var raw: [UInt8]? = nil

        init(_ name: String, _ data: [UInt8], method: UInt16 = 0) {
            self.name = Array(name.utf8)
            self.data = data
            self.method = method
        }

        var stored: [UInt8] { raw ?? (method == 8 ? RawZip.deflate(data) : data) }
    }

    var entries: [Entry]
    var prefix: [UInt8] = []
    var gapAfterFirst: [UInt8] = []
    var suffix: [UInt8] = []
    var disk: UInt16 = 0
    var count: UInt16? = nil
    var comment: [UInt8] = []
    /// Shift every offset by the prefix (as `zip -A` does for a self-extractor).
    var adjustOffsets = false

    init(_ entries: [Entry]) { self.entries = entries }

    var bytes: [UInt8] {
        var out = prefix
        var central = [UInt8]()
        for (i, e) in entries.enumerated() {
            let stored = e.stored
            let crc = e.crc ?? CRC32.checksum(e.data)
            let csize = e.compressedSize ?? UInt32(stored.count)
            let size = e.size ?? UInt32(e.data.count)
            let offset = e.offset ?? UInt32(adjustOffsets ? out.count : out.count - prefix.count)
            let flags = e.descriptor ? e.flags | 0x0008 : e.flags
            let localName = e.localName ?? e.name
            out.le32(0x0403_4b50)
            out.le16(e.needed)
            out.le16(flags)
            out.le16(e.method)
            out.le16(0)
            out.le16(0x21)
            out.le32(e.localCRC ?? (e.descriptor ? 0 : crc))
            out.le32(e.localCompressedSize ?? (e.descriptor ? 0 : csize))
            out.le32(e.localSize ?? (e.descriptor ? 0 : size))
            out.le16(UInt16(localName.count))
            out.le16(UInt16(e.localExtra.count))
            out += localName + e.localExtra + stored
            if e.descriptor {
                out.le32(0x0807_4b50)
                out.le32(crc)
                out.le32(csize)
                out.le32(size)
            }
            if i == 0 { out += gapAfterFirst }
            central.le32(0x0201_4b50)
            central.le16(e.madeBy)
            central.le16(e.needed)
            central.le16(flags)
            central.le16(e.method)
            central.le16(0)
            central.le16(0x21)
            central.le32(crc)
            central.le32(csize)
            central.le32(size)
            central.le16(UInt16(e.name.count))
            central.le16(UInt16(e.centralExtra.count))
            central.le16(0)
            central.le16(0)
            central.le16(0)
            central.le32(e.external)
            central.le32(offset)
            central += e.name + e.centralExtra
        }
        let centralOffset = adjustOffsets ? out.count : out.count - prefix.count
        out += central
        out.le32(0x0605_4b50)
        out.le16(disk)
        out.le16(disk)
        out.le16(count ?? UInt16(entries.count))
        out.le16(count ?? UInt16(entries.count))
        out.le32(UInt32(central.count))
        out.le32(UInt32(centralOffset))
        out.le16(UInt16(comment.count))
        out += comment + suffix
        return out
    }

    /// Raw deflate (no zlib header) at the default level.
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var z = z_stream()
        precondition(
            deflateInit2_(
                &z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                == Z_OK)
        defer { deflateEnd(&z) }
        var input = data
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&z, uLong(data.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                z.next_in = i.baseAddress
                z.avail_in = uInt(i.count)
                z.next_out = o.baseAddress
                z.avail_out = uInt(o.count)
                precondition(CTemoinZlib.deflate(&z, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(z.avail_out)
            }
        }
        return Array(out.prefix(produced))
    }
}

extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    mutating func le32(_ v: UInt32) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
}
