import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// Encryption at rest (Docs/storage.md, "Keys" and "Blob files"): every blob sealed with its
/// alert's key, bound to the alert and the name; `temoin migrate` for folders made before.
struct EncryptionTests {
    let alert = AlertID("0123456789abcdef0123456789abcdef")!
    let other = AlertID("fedcba9876543210fedcba9876543210")!

    @Test func theBlobFormatRoundTripsAtEverySegmentBoundaryWithTheDocumentedSize() throws {
        let key = try SymmetricKey.random()
        for size in [0, 1, 65_535, 65_536, 65_537, 2 * 65_536, 200_000] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
            let name = SHA256.hash(plaintext)
            let sealed = try EncryptedBlob.seal(plaintext, name: name, alert: alert, key: key)
            #expect(sealed.count == EncryptedBlob.sealedSize(size))
            #expect(sealed.count == 20 + size + 16 * max(1, (size + 65_535) / 65_536))
            #expect(Array(sealed.prefix(8)) == Array("TMNBLOB".utf8) + [1])
            #expect(try EncryptedBlob.open(sealed, name: name, alert: alert, key: key) == plaintext)
            // Cut at the last segment boundary, or one segment too many: refused.
            if size > 65_536 {
                let cut = Array(sealed.prefix(20 + 65_536 + 16))
                #expect(throws: TemoinError.self) { try EncryptedBlob.open(cut, name: name, alert: alert, key: key) }
            }
            #expect(throws: TemoinError.self) {
                try EncryptedBlob.open(sealed + Array(sealed.suffix(16)), name: name, alert: alert, key: key)
            }
        }
    }

    /// One segment's nonce per the format: base XOR (0⁷ ‖ BE32(i) ‖ final), checked against a
    /// segment sealed by hand with the documented nonce and additional data.
    @Test func segmentNoncesAndAdditionalDataAreAsDocumented() throws {
        let key = try SymmetricKey.random()
        let plaintext = [UInt8](repeating: 0x41, count: 65_536 + 10)
        let name = SHA256.hash(plaintext)
        let sealed = try EncryptedBlob.seal(plaintext, name: name, alert: alert, key: key)
        let header = Array(sealed.prefix(20))
        var nonce = Array(header[8...])
        nonce[10] ^= 1 // segment 1
        nonce[11] ^= 1 // final
        let aad = header + Array(alert.rawValue.utf8) + name.bytes
        let record = Array(sealed[(20 + 65_536 + 16)...])
        #expect(
            try AESGCM(key: key, encrypting: false).open(nonce: nonce, aad: aad, record) == Array(plaintext.suffix(10)))
    }

    @Test func aTamperedSwappedOrMovedBlobIsRefusedAndNamedByTheAudit() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 2, chunks: 2)
        let blobs = f.directory.blobs
        let a0 = LedgerFixture.alert(0), a1 = LedgerFixture.alert(1)
        let entries = try LedgerReader(directory: f.directory).entries(alert: a0).map(\.entry)
        let chunk0 = entries.first { $0.kind == .audioChunk }!
        let original = chunk0.hash("original-sha256")!, opus = chunk0.hash("opus-sha256")!
        #expect(try f.audit().passed)
        let key = try await w.alertKey(for: a0)
        let path = blobs.path(alert: a0, hash: original)
        let genuine = try Data(contentsOf: URL(fileURLWithPath: path))

        // One bit of ciphertext flipped.
        var flipped = genuine
        flipped[30] ^= 1
        try flipped.write(to: URL(fileURLWithPath: path))
        #expect { try blobs.read(alert: a0, hash: original, key: key) } throws: {
            ($0 as? TemoinError)?.code == "blob.corrupt"
        }
        #expect(try f.audit().names("blob \(a0)/\(original.hex)"))

        // Another blob of the same alert put under this name.
        try Data(contentsOf: URL(fileURLWithPath: blobs.path(alert: a0, hash: opus))).write(
            to: URL(fileURLWithPath: path))
        #expect(throws: TemoinError.self) { try blobs.read(alert: a0, hash: original, key: key) }
        #expect(try f.audit().names("blob \(a0)/\(original.hex)"))

        // The genuine file moved to another alert's folder (same name): that alert's key and id fail.
        try genuine.write(to: URL(fileURLWithPath: path))
        #expect(try f.audit().passed)
        let moved = blobs.path(alert: a1, hash: original)
        try genuine.write(to: URL(fileURLWithPath: moved))
        let key1 = try await w.alertKey(for: a1)
        #expect(throws: TemoinError.self) { try blobs.read(alert: a1, hash: original, key: key1) }
        #expect(throws: TemoinError.self) { try blobs.read(alert: a1, hash: original, key: key) }
        try FileManager.default.removeItem(atPath: moved)

        // A wrapped key moved to another alert does not unwrap.
        let db = try f.rawDatabase()
        try db.execute(
            "UPDATE alert_keys SET wrapped = (SELECT wrapped FROM alert_keys WHERE alert = '\(a0)') "
                + "WHERE alert = '\(a1)'"
        )
        #expect(try f.audit().names("blob \(a1)/"))
    }

    @Test func eachAlertHasItsOwnKeyWrappedByTheMasterKeyMadeAtInit() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 2, chunks: 1)
        let master = try Data(contentsOf: URL(fileURLWithPath: f.directory.masterKeyFile))
        #expect(master.count == 32)
        let mode =
            try FileManager.default.attributesOfItem(atPath: f.directory.masterKeyFile)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        #expect(f.directory.secretFiles.contains(f.directory.masterKeyFile))
        let k0 = try await w.alertKey(for: LedgerFixture.alert(0)),
            k1 = try await w.alertKey(for: LedgerFixture.alert(1))
        #expect(k0 != k1)
        let reader = try LedgerReader(directory: f.directory)
        #expect(try reader.alertKey(LedgerFixture.alert(0)) == k0)
        // Another master key opens nothing.
        try Data(try SecureRandom.bytes(32)).write(to: URL(fileURLWithPath: f.directory.masterKeyFile))
        #expect { _ = try reader.alertKey(LedgerFixture.alert(0)) } throws: {
            ($0 as? TemoinError)?.code == "keys.unwrap-failed"
        }
        #expect(!(try f.audit().passed))
    }

    // MARK: Migration of a folder made before encryption at rest

    /// A data folder as the previous version left it: no master key, plaintext blobs.
    static func legacyFolder() async throws -> LedgerFixture {
        let f = try await LedgerFixture()
        try FileManager.default.removeItem(atPath: f.directory.masterKeyFile)
        let w = try f.writer()
        for a in 0..<2 {
            let alert = LedgerFixture.alert(a)
            _ = try await f.open(alert, on: w)
            for seq in 0..<2 {
                let original = Array("RIFF original \(alert) \(seq)".utf8),
                    opus = Array("OggS opus \(alert) \(seq)".utf8)
                for bytes in [original, opus] {
                    try FileSystem.makeDirectories(f.directory.blobs.root + "/" + alert.rawValue)
                    try FileSystem.writeDurably(
                        bytes, to: f.directory.blobs.path(alert: alert, hash: SHA256.hash(bytes)), replace: false)
                }
                _ = try await w.append(Self.chunkDraft(alert, seq: seq, original: original, opus: opus))
            }
        }
        return f
    }

    static func chunkDraft(_ alert: AlertID, seq: Int, original: [UInt8], opus: [UInt8]) -> EntryDraft {
        EntryDraft(
            kind: .audioChunk, alert: alert,
            [
                ("seq", String(seq)), ("capture-start", "2026-11-29T17:00:00.000Z"), ("duration-us", "5000000"),
                ("original-format", "wav"), ("original-sha256", SHA256.hash(original).hex),
                ("original-size", String(original.count)), ("opus-sha256", SHA256.hash(opus).hex),
                ("opus-packets", "1"), ("opus-bytes", String(opus.count)),
                ("codec", "opus application=voip frame-ms=20 bitrate=24000 complexity=10 rate=16000"),
                ("codec-library", "libopus 1.3.1"), ("statement-sig", "none"),
            ])
    }

    /// Every file under the data folder, with its bytes.
    static func files(under root: String) throws -> [(String, Data)] {
        let e = FileManager.default.enumerator(atPath: root)!
        var out = [(String, Data)]()
        while let name = e.nextObject() as? String {
            var dir: ObjCBool = false
            let path = root + "/" + name
            if FileManager.default.fileExists(atPath: path, isDirectory: &dir), !dir.boolValue {
                out.append((name, try Data(contentsOf: URL(fileURLWithPath: path))))
            }
        }
        return out
    }

    static func plaintextBlobFiles(_ f: LedgerFixture) throws -> [String] {
        try files(under: f.directory.blobs.root).filter { _, data in
            data.starts(with: Data("RIFF".utf8)) || data.starts(with: Data("OggS".utf8))
                || data.range(of: Data("original ".utf8)) != nil || data.range(of: Data("opus ".utf8)) != nil
        }.map(\.0)
    }

    @Test func migrateSealsAFolderMadeWithPlaintextBlobsAndTheAuditPassesBeforeAndAfter() async throws {
        let f = try await Self.legacyFolder()
        let before = try f.audit()
        #expect(before.passed, "\(before.problems)")
        #expect(before.plaintextBlobs == 8)
        #expect(try Self.plaintextBlobFiles(f).count == 8)

        let report = try await BlobMigration.run(directory: f.directory)
        #expect(report.sealed == 8 && report.alerts == 2)
        let after = try f.audit()
        #expect(after.passed, "\(after.problems)")
        #expect(after.plaintextBlobs == 0 && after.blobs == 8)
        #expect(try Self.plaintextBlobFiles(f).isEmpty, "no blob on disk holds plaintext")
        let reader = try LedgerReader(directory: f.directory)
        let original = Array("RIFF original \(LedgerFixture.alert(1)) 1".utf8)
        #expect(try reader.blob(alert: LedgerFixture.alert(1), hash: SHA256.hash(original)) == original)

        // Idempotent: a second run seals nothing and changes nothing.
        let again = try await BlobMigration.run(directory: f.directory)
        #expect(again.sealed == 0 && again.alreadySealed == 8)
        #expect(try f.audit().passed)
    }

    /// A crash after any step of `temoin migrate` (simulated by stopping after step k, for every
    /// k) leaves a folder the audit accepts, whose blobs are all readable, and a second run
    /// finishes the work.
    @Test(.tags(.slow), .notInFastRuns) func aMigrationStoppedAfterAnyStepIsAuditedCleanAndFinishedByTheNextRun()
        async throws
    {
        let template = try await Self.legacyFolder()
        var k = 1
        while true {
            let copy = template.root.appendingPathComponent("copy-\(k)")
            try FileManager.default.copyItem(
                atPath: template.directory.path, toPath: copy.path)
            let directory = DataDirectory(copy.path)
            let points = CrashPoints(stopAfter: k)
            var stopped = false
            do {
                _ = try await BlobMigration.run(directory: directory, step: points)
            } catch let e as TemoinError where e.code == "test.stopped" {
                stopped = true
            }
            let mid = try Auditor(directory: directory).run()
            #expect(mid.passed, "after step \(k) (\(points.passed.last ?? "-")): \(mid.problems)")
            _ = try await BlobMigration.run(directory: directory)
            let done = try Auditor(directory: directory).run()
            #expect(done.passed && done.plaintextBlobs == 0, "resumed after step \(k): \(done.problems)")
            let leftovers =
                try FileSystem.list(directory.blobs.root + "/" + LedgerFixture.alert(0).rawValue)
                + FileSystem.list(directory.blobs.root + "/" + LedgerFixture.alert(1).rawValue)
            #expect(leftovers.allSatisfy { !$0.hasPrefix(".") }, "\(leftovers)")
            try FileManager.default.removeItem(at: copy)
            if !stopped { break }
            k += 1
        }
        #expect(k > 20, "every step was tried: \(k)")
    }

    @Test func theServiceRefusesAFolderWithoutAMasterKeyAndNamesTheMigration() async throws {
        let f = try await Self.legacyFolder()
        #expect { _ = try f.directory.loadMasterKey() } throws: { error in
            guard let e = error as? TemoinError else { return false }
            return e.code == "keys.no-master-key" && e.reason.contains("temoin migrate")
        }
        // The writer of a folder without a master key cannot make alert keys either.
        let w = try f.writer()
        await #expect(throws: TemoinError.self) { _ = try await w.alertKey(for: LedgerFixture.alert(0)) }
    }
}
