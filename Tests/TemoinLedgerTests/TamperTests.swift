import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// An attacker with access to the files, not to the log key: every change is found and named.
struct TamperTests {
    /// Drops the append-only triggers, as an attacker with the database file would.
    func attacker(_ f: LedgerFixture) throws -> SQLiteConnection {
        let db = try f.rawDatabase()
        for t in [
            "entries_append_only_update", "entries_append_only_delete", "entries_append_at_end",
            "nodes_append_only_update", "nodes_append_only_delete",
            "checkpoints_append_only_update", "checkpoints_append_only_delete",
        ] {
            try db.execute("DROP TRIGGER \(t)")
        }
        return db
    }

    func flipByte(_ bytes: [UInt8], at i: Int) -> [UInt8] {
        var b = bytes
        b[i] ^= 0x01
        return b
    }

    @Test(arguments: [0, 40, -2])
    func oneByteChangedInAnEntryIsNamed(_ offset: Int) async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let db = try attacker(f)
        let store = LedgerStore(db: db)
        let entry = try store.entry(at: 4)!
        let at = offset >= 0 ? offset : entry.bytes.count + offset
        try db.statement("UPDATE entries SET bytes = ? WHERE idx = 4").bind(.blob(flipByte(entry.bytes, at: at))).run()
        let report = try f.audit()
        #expect(report.names("entry 4"), "\(report.problems)")
    }

    @Test func anEntryRewrittenWithItsLeafHashIsCaughtByTheTreeAndTheChain() async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let db = try attacker(f)
        let store = LedgerStore(db: db)
        var text = String(decoding: try store.entry(at: 4)!.bytes, as: UTF8.self)
        text = text.replacingOccurrences(of: "duration-us 5000000", with: "duration-us 4000000")
        let bytes = Array(text.utf8)
        try db.statement("UPDATE entries SET bytes = ?, leaf_hash = ? WHERE idx = 4")
            .bind(.blob(bytes), .blob(SHA256.merkle.leafHash(bytes).bytes)).run()
        let report = try f.audit()
        #expect(report.names("node(level 1, index 2)"), "\(report.problems)")
        #expect(report.names("entry 5"), "the next entry's prev no longer matches: \(report.problems)")
        #expect(report.names("checkpoint"), "\(report.problems)")
    }

    @Test func oneByteChangedInAStoredNodeIsNamed() async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let db = try attacker(f)
        let s = try db.statement("SELECT hash FROM nodes WHERE level = 2 AND idx = 1").bind()
        #expect(try s.step())
        let hash = s.blob(0)
        s.reset()
        try db.statement("UPDATE nodes SET hash = ? WHERE level = 2 AND idx = 1").bind(.blob(flipByte(hash, at: 31)))
            .run()
        let report = try f.audit()
        #expect(report.names("node(level 2, index 1)"), "\(report.problems)")
        #expect(report.problems.count == 1, "\(report.problems)")
    }

    @Test func oneByteChangedInACheckpointIsNamed() async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let db = try attacker(f)
        let s = try db.statement("SELECT note FROM checkpoints WHERE size = 5").bind()
        #expect(try s.step())
        let note = s.blob(0)
        s.reset()
        // In the signature and in the root: both are caught.
        try db.statement("UPDATE checkpoints SET note = ? WHERE size = 5").bind(
            .blob(flipByte(note, at: note.count - 10))
        ).run()
        var report = try f.audit()
        #expect(report.names("checkpoint 5"), "\(report.problems)")
        try db.statement("UPDATE checkpoints SET note = ? WHERE size = 5").bind(
            .blob(flipByte(note, at: note.count / 3))
        ).run()
        report = try f.audit()
        #expect(report.names("checkpoint 5"), "\(report.problems)")
    }

    @Test func oneByteChangedInABlobIsNamed() async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let entry = try LedgerReader(directory: f.directory).entry(at: 4).parsed()
        let alert = entry.alert!
        let hash = entry.hash("original-sha256")!
        let path = f.directory.blobs.path(alert: alert, hash: hash)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x20
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let report = try f.audit()
        #expect(report.names("blob \(alert)/\(hash.hex)"), "\(report.problems)")
        try FileManager.default.removeItem(atPath: path)
        #expect(try f.audit().names("blob \(alert)/\(hash.hex)"))
    }

    @Test func deletingTheLastEntriesIsFoundByTheAuditAndRefusedByTheWriter() async throws {
        let f = try await LedgerFixture()
        try await f.populate()
        let db = try attacker(f)
        try db.execute("DELETE FROM entries WHERE idx >= 8")
        let report = try f.audit()
        #expect(report.names("checkpoint 9"), "\(report.problems)")
        #expect(report.names("checkpoint file"), "\(report.problems)")
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.category == .invalidEvidence }
    }

    @Test func anOlderCopyOfTheDatabaseIsRefusedWithAClearMessage() async throws {
        let f = try await LedgerFixture()
        var w: LedgerWriter? = try await f.populate(alerts: 1, chunks: 1)
        w = nil
        let backup = f.root.appendingPathComponent("backup")
        try FileManager.default.createDirectory(at: backup, withIntermediateDirectories: true)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: f.directory.database + suffix) {
            try FileManager.default.copyItem(
                atPath: f.directory.database + suffix, toPath: backup.path + "/db" + suffix)
        }
        w = try f.writer()
        _ = try await f.chunk(LedgerFixture.alert(0), seq: 7, on: w!)
        w = nil
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: f.directory.database + suffix)
            if FileManager.default.fileExists(atPath: backup.path + "/db" + suffix) {
                try FileManager.default.copyItem(
                    atPath: backup.path + "/db" + suffix, toPath: f.directory.database + suffix)
            }
        }
        #expect { _ = try f.writer() } throws: { error in
            guard let e = error as? TemoinError else { return false }
            return e.code == "ledger.database-behind" && e.reason.contains("old backup")
        }
        #expect(try f.audit().names("checkpoint file"))
    }

    @Test func aMissingOutsideCheckpointIsRefused() async throws {
        let f = try await LedgerFixture()
        try FileManager.default.removeItem(atPath: f.directory.checkpointFile)
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.code == "ledger.checkpoint-file-missing" }
        #expect(try f.audit().names("checkpoint file"))
    }

    @Test func aLogKeyFileThatIsNotTheGenesisKeyIsRefused() async throws {
        let f = try await LedgerFixture()
        try FileManager.default.removeItem(atPath: f.directory.logKeyFile)
        try Data(Ed25519PrivateKey.generate().pem).write(to: URL(fileURLWithPath: f.directory.logKeyFile))
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.code == "ledger.wrong-log-key" }
    }
}
