import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

struct LedgerWriterTests {
    @Test func initCreatesGenesisAndEnrollsTheIngestDeviceAndTheAuditPasses() async throws {
        let f = try await LedgerFixture()
        let reader = try LedgerReader(directory: f.directory)
        let genesis = try reader.entry(at: 0).parsed()
        #expect(genesis.kind == .genesis)
        #expect(genesis["origin"] == "test.example/ledger")
        #expect(genesis["log-key"] == f.created.verifierKey.description)
        #expect(genesis["export-cert-sha256"] == f.created.exportCertificateSHA256.hex)
        let enrolled = try reader.entry(at: 1).parsed()
        #expect(enrolled.kind == .deviceEnrolled)
        #expect(enrolled.device == f.created.ingestDevice)
        #expect(try reader.latestCheckpoint().checkpoint.size == 2)
        #expect(try f.audit().passed)
    }

    @Test func keyFilesAreReadableByTheServiceAlone() async throws {
        let f = try await LedgerFixture()
        for file in [f.directory.logKeyFile, f.directory.exportKeyFile, f.directory.ingestDeviceKeyFile] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as! Int
            #expect(mode == 0o600, "\(file)")
        }
        let keys = try FileManager.default.attributesOfItem(atPath: f.directory.keysFolder)[.posixPermissions] as! Int
        #expect(keys == 0o700)
    }

    @Test func initRefusesANonEmptyFolderAndABadOrigin() async throws {
        let f = try await LedgerFixture()
        await #expect(throws: TemoinError.self) { _ = try await Ledger.initialize(directory: f.directory, origin: nil) }
        let other = DataDirectory(f.root.appendingPathComponent("other").path)
        for origin in ["", "has space", "a+b", "tab\there"] {
            await #expect(throws: TemoinError.self) {
                _ = try await Ledger.initialize(directory: other, origin: origin)
            }
        }
    }

    @Test func theDatabaseRunsInWALWithFullSynchronousAndRecursiveTriggers() async throws {
        let f = try await LedgerFixture()
        let db = try f.rawDatabase()
        try LedgerSchema.configure(db, readOnly: false)
        #expect(try db.pragma("journal_mode") == "wal")
        #expect(try db.pragma("synchronous") == "2")
        #expect(try db.pragma("recursive_triggers") == "1")
    }

    @Test func concurrentAppendsAreGroupCommittedAndEachIsCoveredByASignedCheckpoint() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        for a in 0..<8 { _ = try await f.open(LedgerFixture.alert(a), on: w) }
        let results = try await withThrowingTaskGroup(of: [Appended].self) { group in
            for a in 0..<8 {
                group.addTask {
                    var out = [Appended]()
                    for s in 0..<20 { out.append(try await f.chunk(LedgerFixture.alert(a), seq: s, on: w)) }
                    return out
                }
            }
            return try await group.reduce(into: [Appended]()) { $0 += $1 }
        }
        #expect(results.count == 160)
        #expect(Set(results.map(\.index)).count == 160)
        let key = f.created.verifierKey
        let reader = try LedgerReader(directory: f.directory)
        for r in results {
            #expect(r.index < r.checkpoint.checkpoint.size)
            try r.checkpoint.verify(key: key, using: Ed25519())
            let proof = try reader.proof(index: r.index, size: r.checkpoint.checkpoint.size)
            try proof.verify(entry: r.entry.bytes, key: key, hasher: SHA256.merkle, ed25519: Ed25519())
        }
        let checkpoints = Set(results.map { $0.checkpoint.checkpoint.size }).count
        #expect(checkpoints <= 160)
        #expect(try f.audit().passed)
    }

    @Test func everyEntryOfAnAlertNamesThePreviousOneAndTheFirstNamesTheEnrollment() async throws {
        let f = try await LedgerFixture()
        try await f.populate(alerts: 2, chunks: 3)
        let reader = try LedgerReader(directory: f.directory)
        let enrollment = try reader.entry(at: 1)
        for a in 0..<2 {
            let indices = try reader.entryIndices(alert: LedgerFixture.alert(a))
            #expect(indices.count == 4)
            var previous = enrollment.leafHash
            for i in indices {
                let stored = try reader.entry(at: i)
                #expect(try stored.parsed().previous == previous)
                previous = stored.leafHash
            }
        }
    }

    @Test func aChunkForAnAlertThatWasNeverOpenedIsRefusedAndNothingIsStored() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        await #expect(throws: TemoinError.self) { _ = try await f.chunk(LedgerFixture.alert(9), seq: 0, on: w) }
        #expect(await w.size == 2)
        let stranger = EntryDraft(
            kind: .alertOpened,
            [
                ("alert", LedgerFixture.alert(9).rawValue), ("device", "00000000000000000000000000000000"),
                ("opened-at", "2026-11-29T17:00:00.000Z"), ("statement-sig", "none"),
            ])
        await #expect(throws: TemoinError.self) { _ = try await w.append(stranger) }
        _ = try await f.open(LedgerFixture.alert(9), on: w)
        await #expect(throws: TemoinError.self) { _ = try await f.open(LedgerFixture.alert(9), on: w) }
        #expect(await w.size == 3)
        #expect(try f.audit().passed)
    }

    @Test func anInvalidDraftFailsAloneInItsBatch() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let good = EntryDraft(
            kind: .alertOpened,
            [
                ("alert", LedgerFixture.alert(1).rawValue), ("device", f.created.ingestDevice.rawValue),
                ("opened-at", "2026-11-29T17:00:00.000Z"), ("statement-sig", "none"),
            ])
        let bad = EntryDraft(kind: .alertOpened, [("alert", "not hex")])
        let results = try await w.append(contentsOf: [good, bad])
        #expect((try? results[0].get()) != nil)
        #expect((try? results[1].get()) == nil)
        #expect(await w.size == 3)
    }

    @Test func aBatchWhoseDraftsAllFailCommitsNothingAndSignsNoCheckpoint() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let before = await w.checkpoint
        let again = EntryDraft(
            kind: .deviceEnrolled,
            [
                ("device", f.created.ingestDevice.rawValue),
                ("device-key", Base64.encode([UInt8](repeating: 1, count: 32))),
            ])
        await #expect { _ = try await w.append(again) } throws: {
            ($0 as? TemoinError)?.code == "ledger.device-already-enrolled"
        }
        let results = try await w.append(contentsOf: [again, again])
        #expect(results.allSatisfy { (try? $0.get()) == nil })
        #expect(await w.checkpoint == before)
        _ = try await f.open(LedgerFixture.alert(1), on: w)
        #expect(try f.audit().passed)
    }

    @Test func aSecondWriterOnTheSameFolderIsRefused() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        #expect { _ = try f.writer() } throws: { ($0 as? TemoinError)?.code == "ledger.locked" }
        _ = w
    }

    @Test func aReopenedWriterContinuesTheSameTree() async throws {
        let f = try await LedgerFixture()
        var w: LedgerWriter? = try await f.populate(alerts: 1, chunks: 5)
        let before = await w!.checkpoint!
        w = nil
        let again = try f.writer()
        #expect(await again.checkpoint == before)
        _ = try await f.chunk(LedgerFixture.alert(0), seq: 5, on: again)
        let after = await again.checkpoint!
        let reader = try LedgerReader(directory: f.directory)
        let proof = try reader.consistencyProof(first: before.checkpoint.size, second: after.checkpoint.size)
        try MerkleVerifier(hasher: SHA256.merkle).verifyConsistency(
            first: before.checkpoint.size, second: after.checkpoint.size,
            firstRoot: before.checkpoint.root, secondRoot: after.checkpoint.root, proof: proof)
        #expect(try f.audit().passed)
    }

    @Test func theAuditRunsWhileTheWriterAppends() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for s in 1..<60 { _ = try await f.chunk(LedgerFixture.alert(0), seq: s, on: w) }
            }
            group.addTask {
                for _ in 0..<10 {
                    let report = try f.audit()
                    #expect(report.passed, "\(report.problems)")
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func theLatestCheckpointIsAlsoKeptOutsideTheDatabase() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 2)
        let outside = try Array(Data(contentsOf: URL(fileURLWithPath: f.directory.checkpointFile)))
        #expect(await outside == w.checkpoint!.bytes)
    }
}
