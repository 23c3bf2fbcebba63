import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
@testable import TemoinExport
import TemoinCore
import TemoinCrypto
import TemoinVerify
import TemoinTestSupport
import Testing

/// Log-key rotation (Docs/ledger-format.md §3): the transition proof, the writer's start-up, the
/// audit, and bundles verified with the key a court was given before the rotation.
struct LogKeyRotationTests {
    static func verify(_ folder: String, _ key: VerifierKey) throws -> VerificationReport {
        var verifier = BundleVerifier(folder: folder, trustedKey: key)
        return try verifier.run()
    }

    static func failures(_ r: VerificationReport) -> String {
        "\(r.checks.filter { !$0.passed }.map { "\($0.check) \($0.subject): \($0.en)" })"
    }

    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aRotationIsCosignedAndABundleMadeAfterItVerifiesWithTheOldAndTheNewKey() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let old = f.created.verifierKey
        let rotation = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
        let new = w.verifierKey
        #expect(new != old && new.name == old.name)
        #expect(rotation.entry.kind == .keyRotated && rotation.entry["key-role"] == "log")
        #expect(rotation.entry["key"] == new.description)
        // The transition proof: the checkpoint that first covers the rotation carries both signatures.
        #expect(rotation.checkpoint.checkpoint.size == rotation.index + 1)
        #expect(rotation.checkpoint.note.signatures.map(\.keyID) == [old.keyID, new.keyID])
        try rotation.checkpoint.verify(key: old, using: Ed25519())
        try rotation.checkpoint.verify(key: new, using: Ed25519())
        // The rotation's receipt and everything after it are the new key's alone.
        try rotation.receipt().verify(key: new, using: Ed25519())
        #expect(throws: TemoinError.self) { try rotation.receipt().verify(key: old, using: Ed25519()) }
        #expect(try Self.read(f.directory.verifierKeyFile) == Array((new.description + "\n").utf8))
        #expect(!FileManager.default.fileExists(atPath: f.directory.nextLogKeyFile))
        // The old private key is gone: keys/log.key is the new one.
        #expect(
            try Ed25519NoteSigner(name: old.name, privateKey: f.directory.loadLogKey()).verifierKey == new)

        let folder = try await OperatorCertificateTests.export(f, w)
        let manifest = try JSONDecoder().decode(
            ExportManifest.self, from: Data(Self.read(folder + "/manifest.json")))
        #expect(manifest.format == "temoin-export/v3")
        #expect(manifest.files["key-transitions/\(rotation.index).tlog-proof"] != nil)
        #expect(manifest.files["key-transitions/\(rotation.index).consistency"] != nil)
        #expect(manifest.files["entries/\(rotation.index).entry"] != nil)
        #expect(try Self.read(folder + "/log-key.txt") == Array((new.description + "\n").utf8))

        let withOld = try Self.verify(folder, old)
        #expect(withOld.passed, "\(Self.failures(withOld))")
        #expect(
            withOld.checks.contains {
                $0.check == "transition" && $0.passed && $0.en.contains("entry \(rotation.index)")
                    && $0.en.contains("\(old.keyIDHex) → \(new.keyIDHex)")
            })
        let withNew = try Self.verify(folder, new)
        #expect(withNew.passed, "\(Self.failures(withNew))")
        #expect(
            withNew.checks.contains { $0.check == "genesis" && $0.passed && $0.en.contains("1 proven key rotation") })
        // A key of another log, or a key this log never had, proves nothing.
        let stranger = try Ed25519NoteSigner(name: old.name, privateKey: Ed25519PrivateKey.generate()).verifierKey
        #expect(!(try Self.verify(folder, stranger)).passed)
        let audit = try f.audit()
        #expect(audit.passed, "\(audit.problems)")
    }

    @Test func aBundleWithoutItsTransitionOrWhoseCheckpointLacksTheOldSignatureFails() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let old = f.created.verifierKey
        let rotation = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
        let folder = try await OperatorCertificateTests.export(f, w)
        let proofPath = folder + "/key-transitions/\(rotation.index).tlog-proof"
        let original = try Self.read(proofPath)

        // The transition file removed: nothing leads from the old key to the checkpoint's.
        try FileManager.default.removeItem(atPath: proofPath)
        let removed = try Self.verify(folder, old)
        #expect(!removed.passed)
        #expect(removed.checks.contains { $0.check == "transition" && !$0.passed })

        // The cosigned checkpoint with the old key's signature taken out.
        let proof = try TlogProof(parsing: original)
        let note = proof.checkpoint.note
        let newOnly = SignedNote(text: note.text, signatures: note.signatures.filter { $0.keyID != old.keyID })
        let stripped = TlogProof(index: proof.index, path: proof.path, checkpoint: try SignedCheckpoint(note: newOnly))
        try Self.write(stripped.bytes, proofPath)
        let unsigned = try Self.verify(folder, old)
        #expect(!unsigned.passed)
        #expect(
            unsigned.checks.contains { $0.check == "transition" && !$0.passed && $0.en.contains("two signatures") })

        // Every trace of the rotation removed (entry, proofs): the old key cannot reach the checkpoint.
        for name in [
            "key-transitions/\(rotation.index).tlog-proof", "key-transitions/\(rotation.index).consistency",
            "entries/\(rotation.index).entry", "entries/\(rotation.index).entry.tlog-proof",
        ] {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        let gone = try Self.verify(folder, old)
        #expect(!gone.passed)
        #expect(gone.checks.contains { $0.check == "checkpoint" && !$0.passed })
    }

    @Test func aRotationTheNewKeyDidNotCosignIsRefusedEverywhere() async throws {
        let f = try await LedgerFixture()
        let old = f.created.verifierKey
        let forger = try Ed25519PrivateKey.generate()
        let forgedKey = try Ed25519NoteSigner(name: old.name, privateKey: forger).verifierKey
        let folder: String
        let forgedIndex: UInt64
        do {
            let w = try f.writer()
            // Appended as an ordinary entry, a key.rotated of the log key is refused.
            await #expect {
                _ = try await w.append(
                    EntryDraft(kind: .keyRotated, [("key-role", "log"), ("key", forgedKey.description)]))
            } throws: {
                ($0 as? TemoinError)?.code == "transition.invalid"
            }
            // Forged below the writer's checks: signed by the old key alone, then the new key signs.
            forgedIndex = try await w.forgeLogRotation(to: forger).index
            folder = try await OperatorCertificateTests.export(f, w)
        }
        let report = try Self.verify(folder, old)
        #expect(!report.passed)
        #expect(report.checks.contains { $0.check == "transition" && !$0.passed })
        let audit = try f.audit()
        #expect(
            audit.problems.contains {
                $0.place == "checkpoint \(forgedIndex + 1)" && $0.problem.contains("new key")
            }, "\(audit.problems)")
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.code == "ledger.rotation-not-cosigned" }
    }

    @Test func twoRotationsInARowAreFollowedInOrder() async throws {
        let f = try await LedgerFixture()
        let k0 = f.created.verifierKey
        let folder: String
        let k1: VerifierKey, k2: VerifierKey
        do {
            let w = try f.writer()
            _ = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
            k1 = w.verifierKey
            _ = try await f.open(LedgerFixture.alert(7), on: w)
            _ = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
            k2 = w.verifierKey
            // A key the log already had is refused.
            await #expect {
                _ = try await w.rotateLogKey(to: try f.directory.loadLogKey())
            } throws: {
                ($0 as? TemoinError)?.code == "keys.log-key-reused"
            }
        }
        // The writer starts again with the latest key.
        let w = try f.writer()
        #expect(w.verifierKey == k2)
        folder = try await OperatorCertificateTests.export(f, w)
        for (key, transitions) in [(k0, 2), (k1, 1), (k2, 0)] {
            let r = try Self.verify(folder, key)
            #expect(r.passed, "\(Self.failures(r))")
            #expect(r.checks.filter { $0.check == "transition" }.count == transitions)
        }
        // Only the second transition: the first key can no longer reach the checkpoint, and the
        // genesis key no longer leads to the second.
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(Self.read(folder + "/manifest.json")))
        let first = manifest.files.keys.filter { $0.hasPrefix("key-transitions/") }.sorted {
            $0.count < $1.count || ($0.count == $1.count && $0 < $1)
        }.first!
        try FileManager.default.removeItem(atPath: folder + "/" + first)
        #expect(!(try Self.verify(folder, k0)).passed)
        let audit = try f.audit()
        #expect(audit.passed, "\(audit.problems)")
    }

    @Test func theWriterStartsOnlyWithTheCurrentKeyAndFinishesAnInterruptedRotation() async throws {
        let f = try await LedgerFixture()
        let oldPEM = try Self.read(f.directory.logKeyFile)
        let newKey = try Ed25519PrivateKey.generate()
        do {
            let w = try f.writer()
            _ = try await w.rotateLogKey(to: newKey)
        }
        let newPEM = try Self.read(f.directory.logKeyFile)
        // The genesis key, now replaced, is refused, as is a key the log never had.
        try Self.write(oldPEM, f.directory.logKeyFile)
        #expect { _ = try f.writer() } throws: {
            ($0 as? TemoinError)?.code == "ledger.wrong-log-key"
                && ($0 as? TemoinError)?.reason.contains("old key of this log") == true
        }
        try Self.write(Ed25519PrivateKey.generate().pem, f.directory.logKeyFile)
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.code == "ledger.wrong-log-key" }

        // A crash after the commit, before the new key was installed: the next start installs it.
        try Self.write(oldPEM, f.directory.logKeyFile)
        try Self.write(newPEM, f.directory.nextLogKeyFile)
        try FileManager.default.removeItem(atPath: f.directory.verifierKeyFile)
        #expect(FileManager.default.createFile(atPath: f.directory.verifierKeyFile, contents: Data("stale\n".utf8)))
        do {
            let w = try f.writer()
            #expect(try Self.read(f.directory.logKeyFile) == newPEM)
            #expect(!FileManager.default.fileExists(atPath: f.directory.nextLogKeyFile))
            #expect(try Self.read(f.directory.verifierKeyFile) == Array((w.verifierKey.description + "\n").utf8))
        }
        // A new key the log never named (a crash before the commit) is removed.
        try Self.write(Ed25519PrivateKey.generate().pem, f.directory.nextLogKeyFile)
        chmod(f.directory.nextLogKeyFile, 0o600)
        do {
            _ = try f.writer()
            #expect(!FileManager.default.fileExists(atPath: f.directory.nextLogKeyFile))
        }
        #expect(try f.audit().passed)
    }

    @Test func theOutsideCheckpointMayLagARotation() async throws {
        let f = try await LedgerFixture()
        let before = try Self.read(f.directory.checkpointFile)
        do {
            let w = try f.writer()
            _ = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
        }
        // As if the copy outside the database had not been rewritten after the rotation's commit.
        try Self.write(before, f.directory.checkpointFile)
        _ = try f.writer()
    }
}
