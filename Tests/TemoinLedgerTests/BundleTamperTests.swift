import Foundation
@testable import TemoinLedger
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinVerify
import TemoinTestSupport
import Testing

/// Change, drop or add any byte or file of a bundle and verification fails, naming it.
struct BundleTamperTests {
    func verify(_ folder: String, key: VerifierKey) throws -> VerificationReport {
        var v = BundleVerifier(folder: folder, trustedKey: key)
        return try v.run()
    }

    func copy(_ folder: String) throws -> String {
        let target = folder + "-copy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: folder, toPath: target)
        return target
    }

    @Test func aPristineBundlePasses() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let report = try verify(folder, key: f.created.verifierKey)
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(report.notes.contains { $0.contains("conflict") })
    }

    @Test(.tags(.slow), .notInFastRuns) func everyFileFlippedTruncatedOrDeletedIsCaughtAndNamed() async throws {
        let (f, e, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        let names = Array(e.files.keys) + ["manifest.json", "manifest.json.p7s"]
        for name in names.sorted() {
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            let mutations: [(String, [UInt8]?)] = [
                ("start", flip(original, 0)), ("middle", flip(original, original.count / 2)),
                ("end", flip(original, original.count - 1)),
                ("truncated", Array(original.dropLast(max(1, original.count / 3)))), ("deleted", nil),
            ]
            for (what, bytes) in mutations {
                let path = folder + "/" + name
                if let bytes {
                    try Data(bytes).write(to: URL(fileURLWithPath: path))
                } else {
                    try FileManager.default.removeItem(atPath: path)
                }
                let report = try verify(folder, key: key)
                #expect(!report.passed, "\(name) \(what) must fail")
                #expect(
                    report.checks.contains { !$0.passed && ($0.subject == name || $0.subject.hasPrefix("manifest")) },
                    "\(name) \(what) is named")
                try Data(original).write(to: URL(fileURLWithPath: path))
            }
        }
        #expect(try verify(folder, key: key).passed, "restored")
    }

    @Test func anAddedFileAndAWrongLogKeyFail() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/originals/extra.wav"))
        var report = try verify(folder, key: f.created.verifierKey)
        #expect(report.checks.contains { !$0.passed && $0.subject == "originals/extra.wav" })
        try FileManager.default.removeItem(atPath: folder + "/originals/extra.wav")
        let stranger = try Ed25519NoteSigner(name: f.created.origin, privateKey: Ed25519PrivateKey.generate())
            .verifierKey
        report = try verify(folder, key: stranger)
        #expect(!report.passed)
        #expect(report.checks.contains { !$0.passed && $0.check == "checkpoint" })
    }

    /// A `temoin-export/v1` bundle (the README that pointed at Docs/verifying.md) still verifies;
    /// a v1 manifest with the v2 README, or the reverse, does not.
    @Test func aVersion1BundleStillVerifiesAndTheReadmeMustBeItsFormats() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        let exportKey = try P256PrivateKey(
            pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.directory.exportKeyFile))))
        let certificate = try f.directory.loadExportCertificate()
        let current = try JSONDecoder().decode(
            ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        #expect(current.format == "temoin-export/v2")
        func rewrite(format: String, readme: String) throws -> String {
            let bundle = try copy(folder)
            try Data(readme.utf8).write(to: URL(fileURLWithPath: bundle + "/README.txt"))
            var files = current.files
            files["README.txt"] = SHA256.hash(Array(readme.utf8)).hex
            let manifest = try ExportManifest(
                origin: current.origin, alert: current.alert, requester: current.requester,
                reference: current.reference, created: current.created, exportEntry: current.exportEntry,
                checkpointSize: current.checkpointSize, files: files, format: format
            ).encoded()
            try Data(manifest).write(to: URL(fileURLWithPath: bundle + "/manifest.json"))
            try Data(CMS.sign(manifest, key: exportKey, certificate: certificate)).write(
                to: URL(fileURLWithPath: bundle + "/manifest.json.p7s"))
            return bundle
        }
        let v1Readme = BundleTexts.readme(alert: current.alert, origin: current.origin, format: "temoin-export/v1")
        #expect(v1Readme.contains("Docs/verifying.md"))
        #expect(!BundleTexts.readme(alert: current.alert, origin: current.origin).contains("Docs/"))
        let v1 = try verify(try rewrite(format: "temoin-export/v1", readme: v1Readme), key: key)
        #expect(v1.passed, "\(v1.checks.filter { !$0.passed })")
        let mixed = try verify(try rewrite(format: "temoin-export/v2", readme: v1Readme), key: key)
        #expect(mixed.checks.contains { !$0.passed && $0.subject == "README.txt" })
        let unknown = try verify(try rewrite(format: "temoin-export/v3", readme: v1Readme), key: key)
        #expect(unknown.checks.contains { !$0.passed && $0.subject == "manifest.json" })
    }

    /// Someone holding the export key changes evidence and re-signs the manifest: the log catches it.
    @Test func anInsiderWithTheExportKeyIsStillCaught() async throws {
        let (f, e, folder) = try await ExportTests.exported()
        let key = f.created.verifierKey
        let exportKey = try P256PrivateKey(
            pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.directory.exportKeyFile))))
        let certificate = try f.directory.loadExportCertificate()
        func resign(_ bundle: String) throws {
            var manifest =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: bundle + "/manifest.json"))) as! [String: Any]
            var files = manifest["files"] as! [String: String]
            for name in files.keys {
                files[name] = SHA256.hash(try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle + "/" + name)))).hex
            }
            manifest["files"] = files
            let bytes = try [UInt8](JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
            try Data(bytes).write(to: URL(fileURLWithPath: bundle + "/manifest.json"))
            try Data(CMS.sign(bytes, key: exportKey, certificate: certificate)).write(
                to: URL(fileURLWithPath: bundle + "/manifest.json.p7s"))
        }
        // An original replaced.
        var bundle = try copy(folder)
        try Data(AudioIngestTests.chunks[5]).write(to: URL(fileURLWithPath: bundle + "/originals/0.wav"))
        try resign(bundle)
        var report = try verify(bundle, key: key)
        #expect(report.checks.contains { $0.check == "cms" && $0.passed }, "the re-signed manifest itself verifies")
        #expect(report.checks.contains { !$0.passed && $0.subject == "originals/0.wav" })
        // An entry altered.
        bundle = try copy(folder)
        let chunkEntry = e.files.keys.filter { $0.hasSuffix(".entry") }.sorted().first { name in
            (try? Entry(parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))))?.kind
                == .audioChunk
        }!
        var text = try String(contentsOfFile: bundle + "/" + chunkEntry, encoding: .utf8)
        text = text.replacingOccurrences(of: "duration-us 1000000", with: "duration-us 900000")
        try text.write(toFile: bundle + "/" + chunkEntry, atomically: true, encoding: .utf8)
        try resign(bundle)
        report = try verify(bundle, key: key)
        #expect(!report.passed)
        #expect(report.checks.contains { !$0.passed && $0.subject == chunkEntry })
        // An older valid checkpoint swapped in.
        bundle = try copy(folder)
        let reader = try LedgerReader(directory: f.directory)
        let current = try SignedCheckpoint(
            parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/checkpoint"))))
        let older = try reader.proof(index: 0, size: current.checkpoint.size - 1).checkpoint
        try Data(older.bytes).write(to: URL(fileURLWithPath: bundle + "/checkpoint"))
        try resign(bundle)
        report = try verify(bundle, key: key)
        #expect(!report.passed)
        #expect(report.checks.contains { !$0.passed && $0.check == "entry" })
    }

    func flip(_ bytes: [UInt8], _ i: Int) -> [UInt8] {
        var b = bytes
        b[max(0, min(i, b.count - 1))] ^= 0x5a
        return b
    }
}
