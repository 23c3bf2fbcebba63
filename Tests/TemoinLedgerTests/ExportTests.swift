import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
@testable import TemoinExport
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinVerify
import TemoinTestSupport
import Testing

struct ExportTests {
    /// An alert with three chunks, a conflict and a close, exported.
    static func exported() async throws -> (LedgerFixture, Exporter.Exported, String) {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = AudioIngestTests.alert
        _ = try await f.open(alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        let fixtures = AudioIngestTests()
        for s in 0..<3 { _ = try await ingestor.ingest(fixtures.upload(s)) }
        let other = ChunkUpload(
            alert: alert, seq: 1, captureStart: fixtures.upload(1).captureStart, original: AudioIngestTests.chunks[4],
            format: .wav, statementSignature: nil)
        if case .conflict = try await ingestor.submit(other) {} else { Issue.record("expected a conflict") }
        let folder = f.root.appendingPathComponent("bundle").path
        let e = try await Exporter(directory: f.directory).export(
            alert: alert, to: folder, requester: "OPJ Lyon", reference: "PV 2026/123", writer: w)
        return (f, e, folder)
    }

    @Test func theBundleHasTheDesignedLayoutAndEveryFileIsInTheSignedManifest() async throws {
        let (f, e, folder) = try await Self.exported()
        let found = Set(
            FileManager.default.enumerator(atPath: folder)!.compactMap { $0 as? String }
                .filter { !FileManager.default.isDirectory($0, in: folder) })
        let listed = Set(e.files.keys)
        #expect(found == listed.union(["manifest.json", "manifest.json.p7s"]))
        for name in [
            "recording.opus", "checkpoint", "log-key.txt", "export-cert.pem", "custody-report.html", "README.txt",
            "originals/0.wav", "originals/1.wav", "originals/2.wav", "entries/0.entry", "entries/1.entry",
        ] {
            #expect(listed.contains(name), "\(name)")
        }
        #expect(listed.contains { $0.hasPrefix("originals/1-conflict-") }, "the quarantined bytes are exported too")
        for (name, hash) in e.files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            #expect(!bytes.isEmpty, "no empty files: \(name)")
            #expect(SHA256.hash(bytes) == hash, "\(name)")
        }
        let manifest = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        let p7s = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json.p7s")))
        let certificate = try Certificate(
            pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/export-cert.pem"))))
        let inspection = try CMS.verify(p7s, content: manifest, trusting: certificate)
        #expect(inspection.certificates == [certificate])
        #expect(
            certificate.sha256 == f.created.exportCertificateSHA256,
            "the certificate is the one the genesis entry names")
        #expect(try f.audit().passed)
    }

    @Test func everyExportedEntryIsProvedAgainstTheOneCheckpointAndTheChainEndsAtTheExport() async throws {
        let (f, e, folder) = try await Self.exported()
        let key = try VerifierKey(
            parsing: String(contentsOfFile: folder + "/log-key.txt", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(key == f.created.verifierKey)
        let checkpoint = try SignedCheckpoint(
            parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/checkpoint"))))
        try checkpoint.verify(key: key, using: Ed25519())
        var entries: [UInt64: Entry] = [:]
        for name in e.files.keys where name.hasSuffix(".entry") {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            let proof = try TlogProof(
                parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + ".tlog-proof"))))
            #expect(proof.checkpoint == checkpoint)
            try proof.verify(entry: bytes, key: key, hasher: SHA256.merkle, ed25519: Ed25519())
            entries[proof.index] = try Entry(parsing: bytes)
        }
        let export = try #require(entries[e.exportIndex])
        #expect(export.kind == .exportCreated)
        #expect(export["requester-sha256"] == SHA256.hash(Array("OPJ Lyon".utf8)).hex)
        // Following prev from the export back to the enrollment visits every exported alert entry.
        let byLeaf = Dictionary(uniqueKeysWithValues: entries.map { (SHA256.merkle.leafHash($0.value.bytes), $0.key) })
        var index = e.exportIndex, visited = 0
        while let prev = entries[index]?.previous, let next = byLeaf[prev] {
            visited += 1
            index = next
        }
        #expect(entries[index]?.kind == .deviceEnrolled)
        #expect(visited == entries.values.filter { $0.alert != nil }.count)
    }

