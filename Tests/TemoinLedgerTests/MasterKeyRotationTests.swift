import Foundation
@testable import TemoinLedger
@testable import TemoinExport
import TemoinCore
import TemoinCrypto
import TemoinVerify
import Testing

/// Master-key rotation (Docs/storage.md, "Rotating the master key"): every wrapped key re-wrapped
/// under a new master key with a `key.rotated … master` entry, the old key destroyed — which is
/// what makes an erasure reach the backups taken before it.
struct MasterKeyRotationTests {
    static let alert = ErasureTests.alert

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// The master ids of every wrapped key, as stored.
    static func masters(_ directory: DataDirectory) throws -> [String] {
        try LedgerStore(db: SQLiteConnection(path: directory.database)).wrappedKeyRows().map(\.key.master)
    }

    static func id(_ file: String) throws -> String { try FileMasterKey(path: file).id }

    /// Every blob an entry of `alert` names, opened through the read side.
    static func blobs(_ directory: DataDirectory, _ alert: AlertID) throws -> [[UInt8]] {
        let reader = try LedgerReader(directory: directory)
        return try reader.entries(alert: alert).flatMap { e in
            try ["original-sha256", "opus-sha256"].compactMap { e.entry.hash($0) }.map { hash in
                try reader.blob(alert: alert, hash: hash)
            }
        }
    }

    /// A closed alert with audio, locations and a bundle (`ErasureTests.closedAlert`), a second alert
    /// with chunks, and the ingest device's contact key.
    static func folder() async throws -> (LedgerFixture, bundle: String) {
        let (f, bundle) = try await ErasureTests.closedAlert()
        let w = try f.writer()
        _ = try await f.open(LedgerFixture.alert(1), on: w)
        for seq in 0..<2 { _ = try await f.chunk(LedgerFixture.alert(1), seq: seq, on: w) }
        _ = try await w.deviceKey(for: f.created.ingestDevice)
        return (f, bundle)
    }

