import Foundation
import TemoinArchive
import TemoinCore
import TemoinTestSupport
import Testing

/// The zip writer and reader (Docs/export.md, "The zip form"): what the writer makes the reader
/// (and common tools) accept, identically every time; every trick a hostile archive can play is
/// refused as a whole, with its own code.
struct ZipTests {
    static let time = Timestamp(rfc3339: "2026-11-29T17:00:21.412Z")!
    static let files: [(String, [UInt8])] = [
        ("A/README.txt", Array("bonjour\n".utf8)),
        ("A/entries/0.entry", Array("entry\n".utf8)),
        ("A/originals/0.wav", (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }),
    ]

    static func written() throws -> [UInt8] {
        let items =
            [ZipWriter.Item(name: "A/", content: .directory), .init(name: "A/entries/", content: .directory)]
            + files.map { ZipWriter.Item(name: $0.0, content: .bytes($0.1)) }
        return try ZipWriter.plan(items, modified: time).bytes()
    }

    func code(_ bytes: [UInt8], limits: ZipArchive.Limits = .standard) -> String? {
        do {
            _ = try ZipArchive(bytes: bytes, limits: limits)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func whatTheWriterMakesTheReaderReadsBackIdenticallyEveryTime() throws {
        let bytes = try Self.written()
        #expect(try Self.written() == bytes, "deterministic")
        let plan = try ZipWriter.plan(Self.files.map { .init(name: $0.0, content: .bytes($0.1)) }, modified: Self.time)
        #expect(plan.size == UInt64(try plan.bytes().count), "the size is known before writing")
        var chunked = [UInt8]()
        var chunks = plan.makeChunks(chunkSize: 4096)
        while let c = try chunks.next() {
            #expect(c.count <= 4096)
            chunked += c
        }
        #expect(chunked == (try plan.bytes()))

        let archive = try ZipArchive(bytes: bytes)
        #expect(archive.folder == "A")
        #expect(archive.members.map(\.path) == ["", "entries", "README.txt", "entries/0.entry", "originals/0.wav"])
        for (name, content) in Self.files {
            let member = try #require(archive.member(String(name.dropFirst(2))))
            #expect(member.method == 0 && member.size == UInt64(content.count))
            #expect(try archive.contents(member, limit: 1 << 20) == content)
        }
        // 2026-11-29 17:00:20 (two-second resolution), UTC, in MS-DOS form at the fixed places.
        let (date, time) = ZipFormat.dosDateTime(Self.time)
        #expect(date == UInt16((2026 - 1980) << 9 | 11 << 5 | 29) && time == UInt16(17 << 11 | 0 << 5 | 10))
        #expect(bytes[10] == UInt8(time & 0xff) && bytes[12] == UInt8(date & 0xff))
        #expect(ZipFormat.dosDateTime(Timestamp(millisecondsSinceEpoch: 0)) == (date: 33, time: 0))
    }

    @Test func theWriterRefusesNamesTheReaderWouldRefuseAndDuplicates() {
        for name in ["../x", "/x", "a\\b", "C:/x", "a//b", "a/./b", ""] {
            #expect(throws: TemoinError.self, "\(name)") {
                try ZipWriter.plan([.init(name: name, content: .bytes([1]))], modified: Self.time)
            }
        }
        #expect(throws: TemoinError.self) {
            try ZipWriter.plan(
                [.init(name: "A/é", content: .bytes([1])), .init(name: "A/E\u{301}", content: .bytes([2]))],
                modified: Self.time)
        }
    }

