import Foundation
import TemoinCore
import TemoinExport
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `temoin-verify` as a person runs it: clear help, clear refusals, one sentence for the wrong
/// log's key, both languages everywhere, and bounded memory whatever the bundle holds.
@Suite(.tags(.process))
struct VerifierCommandTests {
    /// A fresh export made by the temoin executable, and the log key printed by `temoin init`.
    static func exported(_ t: TempFolder) throws -> (bundle: String, key: String) {
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        let initialized = try Tool.run("temoin", ["init", "--data", t.data])
        let key = String(initialized.text.split(separator: "\n").last!)
        let alert = String(
            try Tool.run("temoin", ["ingest", "--data", t.data, "--chunk-seconds", "5", ServiceProcessTests.sample])
                .text
                .split(separator: "\n").last!)
        let bundle = t.url.appendingPathComponent("bundle").path
        let exported = try Tool.run(
            "temoin",
            [
                "export", "--data", t.data, "--alert", alert, "--out", bundle,
                "--requester", "OPJ", "--reference", "PV 2026/7",
            ])
        #expect(exported.status == 0, "\(exported.stderr)")
        return (bundle, key)
    }

    static func failLines(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.hasPrefix("ÉCHEC / FAIL") && $0.contains("  [") }
    }

    @Test func helpRefusalsAndAnotherLogsKeyAreOneClearSentenceInBothLanguages() throws {
        let help = try Tool.run("temoin-verify", ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(
            help.text.contains("Vérifie un export") && help.text.contains("verify a Témoin export")
                && help.text.contains("Exit code"))

        let t = TempFolder()
        let (bundle, key) = try Self.exported(t)
        let passed = try Tool.run("temoin-verify", [bundle, "--log-key", key])
        #expect(passed.status == 0, "\(passed.text)")

        let notABundle = t.url.appendingPathComponent("holiday-photos").path
        try FileManager.default.createDirectory(atPath: notABundle, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: notABundle + "/photo.jpg"))
        let refused = try Tool.run("temoin-verify", [notABundle, "--log-key", key])
        #expect(refused.status == 2)
        #expect(
            refused.stderr.contains("n'est pas un export Témoin")
                && refused.stderr.contains("not a Témoin export bundle"), "\(refused.stderr)")

        let other = try Tool.run("temoin", ["init", "--data", t.url.appendingPathComponent("other").path])
        let otherKey = String(other.text.split(separator: "\n").last!)
        let wrong = try Tool.run("temoin-verify", [bundle, "--log-key", otherKey])
        #expect(wrong.status == 1)
        #expect(Self.failLines(wrong.text).count == 1, "\(wrong.text)")
        #expect(
            wrong.text.contains("ce n'est pas la clé de ce journal") && wrong.text.contains("it is not this log's key"),
            "\(wrong.text)")

        // The lone-entry check speaks both languages too, and names the wrong log in one sentence.
        let lone = try Tool.run(
            "temoin-verify",
            [
                "--entry", bundle + "/entries/3.entry", "--proof", bundle + "/entries/2.entry.tlog-proof", "--log-key",
                key,
            ])
        #expect(lone.status == 1)
        #expect(lone.text.contains("ne sont pas l'entrée 2") && lone.text.contains("are not entry 2"), "\(lone.text)")
        let loneOther = try Tool.run(
            "temoin-verify",
            [
                "--entry", bundle + "/entries/2.entry", "--proof", bundle + "/entries/2.entry.tlog-proof", "--log-key",
                otherKey,
            ])
        #expect(loneOther.status == 1)
        #expect(
            loneOther.text.split(separator: "\n").count == 1 && loneOther.text.contains("the key given is log"),
            "\(loneOther.text)")
    }

    /// The zip of a bundle is checked as the folder is (the same lines, the same exit code); a zip
    /// that plays a trick is refused in one FAIL line (exit 1); a file that is no zip is exit 2.
    @Test func theZipOfABundleGivesTheFolderReportAndTricksAreRefused() throws {
        let t = TempFolder()
        let (bundle, key) = try Self.exported(t)
        let zip = bundle + ".zip"
        try BundleZip.plan(folder: bundle).write(to: zip)
        let folder = try Tool.run("temoin-verify", [bundle, "--log-key", key])
        let zipped = try Tool.run("temoin-verify", [zip, "--log-key", key])
        #expect(zipped.status == 0, "\(zipped.text)\(zipped.stderr)")
        #expect(zipped.text == folder.text)
        let json = try Tool.run("temoin-verify", [zip, "--log-key", key, "--json"])
        #expect(json.status == 0 && json.text.contains("\"passed\" : true"), "\(json.text)")

        // The same archive with a name that climbs out of the folder (same length, both headers).
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: zip)))
        let from = Array("/README.txt".utf8), to = Array("/../EADME.t".utf8)
        var i = 0
        while i + from.count <= bytes.count {
            if Array(bytes[i..<(i + from.count)]) == from { bytes.replaceSubrange(i..<(i + from.count), with: to) }
            i += 1
        }
        let tricked = t.url.appendingPathComponent("tricked.zip").path
        try Data(bytes).write(to: URL(fileURLWithPath: tricked))
        let refused = try Tool.run("temoin-verify", [tricked, "--log-key", key])
        #expect(refused.status == 1)
        #expect(Self.failLines(refused.text).count == 1, "\(refused.text)")
        #expect(
            refused.text.contains("archive zip refusée") && refused.text.contains("zip archive refused")
                && refused.text.contains("zip.bad-name"), "\(refused.text)")

        let notZip = t.url.appendingPathComponent("photo.jpg").path
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: notZip))
        let unusable = try Tool.run("temoin-verify", [notZip, "--log-key", key])
        #expect(unusable.status == 2)
        #expect(unusable.stderr.contains("not a Témoin export bundle nor a zip archive"), "\(unusable.stderr)")
    }

    /// A 2 GiB original, a 2 GiB recording and a 64 MB recording of one-byte packets: each fails
    /// cleanly with the verifier limited to 256 MiB of address space.
    @Test(.tags(.slow), .notInFastRuns) func memoryStaysBoundedWhateverTheBundleHolds() throws {
        let t = TempFolder()
        let (bundle, key) = try Self.exported(t)
        func limited() throws -> Tool.Result {
            try Tool.run(
                URL(fileURLWithPath: "/usr/bin/prlimit"),
                [
                    "--as=268435456", Tool.buildFolder.appendingPathComponent("temoin-verify").path, bundle,
                    "--log-key", key,
                ])
        }
        #expect(try limited().status == 0, "the pristine bundle verifies within the limit")

        for name in ["originals/0.wav", "recording.opus"] {
            let fd = open(bundle + "/" + name, O_WRONLY)
            #expect(ftruncate(fd, 2 << 30) == 0)
            close(fd)
        }
        var result = try limited()
        #expect(result.status == 1, "\(result.stderr)")
        #expect(
            Self.failLines(result.text).contains { $0.contains("originals/0.wav") }
                && Self.failLines(result.text).contains { $0.contains("recording.opus") },
            "\(result.text)")

        try Data(Self.onePacketPages(bytes: 64 << 20)).write(to: URL(fileURLWithPath: bundle + "/recording.opus"))
        result = try limited()
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.failLines(result.text).contains { $0.contains("recording.opus") }, "\(result.text)")
    }

    /// About `bytes` of Ogg pages, each holding 255 one-byte Opus packets (valid CRCs).
    static func onePacketPages(bytes: Int) -> [UInt8] {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var r = UInt32(i) << 24
            for _ in 0..<8 { r = r & 0x8000_0000 != 0 ? (r << 1) ^ 0x04c1_1db7 : r << 1 }
            table[i] = r
        }
        var page =
            Array("OggS".utf8) + [0, 0] + [UInt8](repeating: 0, count: 8) + [1, 2, 3, 4] + [0, 0, 0, 0] + [0, 0, 0, 0]
            + [255]
        page += [UInt8](repeating: 1, count: 255) + [UInt8](repeating: 0x08, count: 255)
        let pages = bytes / page.count
        var out = [UInt8]()
        out.reserveCapacity(pages * page.count)
        for n in 0..<pages {
            page[5] = n == 0 ? 2 : 0
            for k in 0..<4 { page[18 + k] = UInt8(truncatingIfNeeded: n >> (8 * k)) }
            for k in 22..<26 { page[k] = 0 }
            var crc: UInt32 = 0
            page.withUnsafeBufferPointer { p in
                for b in p { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(b))] }
            }
            for k in 0..<4 { page[22 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
            out += page
        }
        return out
    }
}
