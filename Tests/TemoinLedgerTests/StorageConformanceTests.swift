import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// An engine under test: how to make a fresh, empty one in a folder of its own.
struct EngineUnderTest: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable (_ folder: String) -> any LedgerEngine
    var testDescription: String { name }

    /// Every engine the ledger can run on. A second engine joins this list and must pass every
    /// test below unchanged.
    static let all = [
        EngineUnderTest(name: "SQLite") { SQLiteLedgerEngine(path: $0 + "/ledger.sqlite") }
    ]
}

/// The storage contract of `Storage.swift`, checked against every engine: rows come back exactly,
/// transactions are all or nothing, snapshots are stable, groups roll back alone, indices are
/// unique, commits survive the session, and the ledger's bytes, proofs, checkpoints and audit are
/// the same whatever engine holds the rows.
struct StorageConformanceTests {
    /// A genuine ledger's rows (entries of every common kind, their nodes and checkpoints), read
    /// back from the default engine: the material every engine must store and return exactly.
    struct Material {
        let fixture: LedgerFixture
        let entries: [StoredEntryRow]
        let nodes: [(NodeID, Hash)]
        let checkpoints: [StoredCheckpointRow]
        /// Each alert's wrapped key (encryption at rest), as stored.
        let keys: [(AlertID, WrappedAlertKey)]
    }

