import Foundation
import TemoinArchive
import TemoinAudio
import TemoinCore
import TemoinCrypto
import TemoinExport
import TemoinIngest
@testable import TemoinLedger
import TemoinTestSupport
import TemoinVerify
import Testing

/// A bundle's zip (Docs/export.md, "The zip form") verifies exactly as its folder does: the same
/// checks, the same report, whoever made the zip (our writer, Info-ZIP, Python), and a change
/// inside it is caught as in the folder.
struct BundleZipTests {
    static func verify(_ path: String, key: VerifierKey) throws -> VerificationReport {
        var v = BundleVerifier(folder: path, trustedKey: key)
        return try v.run()
    }

    /// A report as comparable lines.
    static func lines(_ r: VerificationReport) -> [String] {
        r.checks.map { "\($0.passed) [\($0.check)] \($0.subject): \($0.fr) / \($0.en)" } + r.notes
    }

    static func files(_ folder: String) throws -> [String: [UInt8]] {
        var out = [String: [UInt8]]()
        for case let name as String in FileManager.default.enumerator(atPath: folder)! {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isFolder)
            if !isFolder.boolValue {
                out[name] = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            }
        }
        return out
    }

    @Test func ourZipOfABundleVerifiesWithTheFolderReportAndIsTheSameBytesEveryTime() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        let zip = folder + ".zip"
        try BundleZip.plan(folder: folder).write(to: zip)
        let folderReport = try Self.verify(folder, key: key)
        let zipReport = try Self.verify(zip, key: key)
        #expect(zipReport.passed, "\(zipReport.checks.filter { !$0.passed })")
        #expect(Self.lines(zipReport) == Self.lines(folderReport))

        // One folder, named after the alert; the bundle's files inside, stored.
        let archive = try ZipArchive(path: zip)
        #expect(archive.folder == AudioIngestTests.alert.rawValue)
        #expect(archive.members.allSatisfy { $0.method == 0 })
        #expect(Set(archive.members.filter { !$0.isDirectory }.map(\.path)) == Set(try Self.files(folder).keys))
        // The server's path (files in memory) gives the same bytes as the folder's.
        let manifest = try JSONDecoder().decode(
            ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        let inMemory = try BundleZip.plan(
            alert: manifest.alert, created: #require(Timestamp(rfc3339: manifest.created)), files: Self.files(folder))
        #expect(try inMemory.bytes() == [UInt8](Data(contentsOf: URL(fileURLWithPath: zip))))
    }

    @Test func exportZipGivesAVerifiableArchiveWithoutWritingAFolder() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = AudioIngestTests.alert
        _ = try await f.open(alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        for s in 0..<2 { _ = try await ingestor.ingest(AudioIngestTests().upload(s)) }
        let exported = try await Exporter(directory: f.directory).exportZip(
            alert: alert, requester: "OPJ Lyon", reference: "PV 2026/124", writer: w)
        #expect(exported.contentType == "application/zip")
        let path = f.root.appendingPathComponent(exported.fileName).path
        try exported.archive.write(to: path)
        #expect(UInt64(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) == exported.archive.size)
        let report = try Self.verify(path, key: f.created.verifierKey)
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(try ZipArchive(path: path).folder == alert.rawValue)
    }

    @Test func aChangedFileInsideTheZipIsCaughtAsInTheFolderAndADamagedZipIsRefused() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        for name in ["originals/0.wav", "custody-report.html", "entries/2.entry", "recording.opus"] {
            let copy = folder + "-\(name.replacingOccurrences(of: "/", with: "-"))"
            try FileManager.default.copyItem(atPath: folder, toPath: copy)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: copy + "/" + name)))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + name))
            try BundleZip.plan(folder: copy).write(to: copy + ".zip")
            let folderReport = try Self.verify(copy, key: key)
            let zipReport = try Self.verify(copy + ".zip", key: key)
            #expect(!zipReport.passed, "\(name)")
            #expect(zipReport.checks.contains { !$0.passed && $0.subject == name }, "\(name) is named")
            #expect(Self.lines(zipReport) == Self.lines(folderReport), "\(name)")
        }
        // A byte changed in the zip itself: its CRC-32 no longer matches, the archive is refused.
        let zip = folder + ".zip"
        try BundleZip.plan(folder: folder).write(to: zip)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: zip)))
        let member = try #require(try ZipArchive(path: zip).member("originals/0.wav"))
        bytes[Int(member.dataOffset) + 100] ^= 0x01
        try FileManager.default.removeItem(atPath: zip)
        try Data(bytes).write(to: URL(fileURLWithPath: zip))
        let report = try Self.verify(zip, key: key)
        #expect(!report.passed && report.checks.count == 1)
        #expect(report.checks[0].check == "archive" && report.checks[0].en.contains("zip.crc-mismatch"))
    }

    @Test(.tags(.process)) func zipsMadeByInfoZIPAndPythonVerifyWithTheFolderReport() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        let parent = (folder as NSString).deletingLastPathComponent
        let expected = Self.lines(try Self.verify(folder, key: key))

        let infoZip = parent + "/info-zip.zip"
        let zipped = try await runProcess("zip", ["-q", "-r", infoZip, "bundle"], directory: parent)
        #expect(zipped.status == 0, "\(zipped.errorText)")
        let python = parent + "/python.zip"
        let script = """
            import os, sys, zipfile
            with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
                for root, dirs, files in os.walk(sys.argv[1]):
                    dirs.sort()
                    for name in sorted(files):
                        path = os.path.join(root, name)
                        z.write(path, os.path.relpath(path, os.path.dirname(sys.argv[1])))
            """
        let pythonRun = try await runProcess("python3", ["-c", script, folder, python])
        #expect(pythonRun.status == 0, "\(pythonRun.errorText)")
        for zip in [infoZip, python] {
            let archive = try ZipArchive(path: zip)
            #expect(archive.members.contains { $0.method == 8 }, "\(zip) deflates some files")
            let report = try Self.verify(zip, key: key)
            #expect(report.passed, "\(zip): \(report.checks.filter { !$0.passed })")
            #expect(Self.lines(report) == expected, "\(zip)")
        }
    }
}