    @Test(.tags(.process)) func unzipAndPythonAcceptOurZips() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-zip-\(UUID().uuidString).zip")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(try Self.written()).write(to: URL(fileURLWithPath: path))
        let unzip = try await runProcess("unzip", ["-t", path])
        #expect(unzip.status == 0 && unzip.text.contains("No errors detected"), "\(unzip.text)\(unzip.errorText)")
        let python = try await runProcess(
            "python3",
            [
                "-c",
                "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                    + "print(' '.join(i.filename + ':' + str(i.file_size) + ':' + str(i.date_time) "
                    + "for i in z.infolist()))",
                path,
            ])
        #expect(python.status == 0, "\(python.errorText)")
        #expect(python.text.contains("A/originals/0.wav:300000:(2026, 11, 29, 17, 0, 20)"), "\(python.text)")
    }

    @Test func deflateStoredDescriptorsAndCommentsAreRead() throws {
        var deflated = RawZip.Entry("A/x.txt", Array(repeating: 0x41, count: 100_000), method: 8)
        deflated.descriptor = true
        var zip = RawZip([RawZip.Entry("A/", []), deflated, RawZip.Entry("A/y", [1, 2, 3])])
        zip.entries[0].external = 0o040755 << 16 | 0x10
        zip.comment = Array("a comment".utf8)
        let archive = try ZipArchive(bytes: zip.bytes)
        #expect(try archive.contents(archive.member("x.txt")!, limit: 1 << 20) == deflated.data)
        #expect(try archive.contents(archive.member("y")!, limit: 16) == [1, 2, 3])
    }

    /// Every trick, each refused as a whole with its own code.
    @Test func everyZipTrickIsRefusedWithItsCode() throws {
        func entry(_ name: String, _ data: [UInt8] = [1, 2, 3]) -> RawZip.Entry { RawZip.Entry(name, data) }
        func zip(_ change: (inout RawZip) -> Void) -> [UInt8] {
            var z = RawZip([entry("A/a"), entry("A/b", Array("hello".utf8))])
            change(&z)
            return z.bytes
        }
        #expect(code(zip { _ in }) == nil, "the base archive is accepted")
        let cases: [(String, [UInt8], String)] = [
            ("dot-dot", zip { $0.entries[1].name = Array("A/../b".utf8) }, "zip.bad-name"),
            ("dot-dot local only", zip { $0.entries[1].localName = Array("../A/".utf8) }, "zip.bad-header"),
            ("absolute", zip { $0.entries[1].name = Array("/A/b".utf8) }, "zip.bad-name"),
            ("backslash", zip { $0.entries[1].name = Array("A\\b".utf8) }, "zip.bad-name"),
            ("drive letter", zip { $0.entries[1].name = Array("C:/A/b".utf8) }, "zip.bad-name"),
            ("not UTF-8", zip { $0.entries[1].name = [0x41, 0x2f, 0xff] }, "zip.bad-name"),
            ("control character", zip { $0.entries[1].name = [0x41, 0x2f, 0x0a] }, "zip.bad-name"),
            ("two top-level folders", zip { $0.entries[1].name = Array("B/b".utf8) }, "zip.top-level"),
            ("a file beside the folder", zip { $0.entries[1].name = Array("b".utf8) }, "zip.top-level"),
            ("same name", zip { $0.entries[1].name = Array("A/a".utf8) }, "zip.duplicate"),
            ("same name but case", zip { $0.entries[1].name = Array("A/A".utf8) }, "zip.duplicate"),
            (
                "same name but Unicode normalization",
                zip {
                    $0.entries[0].name = Array("A/\u{e9}".utf8)
                    $0.entries[1].name = Array("A/e\u{301}".utf8)
                }, "zip.duplicate"
            ),
            ("a file used as a folder", zip { $0.entries[1].name = Array("A/a/b".utf8) }, "zip.duplicate"),
            ("symbolic link", zip { $0.entries[1].external = 0o120777 << 16 }, "zip.not-regular"),
            ("FIFO", zip { $0.entries[1].external = 0o010644 << 16 }, "zip.not-regular"),
            (
                "NTFS reparse point",
                zip {
                    $0.entries[1].madeBy = 10 << 8 | 20; $0.entries[1].external = 0x400
                }, "zip.not-regular"
            ),
            ("folder bit on a file", zip { $0.entries[1].external = 0o100644 << 16 | 0x10 }, "zip.not-regular"),
            ("encrypted", zip { $0.entries[1].flags |= 1 }, "zip.encrypted"),
            ("AES", zip { $0.entries[1].method = 99 }, "zip.encrypted"),
            ("bzip2", zip { $0.entries[1].method = 12 }, "zip.unsupported-method"),
            ("unknown flag", zip { $0.entries[1].flags |= 0x0010 }, "zip.bad-header"),
            ("local size lies", zip { $0.entries[1].localSize = 4 }, "zip.size-mismatch"),
            ("stored sizes differ", zip { $0.entries[1].size = 6 }, "zip.size-mismatch"),
            (
                "both sizes say less",
                zip {
                    $0.entries[1].size = 4; $0.entries[1].compressedSize = 4
                }, "zip.junk"
            ),
            (
                "central CRC lies",
                zip {
                    $0.entries[1].crc = 1; $0.entries[1].localCRC = 1
                }, "zip.crc-mismatch"
            ),
            ("local CRC lies", zip { $0.entries[1].localCRC = 1 }, "zip.crc-mismatch"),
            ("offset outside the file", zip { $0.entries[1].offset = 1_000_000 }, "zip.overlap"),
            ("two records, one header", zip { $0.entries[1].offset = 0 }, "zip.bad-header"),
            (
                "leading junk",
                zip {
                    $0.prefix = Array("MZ junk".utf8); $0.adjustOffsets = true
                }, "zip.junk"
            ),
            ("leading junk, offsets not shifted", zip { $0.prefix = Array("MZ junk".utf8) }, "zip.junk"),
            (
                "both sizes say more",
                zip {
                    $0.entries[0].size = 4; $0.entries[0].compressedSize = 4
                },
                "zip.overlap"
            ),
            ("junk between entries", zip { $0.gapAfterFirst = [0, 0, 0, 0] }, "zip.junk"),
            ("trailing junk", zip { $0.suffix = [0x0a] }, "zip.junk"),
            ("multi-disk", zip { $0.disk = 1 }, "zip.multi-disk"),
            ("ZIP64 count", zip { $0.count = 0xFFFF }, "zip.zip64"),
            ("ZIP64 extra", zip { $0.entries[1].centralExtra = [1, 0, 0, 0] }, "zip.zip64"),
            ("malformed extra", zip { $0.entries[1].centralExtra = [0x55, 0x54, 9, 0, 1] }, "zip.bad-header"),
            ("more entries than the directory holds", zip { $0.count = 3 }, "zip.bad-header"),
            ("fewer entries than the directory holds", zip { $0.count = 1 }, "zip.junk"),
            ("not a zip", Array("just some text, no end record".utf8), "zip.not-zip"),
            ("empty", [], "zip.not-zip"),
        ]
        for (what, bytes, expected) in cases {
            #expect(code(bytes) == expected, "\(what)")
        }
    }

    @Test func sizesThatLieAboutDeflateAndBombsAreRefused() throws {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        func deflated(_ change: (inout RawZip.Entry) -> Void) -> [UInt8] {
            var e = RawZip.Entry("A/bomb", zeros, method: 8)
            change(&e)
            return RawZip([e]).bytes
        }
        #expect(code(deflated { _ in }) == nil)
        #expect(code(deflated { $0.size = 1000 }) == "zip.size-mismatch", "inflates past its declared size")
        #expect(code(deflated { $0.size = UInt32(zeros.count + 1) }) == "zip.size-mismatch", "inflates short")
        #expect(code(deflated { $0.crc = 7 }) == "zip.crc-mismatch")
        // Declared totals over the limit are refused before anything is inflated.
        var a = RawZip.Entry("A/a", zeros, method: 8)
        a.size = 3 << 30
        var b = RawZip.Entry("A/b", zeros, method: 8)
        b.size = 3 << 30
        #expect(code(RawZip([a, b]).bytes) == "zip.too-large")
        // Too many entries.
        let many = RawZip((0..<40).map { RawZip.Entry("A/\($0)", []) }).bytes
        var limits = ZipArchive.Limits()
        limits.maximumEntries = 39
        #expect(code(many, limits: limits) == "zip.too-many-entries")
        #expect(code(many) == nil)
        // Damaged deflate data, and deflate data followed by bytes it does not use.
        var garbage = RawZip.Entry("A/d", [1, 2, 3], method: 8)
        garbage.raw = [0xff, 0xfe, 0xfd, 0xfc]
        #expect(code(RawZip([garbage]).bytes) == "zip.bad-data", "garbage as deflate")
        var truncated = RawZip.Entry("A/d", zeros, method: 8)
        truncated.raw = Array(RawZip.deflate(zeros).dropLast(3))
        #expect(code(RawZip([truncated]).bytes) == "zip.size-mismatch", "truncated deflate stream")
        var trailing = RawZip.Entry("A/t", [1, 2, 3], method: 8)
        trailing.raw = RawZip.deflate([1, 2, 3]) + [9, 9]
        #expect(code(RawZip([trailing]).bytes) == "zip.size-mismatch", "bytes after the deflate stream")
    }
}
