import TemoinArchive
import TemoinCore

enum ArchiveTargets {
    /// Small limits: a fuzz input is at most 16 KiB, so the bounds are reached with small inputs.
    static let limits: ZipArchive.Limits = {
        var l = ZipArchive.Limits()
        l.maximumEntries = 64
        l.maximumTotalSize = 1 << 20
        return l
    }()

    /// A bundle's zip as `temoin-verify` reads it: everything accepted is one folder of unique,
    /// safe names whose data lies inside the archive, reads back identically twice with its
    /// declared size, and written again by our writer reads back the same.
    static func zip(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let archive = try? ZipArchive(bytes: bytes, limits: limits) else { return .refused }
        try check(!archive.folder.isEmpty && !archive.members.isEmpty, "an accepted zip has a folder and members")
        var keys = Set<String>()
        var items = [ZipWriter.Item]()
        for m in archive.members {
            try check(keys.insert(m.path.lowercased()).inserted, "member paths are unique, ignoring case")
            try check(
                !m.path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0.isEmpty }
                    || m.path.isEmpty,
                "no member path climbs out of the folder")
            try check(!m.name.hasPrefix("/") && !m.name.contains("\\"), "no absolute or Windows path")
            try check(m.name.hasPrefix(archive.folder + "/"), "every member is inside the one folder")
            try check(
                m.dataOffset >= m.headerOffset && m.dataOffset + m.compressedSize <= UInt64(bytes.count),
                "member data lies inside the archive")
            if m.isDirectory {
                try check(m.size == 0, "a folder holds nothing")
                items.append(ZipWriter.Item(name: m.name, content: .directory))
                continue
            }
            guard let first = try? archive.contents(m, limit: 1 << 20),
                let second = try? archive.contents(m, limit: 1 << 20)
            else { throw Broken(invariant: "an accepted member reads") }
            try check(first == second && UInt64(first.count) == m.size, "a member reads the same twice, its size")
            try check(CRC32.checksum(first) == m.crc32, "a member's bytes have its CRC-32")
            items.append(ZipWriter.Item(name: m.name, content: .bytes(first)))
        }
        // Written again (stored) and read back: the same names and contents.
        guard let again = try? ZipWriter.plan(items, modified: Timestamp(millisecondsSinceEpoch: 0)).bytes(),
            let reread = try? ZipArchive(bytes: again, limits: limits)
        else { throw Broken(invariant: "what the reader accepts the writer writes and the reader reads again") }
        try check(reread.members.map(\.name) == archive.members.map(\.name), "the rewrite keeps the names")
        for (a, b) in Swift.zip(reread.members, archive.members) where !a.isDirectory {
            try check(
                (try? reread.contents(a, limit: 1 << 20)) == (try? archive.contents(b, limit: 1 << 20)),
                "the rewrite keeps the contents")
        }
        return .accepted
    }

    /// Seeds: a small bundle-like zip from our writer, and a hand-made one with a deflate member
    /// (a stored deflate block), a data descriptor, folders and a comment.
    static func seeds() throws -> [(String, [UInt8])] {
        let time = Timestamp(millisecondsSinceEpoch: 1_795_971_620_412)
        let ours = try ZipWriter.plan(
            [
                .init(name: "\(Fixtures.alert)/", content: .directory),
                .init(name: "\(Fixtures.alert)/README.txt", content: .bytes(Array("Témoin\n".utf8))),
                .init(name: "\(Fixtures.alert)/entries/", content: .directory),
                .init(name: "\(Fixtures.alert)/entries/0.entry", content: .bytes(Array("temoin/v1 genesis\n".utf8))),
            ], modified: time
        ).bytes()
        // Hand-made: "A/" folder, "A/x" deflated (one stored block) with a descriptor, "A/y" stored.
        let x = Array("deflate\n".utf8)
        let block: [UInt8] = [0x01, UInt8(x.count), 0, ~UInt8(x.count), 0xff] + x
        var out = [UInt8]()
        var central = [UInt8]()
        func le16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func le32(_ v: UInt32, _ a: inout [UInt8]) {
            for i in 0..<4 { a.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
        }
        for (name, data, stored, method, descriptor, mode) in [
            ("A/", [UInt8](), [UInt8](), 0, false, UInt32(0o040755 << 16 | 0x10)),
            ("A/x", x, block, 8, true, UInt32(0o100644 << 16)),
            ("A/y", Array("stored\n".utf8), Array("stored\n".utf8), 0, false, UInt32(0o100644 << 16)),
        ] {
            let offset = UInt32(out.count)
            let crc = CRC32.checksum(data)
            let flags = descriptor ? 0x0808 : 0x0800
            le32(0x0403_4b50, &out)
            for v in [20, flags, method, 0, 0x21] { le16(v, &out) }
            for v in descriptor ? [0, 0, 0] : [crc, UInt32(stored.count), UInt32(data.count)] { le32(v, &out) }
            le16(name.utf8.count, &out)
            le16(0, &out)
            out += Array(name.utf8) + stored
            if descriptor { for v in [0x0807_4b50, crc, UInt32(stored.count), UInt32(data.count)] { le32(v, &out) } }
            le32(0x0201_4b50, &central)
            for v in [3 << 8 | 20, 20, flags, method, 0, 0x21] { le16(v, &central) }
            for v in [crc, UInt32(stored.count), UInt32(data.count)] { le32(v, &central) }
            for v in [name.utf8.count, 0, 0, 0, 0] { le16(v, &central) }
            le32(mode, &central)
            le32(offset, &central)
            central += Array(name.utf8)
        }
        let comment = Array("seed".utf8)
        let centralOffset = out.count
        out += central
        le32(0x0605_4b50, &out)
        for v in [0, 0, 3, 3] { le16(v, &out) }
        le32(UInt32(central.count), &out)
        le32(UInt32(centralOffset), &out)
        le16(comment.count, &out)
        out += comment
        return [("bundle.zip", ours), ("deflate-descriptor.zip", out)]
    }
}