    static func material() async throws -> Material {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 3, chunks: 4)
        _ = try await w.append(
            EntryDraft(
                kind: .alertClosed,
                [
                    ("alert", LedgerFixture.alert(1).rawValue), ("closed-by", "device"), ("reason", "released"),
                    ("closed-at", "2026-11-29T17:10:00.000Z"), ("last-seq", "3"), ("statement-sig", "none"),
                ]))
        let source = try f.directory.engine.openReading()
        var entries = [StoredEntryRow]()
        try source.forEachEntryRow { entries.append($0) }
        var checkpoints = [StoredCheckpointRow]()
        try source.forEachCheckpointRow { checkpoints.append($0) }
        var range = CompactRange()
        var nodes = [(NodeID, Hash)]()
        for e in entries { nodes += range.append(Hash(e.leafHash)!, hasher: SHA256.merkle) }
        var keys = [(AlertID, WrappedAlertKey)]()
        for alert in try source.alertKeyAlerts() {
            keys.append((AlertID(alert)!, try source.alertKeyRow(AlertID(alert)!)!))
        }
        return Material(fixture: f, entries: entries, nodes: nodes, checkpoints: checkpoints, keys: keys)
    }

    static func folder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Copies `m`'s rows into `store` in one transaction (entries `range`, their nodes, and the
    /// checkpoints up to the last entry copied).
    static func copy(_ m: Material, into store: any LedgerStoreWriting, entries range: Range<Int>? = nil) throws {
        let range = range ?? 0..<m.entries.count
        try store.beginWrite()
        for e in m.entries[range] {
            try Self.insert(e, into: store)
        }
        let size = UInt64(range.upperBound)
        for (id, hash) in m.nodes
        where (id.index + 1) << id.level <= size && id.index << id.level >= UInt64(range.lowerBound) {
            try store.insertNode(id, hash: hash)
        }
        for c in m.checkpoints where c.size <= size && c.size > UInt64(range.lowerBound) {
            try store.insertCheckpoint(
                size: c.size, root: Hash(c.root)!, note: c.note, time: Timestamp(millisecondsSinceEpoch: 0))
        }
        if range.lowerBound == 0 {
            for (alert, key) in m.keys { try store.insertAlertKey(alert, key) }
        }
        try store.commit()
    }

    /// Inserts an entry row as it was stored in its first home.
    static func insert(_ row: StoredEntryRow, into store: any LedgerStoreWriting) throws {
        try store.insertEntry(
            index: row.index, kind: row.kind!, alert: row.alert.map { AlertID($0)! }, subject: row.subject,
            leafHash: Hash(row.leafHash)!, bytes: row.bytes)
    }

    /// Alert keys (encryption at rest): stored once per alert, back exactly, all or nothing with
    /// their transaction, and gone (with the alert's location and statement rows) when erased.
    @Test(arguments: EngineUnderTest.all)
    func alertKeysComeBackExactlyAndGoWithTheirErasure(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        let w = try e.openWriting(create: true)
        try Self.copy(m, into: w)
        #expect(m.keys.count == 3)
        for (alert, key) in m.keys { #expect(try w.alertKeyRow(alert) == key) }
        #expect(try w.alertKeyAlerts() == m.keys.map(\.0.rawValue).sorted())
        let (alert, key) = m.keys[0]
        try w.beginWrite()
        #expect(throws: TemoinError.self) { try w.insertAlertKey(alert, key) }
        try w.rollback()
        try w.beginWrite()
        try w.deleteErasableRows(alert: alert)
        try w.rollback()
        #expect(try w.alertKeyRow(alert) == key, "a rolled-back erasure keeps the key")
        try w.beginWrite()
        try w.deleteErasableRows(alert: alert)
        try w.commit()
        try w.dropDeletedCopies()
        #expect(try e.openReading().alertKeyRow(alert) == nil)
        #expect(try e.openReading().alertKeyRow(m.keys[1].0) == m.keys[1].1, "another alert's key is untouched")
    }

    @Test(arguments: EngineUnderTest.all)
    func rowsComeBackExactlyThroughEveryQuery(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        try Self.copy(m, into: e.openWriting(create: true))
        let r = try e.openReading()
        #expect(try r.entryCount() == UInt64(m.entries.count))
        var back = [StoredEntryRow]()
        try r.forEachEntryRow { back.append($0) }
        #expect(back.map(\.bytes) == m.entries.map(\.bytes))
        #expect(back.map(\.leafHash) == m.entries.map(\.leafHash))
        #expect(back.map(\.kind) == m.entries.map(\.kind))
        #expect(back.map(\.alert) == m.entries.map(\.alert))
        #expect(back.map(\.subject) == m.entries.map(\.subject))
        for row in m.entries {
            #expect(try r.entry(at: row.index)?.bytes == row.bytes)
        }
        #expect(try r.entry(at: UInt64(m.entries.count)) == nil)
        for (id, hash) in m.nodes {
            #expect(try r.node(id) == hash)
            #expect(try r.storedNode(id) == (id.level == 0 ? nil : hash.bytes))
        }
        #expect(try r.nodeCount() == UInt64(m.nodes.filter { $0.0.level > 0 }.count))
        var checkpoints = [StoredCheckpointRow]()
        try r.forEachCheckpointRow { checkpoints.append($0) }
        #expect(checkpoints.map(\.note) == m.checkpoints.map(\.note))
        #expect(try r.latestCheckpoint()?.bytes == m.checkpoints.last?.note)
        #expect(try r.checkpoint(size: m.checkpoints[0].size)?.bytes == m.checkpoints[0].note)

        // The indexed lookups answer what a scan of the rows answers.
        let parsed = try m.entries.map { try Entry(parsing: $0.bytes) }
        for a in 0..<3 {
            let alert = LedgerFixture.alert(a)
            let mine = zip(m.entries, parsed).filter { $0.1.alert == alert }
            #expect(try r.entryIndices(alert: alert) == mine.map(\.0.index))
            #expect(try r.firstEntry(alert: alert)?.index == mine.first?.0.index)
            #expect(try r.alertHead(alert)?.index == mine.last?.0.index)
            #expect(
                try r.entries(alert: alert, kind: .audioChunk).map(\.index)
                    == mine.filter { $0.1.kind == .audioChunk }.map(\.0.index))
            #expect(
                try r.chunkEntry(alert: alert, seq: 2)?.index
                    == mine.first { $0.1.kind == .audioChunk && $0.1["seq"] == "2" }?.0.index)
            #expect(try r.chunkEntry(alert: alert, seq: 9) == nil)
        }
        #expect(Set(try r.openAlerts()) == [LedgerFixture.alert(0), LedgerFixture.alert(2)])
        let device = m.fixture.created.ingestDevice
        #expect(
            try r.enrollment(device: device)?.index
                == zip(m.entries, parsed).first { $0.1.kind == .deviceEnrolled }?.0.index)
        #expect(try r.enrollment(device: DeviceID(String(repeating: "0", count: 32))!) == nil)
        #expect(try r.rotation(key: String(repeating: "ab", count: 32)) == nil)
    }

    @Test(arguments: EngineUnderTest.all)
    func aTransactionIsAllOrNothingAndInvisibleUntilCommitted(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        let w = try e.openWriting(create: true)
        try Self.copy(m, into: w, entries: 0..<5)
        let r = try e.openReading()
        #expect(try r.entryCount() == 5)

        try w.beginWrite()
        #expect(w.inTransaction)
        let row = m.entries[5]
        try Self.insert(row, into: w)
        // The writer reads its own rows; no reader sees them.
        #expect(try w.entry(at: 5)?.bytes == row.bytes)
        #expect(try r.entry(at: 5) == nil)
        #expect(try r.entryCount() == 5)
        try w.rollback()
        #expect(!w.inTransaction)
        #expect(try w.entry(at: 5) == nil)
        #expect(try r.entryCount() == 5)
    }

    @Test(arguments: EngineUnderTest.all)
    func aGroupRolledBackToItsSavepointLeavesNoRowAndTheRestCommits(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        let w = try e.openWriting(create: true)
        try Self.copy(m, into: w, entries: 0..<5)
        try w.beginWrite()
        for (i, keep) in [(5, true), (6, false)] {
            try w.savepoint()
            let row = m.entries[i]
            try Self.insert(row, into: w)
            if keep { try w.releaseSavepoint() } else { try w.rollbackToSavepoint() }
        }
        try w.commit()
        let r = try e.openReading()
        #expect(try r.entry(at: 5)?.bytes == m.entries[5].bytes)
        #expect(try r.entry(at: 6) == nil)
        #expect(try r.entryCount() == 6)
    }

    @Test(arguments: EngineUnderTest.all)
    func aReadSnapshotStaysStableWhileTheWriterCommits(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        let w = try e.openWriting(create: true)
        try Self.copy(m, into: w, entries: 0..<5)
        let r = try e.openReading()
        try r.beginRead()
        #expect(try r.entryCount() == 5)
        try Self.copy(m, into: w, entries: 5..<m.entries.count)
        // Inside its snapshot the reader still sees five entries and the old checkpoint.
        #expect(try r.entryCount() == 5)
        #expect(try r.entry(at: 5) == nil)
        r.endRead()
        #expect(try r.entryCount() == UInt64(m.entries.count))
    }

    @Test(arguments: EngineUnderTest.all)
    func anIndexANodeAndACheckpointAreEachStoredOnce(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        let w = try e.openWriting(create: true)
        try Self.copy(m, into: w, entries: 0..<5)
        let row = m.entries[4]
        let attempts: [(String, () throws(TemoinError) -> Void)] = [
            (
                "entry",
                { () throws(TemoinError) in
                    try w.insertEntry(
                        index: 4, kind: row.kind!, alert: row.alert.map { AlertID($0)! }, subject: row.subject,
                        leafHash: Hash(row.leafHash)!, bytes: row.bytes)
                }
            ),
            (
                "node",
                { () throws(TemoinError) in
                    try w.insertNode(NodeID(level: 1, index: 0), hash: m.nodes.first { $0.0.level == 1 }!.1)
                }
            ),
            (
                "checkpoint",
                { () throws(TemoinError) in
                    let c = m.checkpoints.first { $0.size <= 5 }!
                    try w.insertCheckpoint(
                        size: c.size, root: Hash(c.root)!, note: c.note, time: Timestamp(millisecondsSinceEpoch: 0))
                }
            ),
        ]
        for (what, attempt) in attempts {
            try w.beginWrite()
            #expect(throws: TemoinError.self, "a second \(what) with the same key") { try attempt() }
            try w.rollback()
        }
        #expect(try e.openReading().entryCount() == 5)
    }

    @Test(arguments: EngineUnderTest.all)
    func committedRowsOutliveTheSessionAndUncommittedOnesDoNot(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let folder = try Self.folder()
        do {
            let w = try engine.make(folder).openWriting(create: true)
            try Self.copy(m, into: w, entries: 0..<5)
            try w.beginWrite()
            let row = m.entries[5]
            try Self.insert(row, into: w)
            // The session ends here without a commit, as a process killed mid-transaction.
        }
        let again = try engine.make(folder).openWriting(create: false)
        #expect(try again.entryCount() == 5)
        #expect(try again.entry(at: 4)?.bytes == m.entries[4].bytes)
        #expect(try again.latestCheckpoint()?.checkpoint.size == 5)
    }

    /// The ledger above the engine: a writer, the read side and the audit over the copied rows
    /// give the same checkpoints and proofs, byte for byte, as over the rows' first home; new
    /// entries appended through this engine verify against the old checkpoints.
    @Test(arguments: EngineUnderTest.all)
    func theLedgerIsTheSameWhateverEngineHoldsItsRows(engine: EngineUnderTest) async throws {
        let m = try await Self.material()
        let e = engine.make(try Self.folder())
        try Self.copy(m, into: e.openWriting(create: true))
        let directory = m.fixture.directory
        let original = try LedgerReader(directory: directory)
        let copied = try LedgerReader(directory: directory, engine: e)
        #expect(try copied.latestCheckpoint().bytes == original.latestCheckpoint().bytes)
        for index in stride(from: 0, to: UInt64(m.entries.count), by: 3) {
            #expect(try copied.proof(index: index).bytes == original.proof(index: index).bytes)
        }
        #expect(
            try copied.consistencyProof(first: 3, second: UInt64(m.entries.count))
                == original.consistencyProof(first: 3, second: UInt64(m.entries.count)))
        #expect(try Auditor(directory: directory, engine: e).run().passed)

        // The writer starts on the copied rows (its start-up checks pass) and appends through them.
        let before = try copied.latestCheckpoint()
        do {
            let w = try LedgerWriter(directory: directory, engine: e)
            _ = try await m.fixture.open(LedgerFixture.alert(7), on: w)
        }
        let after = try copied.latestCheckpoint()
        #expect(after.checkpoint.size == before.checkpoint.size + 1)
        let proof = try copied.consistencyProof(first: before.checkpoint.size, second: after.checkpoint.size)
        try MerkleVerifier(hasher: SHA256.merkle).verifyConsistency(
            first: before.checkpoint.size, second: after.checkpoint.size, firstRoot: before.checkpoint.root,
            secondRoot: after.checkpoint.root, proof: proof)
        try after.verify(key: m.fixture.created.verifierKey, using: Ed25519())
    }
}
