import Dispatch
import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
import TemoinCore
import TemoinCrypto
import Testing

/// The read side (Docs/architecture.md): lookups, receipts, checkpoints and proofs come from
/// read-only connections of their own, never from the writer's thread, so a commit stuck on a
/// slow disk delays no reader; ordering and encoder memory follow the ingest rules.
struct ReadSideTests {
    @Test func readsAndRetriesAreAnsweredWhileTheWriterIsStuckInACommit() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        let first = try await ingestor.ingest(AudioIngestTests().upload(0))

        // The writer's one thread is now held, as by an fsync that does not return.
        let release = DispatchSemaphore(value: 0)
        let held = Task { await w.holdThread(until: release) }
        defer { release.signal() }
        try await Task.sleep(for: .milliseconds(50))

        let reader = ingestor.reader
        // Concurrent readers, each on a connection of its own.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let proof = try reader.proof(index: first.index)
                    #expect(proof.checkpoint.checkpoint.size >= first.index + 1)
                    #expect(try reader.opening(alert: AudioIngestTests.alert) != nil)
                    #expect(try reader.chunkEntry(alert: AudioIngestTests.alert, seq: 0)?.index == first.index)
                }
            }
            try await group.waitForAll()
        }
        // A retried chunk is answered from the read side: the same receipt, no writer call.
        guard case .duplicate(let stored) = try await ingestor.submit(AudioIngestTests().upload(0)) else {
            Issue.record("a repeated chunk is a duplicate")
            return
        }
        #expect(try w.receipt(for: stored).bytes == first.receipt().bytes)
        release.signal()
        await held.value
        #expect(try f.audit().passed)
    }

    @Test func everyReceiptComesWithTheAppendAndIsDeterministic() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let opened = try await f.open(LedgerFixture.alert(1), on: w)
        let receipt = try opened.receipt()
        try receipt.verify(key: w.verifierKey, using: Ed25519())
        #expect(receipt.receipt.index == opened.index)
        #expect(receipt.receipt.leafHash == opened.leafHash)
        #expect(try w.receipt(for: opened.stored).bytes == receipt.bytes)
        #expect(opened.checkpoint.checkpoint.size == opened.index + 1)
    }

    @Test func theReaderSeesEveryCommittedEntryAtOnce() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let reader = try LedgerReader(directory: f.directory, connections: 2)
        for n in 0..<20 {
            let a = try await f.open(LedgerFixture.alert(n), on: w)
            // Committed means visible to a new read: no cache, no lag.
            #expect(try reader.opening(alert: LedgerFixture.alert(n))?.index == a.index)
            #expect(try reader.latestCheckpoint().checkpoint.size == a.index + 1)
        }
        #expect(Set(try reader.openAlerts()).count == 20)
    }

    /// An early chunk is parked and woken by the commit of the chunk before it, not by a timer:
    /// with an hour of reorder wait, chunk 1 sent before chunk 0 is stored as soon as 0 is.
    @Test func anEarlyChunkIsWokenByItsPredecessorsCommit() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        var limits = AudioLimits()
        limits.reorderWait = .seconds(3600)
        let ingestor = try AudioIngestor(writer: w, limits: limits)
        let early = Task { try await ingestor.submit(AudioIngestTests().upload(1)) }
        try await Task.sleep(for: .milliseconds(100))
        _ = try await ingestor.ingest(AudioIngestTests().upload(0))
        guard case .appended(let a) = try await early.value else {
            Issue.record("the early chunk is appended after its predecessor")
            return
        }
        #expect(a.entry.uint("seq") == 1)
        let kinds = try LedgerReader(directory: f.directory).entries(alert: AudioIngestTests.alert).map(\.entry.kind)
        #expect(!kinds.contains(.chunkMissing))
    }

    /// A chunk still early after being woken (its predecessor came, but not the one just before it)
    /// waits again quietly: a cancelled timer must not wake it, or it would wake itself in a loop,
    /// a core busy until its deadline (review finding H1).
    @Test func aChunkStillEarlyAfterAWakeWaitsWithoutSpinning() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        var limits = AudioLimits()
        limits.reorderWait = .seconds(3)
        let ingestor = try AudioIngestor(writer: w, limits: limits)
        let early = Task { try await ingestor.submit(AudioIngestTests().upload(2)) }
        try await Task.sleep(for: .milliseconds(200))
        _ = try await ingestor.ingest(AudioIngestTests().upload(0))
        try await Task.sleep(for: .milliseconds(1000))
        // Parked once, woken by chunk 0's commit, parked again: a handful, not thousands.
        let parkings = await ingestor.parkings(alert: AudioIngestTests.alert)
        #expect(parkings <= 5, "parked \(parkings) times in a second")
        guard case .appended(let a) = try await early.value else {
            Issue.record("the early chunk is stored when its wait is up")
            return
        }
        #expect(a.entry.uint("seq") == 2)
        let kinds = try LedgerReader(directory: f.directory).entries(alert: AudioIngestTests.alert).map(\.entry.kind)
        #expect(kinds.filter { $0 == .chunkMissing }.count == 1)
    }

    /// An alert's encoder is released when it closes or goes idle and rebuilt on demand: memory
    /// does not grow with the number of alerts ever opened.
    @Test func encodersAreReleasedWhenIdleAndRebuiltOnDemand() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        for s in 0..<3 { _ = try await ingestor.ingest(AudioIngestTests().upload(s)) }
        #expect(await ingestor.encodersInMemory == 1)
        #expect(await ingestor.releaseIdle(olderThan: .seconds(3600)) == 0)
        #expect(await ingestor.releaseIdle(olderThan: .zero) == 1)
        #expect(await ingestor.encodersInMemory == 0)
        // The next chunk rebuilds the alert's state from the ledger and continues the sequence.
        #expect(try await ingestor.nextSequence(alert: AudioIngestTests.alert) == 3)
        let next = try await ingestor.ingest(AudioIngestTests().upload(3))
        #expect(next.entry.uint("seq") == 3)
        await ingestor.release(alert: AudioIngestTests.alert)
        #expect(await ingestor.encodersInMemory == 0)
        #expect(try f.audit().passed)
    }
}
