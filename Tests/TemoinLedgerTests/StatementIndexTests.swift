import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
import TemoinCore
import TemoinCrypto
import Testing

/// A retried statement is recognised by what it says, not by its signature, through an index:
/// one entry and one receipt whatever signature the phone's library makes, found by one indexed
/// read however many entries the alert holds. The audit re-derives every key and every location
/// row from the entries.
struct StatementIndexTests {
    let alert = LedgerFixture.alert(0)
    static let otherSignature = [UInt8](repeating: 0xA5, count: 64)

    @Test func aLocationRetriedWithAnotherSignatureIsTheSameEntry() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        let first = try await w.append(LedgerFixture.location(alert))
        // Many other fixes in between: the repeat is still found (by its key, not by a scan).
        for n in 0..<50 { _ = try await w.append(LedgerFixture.location(alert, fix: "geo:1,\(n)")) }
        let size = await w.size
        let again = try await w.append(LedgerFixture.location(alert, signature: Self.otherSignature))
        #expect(!again.isNew && again.index == first.index && again.leafHash == first.leafHash)
        #expect(await w.size == size)
        // Another fix, or the same fix at another time, is another statement.
        #expect(try await w.append(LedgerFixture.location(alert, fix: "geo:48.8566,2.3523;u=10")).isNew)
        #expect(try await w.append(LedgerFixture.location(alert, at: "2026-11-29T17:00:01.000Z")).isNew)
        #expect(try f.audit().passed)
    }

    /// Every kind a phone retries is recognised by its content: an open, a chunk, a close signed
    /// again (another valid signature) are the same statement.
    @Test func everyRetriedStatementIsRecognisedWhateverItsSignature() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let ingestor = try AudioIngestor(writer: w)
        let a = AudioIngestTests.alert
        func open(_ signature: UInt8) -> EntryDraft {
            var d = EntryDraft(
                kind: .alertOpened,
                [
                    ("alert", a.rawValue), ("device", f.created.ingestDevice.rawValue),
                    ("opened-at", "2026-11-29T17:00:00.000Z"),
                    ("statement-sig", Base64.encode([UInt8](repeating: signature, count: 64))),
                ])
            d.idempotency = .sameFields(["device", "opened-at"], exclusive: true)
            return d
        }
        let opened = try await w.append(open(1))
        #expect(try await w.append(open(2)).index == opened.index)
        func chunk(_ signature: UInt8) -> ChunkUpload {
            let u = AudioIngestTests().upload(0)
            return ChunkUpload(
                alert: a, seq: 0, captureStart: u.captureStart, original: u.original, format: .wav,
                statementSignature: [UInt8](repeating: signature, count: 64))
        }
        let stored = try await ingestor.ingest(chunk(3))
        guard case .duplicate(let again) = try await ingestor.submit(chunk(4)) else {
            Issue.record("the same chunk signed again is a duplicate")
            return
        }
        #expect(again.index == stored.index)
        func close(_ signature: UInt8) -> @Sendable (UInt64) -> EntryDraft {
            { _ in
                EntryDraft(
                    kind: .alertClosed,
                    [
                        ("alert", a.rawValue), ("closed-by", "device"), ("reason", "released"),
                        ("closed-at", "2026-11-29T17:01:00.000Z"), ("last-seq", "0"),
                        ("statement-sig", Base64.encode([UInt8](repeating: signature, count: 64))),
                    ])
            }
        }
        let closed = try await ingestor.close(alert: a, recordingMissingThrough: 0, close(5))
        #expect(try await ingestor.close(alert: a, recordingMissingThrough: 0, close(6)).index == closed.index)
        #expect(try f.audit().passed)
    }

    /// A repeat is found through an index, not by reading the alert's entries (the cost that grew
    /// with every fix a phone posted): SQLite's own plan for each look-up says so.
    @Test func repeatsAreFoundThroughIndexes() async throws {
        let f = try await LedgerFixture()
        _ = try await f.populate(alerts: 1, chunks: 1)
        let db = try f.rawDatabase()
        func plan(_ sql: String) throws -> String {
            let s = try db.statement("EXPLAIN QUERY PLAN " + sql)
            var out = [String]()
            while try s.step() { out.append(s.text(3) ?? "") }
            return out.joined(separator: "; ")
        }
        #expect(try plan("SELECT entry FROM statements WHERE key = ?").contains("PRIMARY KEY"))
        let byKind = try plan("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? AND kind = ? ORDER BY idx")
        #expect(byKind.contains("entries_by_alert_kind"), "\(byKind)")
        #expect(!byKind.contains("TEMP B-TREE"), "\(byKind)")
    }

    @Test func concurrentRetriesOfOneLocationWithDifferentSignaturesYieldOneEntry() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 0)
        let results = try await withThrowingTaskGroup(of: Appended.self) { group in
            for i in 0..<8 {
                group.addTask { [alert] in
                    try await w.append(
                        LedgerFixture.location(alert, signature: [UInt8](repeating: UInt8(i), count: 64)))
                }
            }
            return try await group.reduce(into: [Appended]()) { $0.append($1) }
        }
        #expect(Set(results.map(\.index)).count == 1 && results.filter(\.isNew).count == 1)
        #expect(try f.audit().passed)
    }

    @Test func theSameConflictingBytesAreRecordedOnceWhateverTheSignature() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let ingestor = try AudioIngestor(writer: w)
        let a = AudioIngestTests.alert
        _ = try await f.open(a, on: w)
        _ = try await ingestor.ingest(AudioIngestTests().upload(0))
        func other(_ signature: UInt8) -> ChunkUpload {
            ChunkUpload(
                alert: a, seq: 0, captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000),
                original: AudioIngestTests.chunks[1], format: .wav,
                statementSignature: [UInt8](repeating: signature, count: 64))
        }
        guard case .conflict(_, let recorded, _) = try await ingestor.submit(other(1)),
            case .conflict(_, let again, _) = try await ingestor.submit(other(2))
        else {
            Issue.record("different bytes for a stored sequence number are a conflict")
            return
        }
        #expect(recorded.index == again.index)
        #expect(try f.audit().passed)
    }

    /// A ledger written before migration 6 gets its keys when the writer opens it: an old
    /// location is recognised when the phone retries it, and the audit passes.
    @Test func migrationSixIndexesTheStatementsOfAnOlderLedger() async throws {
        let f = try await LedgerFixture()
        var w: LedgerWriter? = try await f.populate(alerts: 1, chunks: 2)
        let old = try await w!.append(LedgerFixture.location(alert))
        w = nil
        let db = try f.rawDatabase()
        try db.execute(
            "DROP TABLE statements; DROP INDEX entries_by_alert_kind; DROP TABLE accounts; DROP INDEX entries_by_kind; "
                + "PRAGMA user_version = 5")
        #expect(try f.audit().passed, "an audit of an unmigrated ledger skips the index")
        let reopened = try f.writer()
        #expect(try db.pragma("user_version") == "9")
        let again = try await reopened.append(LedgerFixture.location(alert, signature: Self.otherSignature))
        #expect(!again.isNew && again.index == old.index)
        #expect(try f.audit().passed)
    }

    /// An operator with the files who drops the whole index does not make the audit skip it
    /// (review L7): the audit names it, and still checks everything else.
    @Test func aDroppedStatementIndexIsNamedByTheAudit() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        _ = try await w.append(LedgerFixture.location(alert, fix: "geo:1,1"))
        #expect(try f.audit().passed)
        try f.rawDatabase().execute("DROP TABLE statements")
        let report = try f.audit()
        #expect(!report.passed)
        #expect(report.names("statement index"))
        #expect(report.entries > 0)
    }

    @Test func theAuditReDerivesLocationRowsAndTheStatementIndex() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        let changed = try await w.append(LedgerFixture.location(alert, fix: "geo:1,1"))
        let deleted = try await w.append(LedgerFixture.location(alert, fix: "geo:2,2"))
        let unindexed = try await w.append(LedgerFixture.location(alert, fix: "geo:3,3"))
        let moved = try await w.append(LedgerFixture.location(alert, fix: "geo:4,4"))
        #expect(try f.audit().passed)
        // A root operator edits the side tables, which are not evidence but steer what is read.
        let db = try f.rawDatabase()
        try db.execute("UPDATE locations SET fix = 'geo:45.0,5.0' WHERE entry = \(changed.index)")
        try db.execute("DELETE FROM locations WHERE entry = \(deleted.index)")
        try db.execute("INSERT INTO locations (entry, alert, salt, fix) VALUES (0, '\(alert)', x'00', 'geo:0,0')")
        let key = try #require(
            StatementKey.of(
                try LedgerStore(db: db).entry(at: unindexed.index)!.parsed(),
                origin: "test.example/ledger", fix: "geo:3,3"))
        try db.execute("DELETE FROM statements WHERE key = x'\(key.hex)'")
        try db.execute("UPDATE statements SET entry = 1 WHERE entry = \(moved.index)")
        let report = try f.audit()
        #expect(report.names("entry \(changed.index)"))
        #expect(report.names("entry \(deleted.index)"))
        #expect(report.names("location row 0"))
        #expect(report.names("entry \(unindexed.index)"))
        #expect(report.names("entry \(moved.index)"))
        #expect(report.names("statement index"))
        // The changed fix twice (its commitment, its key), the row deleted, the orphan row, the key
        // deleted, the key moved, and three rows of the index that no longer fit.
        #expect(report.problems.count == 9, "\(report.problems)")
    }
}