    @Test func aRotationReWrapsEveryAlertAndDeviceKeyAndLeavesTheEvidenceAsItWas() async throws {
        let (f, bundle) = try await Self.folder()
        let directory = f.directory
        let oldID = try Self.id(directory.masterKeyFile)
        let oldBytes = try Self.bytes(directory.masterKeyFile)
        let w = try f.writer()
        let alertKeys = [try await w.alertKey(for: Self.alert), try await w.alertKey(for: LedgerFixture.alert(1))]
        let deviceKey = try await w.deviceKey(for: f.created.ingestDevice)
        let wrappedBefore = try LedgerStore(db: f.rawDatabase()).wrappedKeyRows()
        let blobs = [try Self.blobs(directory, Self.alert), try Self.blobs(directory, LedgerFixture.alert(1))]
        let recording = try LedgerReader(directory: directory).recording(alert: Self.alert).bytes
        let sizeBefore = try LedgerReader(directory: directory).size()

        let report = try await MasterKeyRotation.run(writer: w)
        #expect(report.oldID == oldID && report.newID != oldID && report.resumed == .no)
        #expect(report.alertKeys == 2 && report.deviceKeys == 1 && report.oldFileOverwritten)
        #expect(report.newID.hasPrefix("aes256:") && report.newID.count == "aes256:".count + 16)
        // One entry, in the log: when the keys changed, and to which key (by its id).
        let entry = try LedgerReader(directory: directory).entry(at: try #require(report.entry)).parsed()
        #expect(report.entry == sizeBefore)
        #expect(entry.kind == .keyRotated && entry["key-role"] == "master" && entry["key"] == report.newID)
        // Every row names the new key and was wrapped again; the keys inside are the same keys.
        let wrappedAfter = try LedgerStore(db: f.rawDatabase()).wrappedKeyRows()
        #expect(wrappedAfter.map(\.owner) == wrappedBefore.map(\.owner))
        #expect(wrappedAfter.allSatisfy { $0.key.master == report.newID })
        #expect(zip(wrappedBefore, wrappedAfter).allSatisfy { $0.key.wrapped != $1.key.wrapped })
        #expect(try await w.alertKey(for: Self.alert) == alertKeys[0])
        #expect(try LedgerReader(directory: directory).alertKey(LedgerFixture.alert(1)) == alertKeys[1])
        #expect(try LedgerReader(directory: directory).deviceKey(f.created.ingestDevice)?.key == deviceKey)
        #expect(try Self.blobs(directory, Self.alert) == blobs[0])
        #expect(try Self.blobs(directory, LedgerFixture.alert(1)) == blobs[1])
        #expect(try LedgerReader(directory: directory).recording(alert: Self.alert).bytes == recording)
        // The bundle made before still verifies; one made after holds the same originals.
        #expect(try LogKeyRotationTests.verify(bundle, f.created.verifierKey).passed)
        let after = f.root.appendingPathComponent("bundle-after").path
        _ = try await Exporter(directory: directory).export(
            alert: Self.alert, to: after, requester: "OPJ Lyon", reference: "PV 2026/124", writer: w)
        #expect(try LogKeyRotationTests.verify(after, f.created.verifierKey).passed)
        for name in try FileManager.default.contentsOfDirectory(atPath: bundle + "/originals") {
            #expect(try Self.bytes(after + "/originals/" + name) == Self.bytes(bundle + "/originals/" + name))
        }
        // The new key is installed; no file of keys/ holds the old key's bytes any more.
        #expect(try Self.id(directory.masterKeyFile) == report.newID)
        #expect(!FileManager.default.fileExists(atPath: directory.nextMasterKeyFile))
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.keysFolder) {
            #expect(try !Self.bytes(directory.keysFolder + "/" + name).containsSequence(oldBytes), "\(name)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: directory.masterKeyFile)[.posixPermissions]
        #expect((mode as? Int) == 0o600)
        // Keys made afterwards are wrapped by the new key (by a writer opened afterwards too: the
        // crash test below).
        _ = try await f.open(LedgerFixture.alert(2), on: w)
        #expect(try Self.masters(directory).allSatisfy { $0 == report.newID })
        let audit = try f.audit()
        #expect(audit.passed, "\(audit.problems)")
        #expect(audit.masterKeyRotations.map(\.id) == [report.newID])
        #expect(audit.masterKeyRotations.map(\.index) == [sizeBefore])
        #expect(!audit.unfinishedMasterKeyRotation)
    }

    @Test func theMasterKeyIDIsADomainSeparatedSHA256OfTheKeyAndTheBytesAreDestroyedOnRequest() throws {
        // aes256: ‖ hex(SHA-256("temoin/master-key-id/v1\n" ‖ key)[0..<8]), computed apart (Python hashlib).
        let key = SoftwareMasterKey(key: try SymmetricKey(Array(0..<32)))
        #expect(key.id == "aes256:aeb3221a471164af")
        let alertKey = try SymmetricKey.random()
        let wrapped = try key.wrap(alertKey, alert: Self.alert)
        #expect(try key.unwrap(wrapped, master: key.id, for: .alert(Self.alert)) == alertKey)
        #expect(throws: TemoinError.self) {
            try key.unwrap(wrapped, master: "aes256:0000000000000000", for: .alert(Self.alert))
        }
        key.destroy()
        #expect { try key.unwrap(wrapped, for: .alert(Self.alert)) } throws: {
            ($0 as? TemoinError)?.id == .keysUnwrapFailed
        }
        #expect(throws: TemoinError.self) { try key.wrap(alertKey, alert: Self.alert) }
    }

    /// A crash after any step (simulated by stopping after step k, for every k) leaves a folder
    /// that opens, audits clean and reads every blob; the same command then finishes the job.
    @Test(arguments: [false, true])
    func aRotationStoppedAfterAnyStepLeavesAFolderThatOpensAuditsAndIsFinishedByTheNextRun(
        keepOld: Bool
    )
        async throws
    {
        let (template, _) = try await Self.folder()
        let oldID = try Self.id(template.directory.masterKeyFile)
        let blobs = try Self.blobs(template.directory, Self.alert)
        var k = 1
        while true {
            let copy = template.root.appendingPathComponent("copy-\(k)")
            try FileManager.default.copyItem(atPath: template.directory.path, toPath: copy.path)
            let directory = DataDirectory(copy.path)
            let kept = keepOld ? template.root.appendingPathComponent("old-\(k).key").path : nil
            let points = CrashPoints(stopAfter: k)
            var stopped = false
            do {
                _ = try await MasterKeyRotation.run(directory: directory, keepOld: kept, step: points)
            } catch let e as TemoinError where e.code == "test.stopped" {
                stopped = true
            }
            let place = "after step \(k) (\(points.passed.last ?? "-"))"
            let mid = try Auditor(directory: directory).run()
            #expect(mid.passed, "\(place): \(mid.problems)")
            #expect(try Self.blobs(directory, Self.alert) == blobs, "\(place)")
            // The folder opens for writing, and a key made now is wrapped by the key the ledger names.
            let committed = mid.masterKeyRotations.last?.id ?? oldID
            do {
                let w = try LedgerWriter(directory: directory)
                _ = try await template.open(LedgerFixture.alert(7), on: w)
            }
            #expect(try Self.masters(directory).allSatisfy { $0 == committed }, "\(place)")

            // A run that had installed its key is over: the next run is a rotation of its own (a new
            // --keep-old file: the first holds the key that run replaced).
            let installed = points.passed.contains("new master key installed as keys/master.key")
            let done = try await MasterKeyRotation.run(directory: directory, keepOld: installed ? nil : kept)
            let audit = try Auditor(directory: directory).run()
            #expect(audit.passed && !audit.unfinishedMasterKeyRotation, "\(place), then finished: \(audit.problems)")
            #expect(!FileManager.default.fileExists(atPath: directory.nextMasterKeyFile), "\(place)")
            let inForce = try Self.id(directory.masterKeyFile)
            do {
                let w = try LedgerWriter(directory: directory)
                _ = try await template.open(LedgerFixture.alert(8), on: w)
            }
            #expect(try Self.masters(directory).allSatisfy { $0 == inForce }, "\(place)")
            #expect(audit.masterKeyRotations.last?.id == inForce)
            #expect(try Self.blobs(directory, Self.alert) == blobs, "\(place)")
            if installed {
                #expect(audit.masterKeyRotations.count == 2 && done.resumed == .no, "\(place)")
            } else {
                // Cut before its key was installed: the second run finished that rotation, no other.
                #expect(audit.masterKeyRotations.count == 1 && done.resumed != .no, "\(place)")
                #expect(done.oldID == oldID, "\(place)")
                if let kept {
                    #expect(try Self.id(kept) == oldID, "\(place): the kept key is the old one")
                    let mode = try FileManager.default.attributesOfItem(atPath: kept)[.posixPermissions]
                    #expect((mode as? Int) == 0o600)
                }
            }
            try FileManager.default.removeItem(at: copy)
            if !stopped { break }
            k += 1
        }
        #expect(k == (keepOld ? 7 : 6), "every step was tried: \(k)")
    }

    @Test func aBackupTakenBeforeTheRotationRestoresWithTheOldKeyAndRefusesTheNewOneNamingTheKeyItNeeds()
        async throws
    {
        let f = try await LedgerFixture()
        _ = try await f.populate(alerts: 2, chunks: 2)
        let oldID = try Self.id(f.directory.masterKeyFile)
        let before = f.root.appendingPathComponent("backup-before").path
        try Backup.make(of: f.directory, to: before)
        let kept = f.root.appendingPathComponent("old-master.key").path
        let report = try await MasterKeyRotation.run(directory: f.directory, keepOld: kept)
        #expect(report.keptOld == kept && report.oldID == oldID)
        let after = f.root.appendingPathComponent("backup-after").path
        try Backup.make(of: f.directory, to: after)

        let refused = f.root.appendingPathComponent("refused").path
        #expect { try Backup.restore(from: before, masterKey: f.directory.masterKeyFile, into: refused) } throws: {
            guard let e = $0 as? TemoinError else { return false }
            return e.id == .keysWrongMasterKey && e.reason.contains(oldID) && e.reason.contains(report.newID)
        }
        #expect(!FileManager.default.fileExists(atPath: refused), "nothing written")
        #expect(throws: TemoinError.self) { try Backup.restore(from: after, masterKey: kept, into: refused) }

        for (backup, key) in [(before, kept), (after, f.directory.masterKeyFile)] {
            let target = f.root.appendingPathComponent("restored-\(UUID().uuidString)").path
            try Backup.restore(from: backup, masterKey: key, into: target)
            let restored = DataDirectory(target)
            let audit = try Auditor(directory: restored).run()
            #expect(audit.passed, "\(audit.problems)")
            #expect(try Self.blobs(restored, LedgerFixture.alert(0)).count == 4)
            let writer = try LedgerWriter(directory: restored)
            _ = try await writer.append(LedgerFixture.location(LedgerFixture.alert(1), fix: "geo:1,2"))
        }
    }

    /// The headline: back up, erase, rotate the master key, destroy the old key — the backup taken
    /// before the erasure cannot open the erased alert any more. Nor anything else: old backups are
    /// gone with the old key, which is why a fresh backup is taken right after the rotation.
    @Test func anErasureReachesABackupTakenBeforeItOnceTheMasterKeyIsRotatedAndTheOldKeyDestroyed() async throws {
        let (f, _) = try await Self.folder()
        let directory = f.directory
        // The operator keeps the master key apart, as Docs/security.md asks, and backs up.
        let apart = f.root.appendingPathComponent("master-key-kept-apart").path
        try FileManager.default.copyItem(atPath: directory.masterKeyFile, toPath: apart)
        let backup = f.root.appendingPathComponent("backup-before-erasure").path
        try Backup.make(of: directory, to: backup)
        _ = try await ErasureTests.erase(directory)
        #expect(throws: TemoinError.self) { _ = try LedgerReader(directory: directory).alertKey(Self.alert) }

        // The gap: that backup and the old master key still open the erased alert's audio.
        let gap = f.root.appendingPathComponent("gap").path
        try Backup.restore(from: backup, masterKey: apart, into: gap)
        #expect(try Self.blobs(DataDirectory(gap), Self.alert).count > 0)
        try FileManager.default.removeItem(atPath: gap)

        // Closed: rotate, then destroy the old key (the copy kept apart).
        let report = try await MasterKeyRotation.run(directory: directory)
        try FileManager.default.removeItem(atPath: apart)
        let fresh = f.root.appendingPathComponent("backup-after-rotation").path
        try Backup.make(of: directory, to: fresh)

        // The only master key left does not open the old backup: restore refuses it …
        let target = f.root.appendingPathComponent("restored-old").path
        #expect { try Backup.restore(from: backup, masterKey: directory.masterKeyFile, into: target) } throws: {
            ($0 as? TemoinError)?.id == .keysWrongMasterKey
        }
        // … and the backup's wrapped keys, tried one by one, open with nothing: not the erased
        // alert's, not the other alert's, not the device's.
        let rows = try SQLiteLedgerEngine(path: DataDirectory(backup).database).openReadingStore().wrappedKeyRows()
        #expect(rows.contains { $0.owner == .alert(Self.alert) }, "the backup still holds the erased alert's row")
        #expect(rows.count == 3)
        let newKey = try FileMasterKey(path: directory.masterKeyFile)
        for row in rows {
            #expect(row.key.master == report.oldID)
            #expect(throws: TemoinError.self) { try newKey.unwrap(row.key.wrapped, for: row.owner) }
        }
        // Restored by hand with the new key anyway: the audio of every alert is unreadable.
        try Backup.restore(from: backup, masterKey: nil, into: target)
        try FileManager.default.copyItem(atPath: directory.masterKeyFile, toPath: target + "/keys/master.key")
        #expect(throws: TemoinError.self) { _ = try Self.blobs(DataDirectory(target), Self.alert) }
        #expect(throws: TemoinError.self) { _ = try Self.blobs(DataDirectory(target), LedgerFixture.alert(1)) }
        #expect(!(try Auditor(directory: DataDirectory(target)).run().passed))

        // The fresh backup restores with the new key: the erased alert stays erased, the other opens.
        let restored = f.root.appendingPathComponent("restored-fresh").path
        try Backup.restore(from: fresh, masterKey: directory.masterKeyFile, into: restored)
        let audit = try Auditor(directory: DataDirectory(restored)).run()
        #expect(audit.passed && audit.erasedAlerts == [Self.alert], "\(audit.problems)")
        #expect(try Self.blobs(DataDirectory(restored), LedgerFixture.alert(1)).count == 4)
        #expect(throws: TemoinError.self) {
            _ = try LedgerReader(directory: DataDirectory(restored)).alertKey(Self.alert)
        }
    }

    @Test func theNextKeyOfARotationUnderWayNeverGoesIntoABackupAndTheOldKeyIsKeptOutsideTheDataFolderOnly()
        async throws
    {
        let f = try await LedgerFixture()
        _ = try await f.populate(alerts: 1, chunks: 1)
        let points = CrashPoints(stopAfter: 1)
        await #expect(throws: TemoinError.self) {
            _ = try await MasterKeyRotation.run(directory: f.directory, step: points)
        }
        #expect(FileManager.default.fileExists(atPath: f.directory.nextMasterKeyFile))
        #expect(f.directory.secretFiles.contains(f.directory.nextMasterKeyFile))
        #expect(try f.audit().unfinishedMasterKeyRotation)
        let backup = f.root.appendingPathComponent("b").path
        try Backup.make(of: f.directory, to: backup)
        let keys = try FileManager.default.contentsOfDirectory(atPath: backup + "/keys")
        #expect(!keys.contains { $0.hasPrefix("master.key") }, "\(keys)")

        for inside in [f.directory.path + "/old.key", f.directory.keysFolder + "/old.key"] {
            await #expect {
                _ = try await MasterKeyRotation.run(directory: f.directory, keepOld: inside)
            } throws: {
                ($0 as? TemoinError)?.id == .keysUnsafeKeepOld
            }
        }
        let taken = f.root.appendingPathComponent("taken").path
        try Data("something else".utf8).write(to: URL(fileURLWithPath: taken))
        await #expect {
            _ = try await MasterKeyRotation.run(directory: f.directory, keepOld: taken)
        } throws: {
            ($0 as? TemoinError)?.id == .keysUnsafeKeepOld
        }
        #expect(FileManager.default.fileExists(atPath: f.directory.nextMasterKeyFile), "refused before anything")
    }

    @Test func theWriterAndTheAuditRefuseAMasterKeyTheLedgerNoLongerNames() async throws {
        let f = try await LedgerFixture()
        _ = try await f.populate(alerts: 1, chunks: 1)
        let kept = f.root.appendingPathComponent("old.key").path
        let report = try await MasterKeyRotation.run(directory: f.directory, keepOld: kept)
        let current = try Self.bytes(f.directory.masterKeyFile)
        // The old key put back: new keys must not be wrapped by it.
        try FileManager.default.removeItem(atPath: f.directory.masterKeyFile)
        try FileManager.default.copyItem(atPath: kept, toPath: f.directory.masterKeyFile)
        #expect { _ = try f.writer() } throws: {
            guard let e = $0 as? TemoinError else { return false }
            return e.id == .keysWrongMasterKey && e.reason.contains(report.newID)
        }
        let audit = try f.audit()
        #expect(audit.names("keys/master.key") && audit.names("blob "))
        // The right key back; a row whose master column was changed by hand is named.
        try Data(current).write(to: URL(fileURLWithPath: f.directory.masterKeyFile))
        #expect(try f.audit().passed)
        try f.rawDatabase().execute("UPDATE alert_keys SET master = '\(report.oldID)'")
        #expect(try f.audit().names("alert key \(LedgerFixture.alert(0))"))
    }

    @Test func aMasterKeyRotationEntryIsAppendedOnlyByARotationToAKeyTheLedgerNeverHad() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        await #expect {
            _ = try await w.append(EntryDraft(kind: .keyRotated, [("key-role", "master"), ("key", "aes256:00")]))
        } throws: {
            ($0 as? TemoinError)?.id == .transitionInvalid
        }
        await #expect {
            _ = try await w.append(EntryDraft(kind: .keyRotated, [("key-role", "hsm"), ("key", "x")]))
        } throws: {
            ($0 as? TemoinError)?.id == .entryBadValue
        }
        _ = try await f.open(LedgerFixture.alert(0), on: w)
        let first = SoftwareMasterKey(key: try SymmetricKey.random())
        let second = SoftwareMasterKey(key: try SymmetricKey.random())
        _ = try await w.rotateMasterKey(to: first)
        await #expect(throws: TemoinError.self) { _ = try await w.rotateMasterKey(to: first) }
        _ = try await w.rotateMasterKey(to: second)
        // Back to a key an earlier rotation put in force: refused (copies of the database made
        // while it was in force would open again), and nothing changed.
        await #expect(throws: TemoinError.self) { _ = try await w.rotateMasterKey(to: first) }
        #expect(try f.audit().masterKeyRotations.map(\.id) == [first.id, second.id])
        #expect(try Self.masters(f.directory) == [second.id])
        #expect(try await w.alertKey(for: LedgerFixture.alert(0)) == w.alertKey(for: LedgerFixture.alert(0)))
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
