import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// `temoin backup` / `temoin restore` (Docs/storage.md, "Backup and restore").
struct BackupTests {
    @Test func aBackupTakenWhileAppendingRestoresIntoALedgerThatPassesTheAuditAndContinues() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 2)
        let alert = LedgerFixture.alert(0)
        // Appends go on while backups are taken.
        let appending = Task {
            for seq in 2..<40 { _ = try await f.chunk(alert, seq: seq, on: w) }
        }
        var backups = [String]()
        for n in 0..<3 {
            let folder = f.root.appendingPathComponent("backup-\(n)").path
            try Backup.make(of: f.directory, to: folder)
            backups.append(folder)
        }
        try await appending.value
        for (n, backup) in backups.enumerated() {
            let summary = try Backup.readSummary(backup)
            let target = f.root.appendingPathComponent("restored-\(n)").path
            try Backup.restore(from: backup, masterKey: f.directory.masterKeyFile, into: target)
            let restored = DataDirectory(target)
            let audit = try Auditor(directory: restored).run()
            #expect(audit.problems.isEmpty, "backup \(n): \(audit.problems)")
            #expect(try LedgerReader(directory: restored).size() == summary.size)
            // The restored ledger goes on from the backup's checkpoint: a writer opens it and appends.
            let writer = try LedgerWriter(directory: restored)
            let more = try await writer.append(LedgerFixture.location(alert, fix: "geo:5,\(n)"))
            #expect(more.index == summary.size)
            #expect(try Auditor(directory: restored).run().problems.isEmpty)
        }
        // Never the master key; without it the restored audio cannot be read.
        let master = f.directory.masterKeyFile
        #expect(FileManager.default.fileExists(atPath: master))
        let withMaster = f.root.appendingPathComponent("backup-master").path
        try Backup.make(of: f.directory, to: withMaster)
        #expect(!FileManager.default.fileExists(atPath: withMaster + "/keys/" + Backup.masterKeyName))
        let target = f.root.appendingPathComponent("restored-master").path
        try Backup.restore(from: withMaster, masterKey: master, into: target)
        let installed = try FileManager.default.attributesOfItem(atPath: target + "/keys/" + Backup.masterKeyName)
        #expect((installed[.posixPermissions] as? Int) == 0o600)
        let blind = f.root.appendingPathComponent("restored-without-master").path
        try Backup.restore(from: withMaster, masterKey: nil, into: blind)
        #expect(!(try Auditor(directory: DataDirectory(blind)).run().passed), "no master key, no audio")
    }

    @Test func anOlderBackupIsNeverRestoredOverANewerLedgerNorIntoAFolderInUse() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        let backup = f.root.appendingPathComponent("old").path
        try Backup.make(of: f.directory, to: backup)
        _ = try await f.chunk(LedgerFixture.alert(0), seq: 1, on: w)
        do {
            try Backup.restore(from: backup, masterKey: nil, into: f.directory.path)
            Issue.record("an older backup was restored over a newer ledger")
        } catch {
            #expect(error.id == .backupTargetNotEmpty)
            #expect(error.reason.contains("newer ledger"))
        }
        // Restoring the database alone over the live folder is what the start-up check refuses.
        #expect(try Auditor(directory: f.directory).run().problems.isEmpty, "the live ledger is untouched")
        // A backup folder is never overwritten either.
        #expect(throws: TemoinError.self) { try Backup.make(of: f.directory, to: backup) }
    }

    @Test func aChangedBackupIsRefusedBeforeAnythingIsWritten() async throws {
        let f = try await LedgerFixture()
        _ = try await f.populate(alerts: 1, chunks: 1)
        let backup = f.root.appendingPathComponent("b").path
        try Backup.make(of: f.directory, to: backup)
        let key = backup + "/keys/log.key"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: key))
        bytes[bytes.count - 3] ^= 1
        try bytes.write(to: URL(fileURLWithPath: key))
        let target = f.root.appendingPathComponent("r").path
        #expect(throws: TemoinError.self) { try Backup.restore(from: backup, masterKey: nil, into: target) }
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(throws: TemoinError.self) {
            try Backup.restore(from: f.root.appendingPathComponent("nothing").path, masterKey: nil, into: target)
        }
    }
}