    @Test(.tags(.process)) func anAlertWhosePhoneStreamWasKeptAsSentExportsAndVerifies() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = AudioIngestTests.alert
        _ = try await f.open(alert, on: w)
        let wav = f.root.appendingPathComponent("in.wav"), opus = f.root.appendingPathComponent("in.opus")
        try Data(AudioIngestTests.chunks[0]).write(to: wav)
        _ = try await runProcess("opusenc", ["--quiet", wav.path, opus.path])
        let ogg = try [UInt8](Data(contentsOf: opus))
        let appended = try await AudioIngestor(writer: w).ingest(
            ChunkUpload(
                alert: alert, seq: 0, captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000), original: ogg,
                format: .oggOpus,
                statementSignature: nil, isFinal: true))
        #expect(appended.entry["codec"]?.hasPrefix("opus-phone ") == true)
        let folder = f.root.appendingPathComponent("bundle").path
        _ = try await Exporter(directory: f.directory).export(
            alert: alert, to: folder, requester: "OPJ", reference: "PV 2", writer: w)
        var verifier = BundleVerifier(folder: folder, trustedKey: f.created.verifierKey)
        let report = try verifier.run()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(FileManager.default.fileExists(atPath: folder + "/originals/0.opus"))
    }

    @Test func anExistingFolderAnUnknownAlertAndAMultiLineRequesterAreRefused() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let exporter = Exporter(directory: f.directory)
        await #expect(throws: TemoinError.self) {
            _ = try await exporter.export(
                alert: AudioIngestTests.alert, to: f.root.path, requester: "x", reference: "y", writer: w)
        }
        await #expect(throws: TemoinError.self) {
            _ = try await exporter.export(
                alert: AudioIngestTests.alert, to: f.root.appendingPathComponent("b").path, requester: "x",
                reference: "y", writer: w)
        }
        await #expect(throws: TemoinError.self) {
            _ = try await exporter.export(
                alert: AudioIngestTests.alert, to: f.root.appendingPathComponent("c").path, requester: "a\nb",
                reference: "y", writer: w)
        }
        #expect(await w.size == 2)
    }
}

extension FileManager {
    func isDirectory(_ name: String, in folder: String) -> Bool {
        var isDirectory: ObjCBool = false
        return fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

@Suite(.tags(.process))
struct PhoneStreamRestartTests {
    @Test func aPhoneStreamKeptAsSentContinuesAfterARestart() async throws {
        let f = try await LedgerFixture()
        let alert = AudioIngestTests.alert
        let wav = f.root.appendingPathComponent("in.wav"), opus = f.root.appendingPathComponent("in.opus")
        let format = try PCMFormat(encoding: .signed16, sampleRate: 16000, channels: 1)
        let samples = (0..<3).flatMap { Array(try! WAV.parse(AudioIngestTests.chunks[$0]).data) }
        try Data(WAV.encode(format: format, data: samples[...])).write(to: wav)
        _ = try await runProcess("opusenc", ["--quiet", "--max-delay", "200", wav.path, opus.path])
        let file = try [UInt8](Data(contentsOf: opus))
        let pages = OggDemux.pages(file)
        let cuts = [0, 4, 4 + (pages.count - 4) / 2, pages.count]
        func upload(_ k: Int) -> ChunkUpload {
            ChunkUpload(
                alert: alert, seq: UInt64(k),
                captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(k) * 1000),
                original: Array(pages[cuts[k]..<cuts[k + 1]].joined()), format: .oggOpus, statementSignature: nil,
                isFinal: k == 2)
        }
        do {
            let w = try f.writer()
            _ = try await f.open(alert, on: w)
            let ingestor = try AudioIngestor(writer: w)
            for k in 0..<2 { _ = try await ingestor.ingest(upload(k)) }
        }
        // A new process: the phone stream's state comes back from the ledger.
        let w = try f.writer()
        let last = try await AudioIngestor(writer: w).ingest(upload(2))
        #expect(last.entry["codec"]?.hasPrefix("opus-phone ") == true)
        var sent = try OggDemux.packets(file)
        sent.removeFirst(2)
        var recorded = try OggDemux.packets(LedgerReader(directory: f.directory).recording(alert: alert).bytes)
        recorded.removeFirst(2)
        #expect(recorded == sent)
    }
}
