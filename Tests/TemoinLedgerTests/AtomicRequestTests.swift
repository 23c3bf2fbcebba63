import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
import TemoinCore
import TemoinCrypto
import Testing

/// One request, one commit: whatever entries a request makes (a close and the chunks it records
/// missing, an early chunk and the gap before it) are committed together or not at all, and a
/// request that repeats a committed one appends nothing.
struct AtomicRequestTests {
    let alert = AudioIngestTests.alert

    func upload(_ seq: Int) -> ChunkUpload { AudioIngestTests().upload(seq) }

    func close(lastSeq: UInt64, closedAt: String = "2026-11-29T17:01:00.000Z") -> @Sendable (UInt64) -> EntryDraft {
        { [alert] _ in
            EntryDraft(
                kind: .alertClosed,
                [
                    ("alert", alert.rawValue), ("closed-by", "device"), ("reason", "released"), ("closed-at", closedAt),
                    ("last-seq", String(lastSeq)), ("statement-sig", "none"),
                ])
        }
    }

    func kinds(_ f: LedgerFixture) throws -> [EntryKind] {
        try LedgerReader(directory: f.directory).entries(alert: alert).map(\.entry.kind)
    }

    @Test func aCloseAndTheChunksItRecordsMissingStandOrFallTogether() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let ingestor = try AudioIngestor(writer: w)
        _ = try await f.open(alert, on: w)
        _ = try await ingestor.ingest(upload(0))
        let size = await w.size
        // A close the ledger refuses (its time is malformed): the gap 1…5 is not recorded either.
        await #expect(throws: TemoinError.self) {
            _ = try await ingestor.close(
                alert: alert, recordingMissingThrough: 5, close(lastSeq: 5, closedAt: "yesterday"))
        }
        #expect(await w.size == size)
        #expect(try kinds(f) == [.alertOpened, .audioChunk])
        let closed = try await ingestor.close(alert: alert, recordingMissingThrough: 5, close(lastSeq: 5))
        #expect(closed.isNew && closed.index == size + 1)
        #expect(try kinds(f) == [.alertOpened, .audioChunk, .chunkMissing, .alertClosed])
        // A retried close, even one claiming more chunks, appends nothing and gets the same entry.
        let again = try await ingestor.close(alert: alert, recordingMissingThrough: 9, close(lastSeq: 9))
        #expect(!again.isNew && again.index == closed.index)
        #expect(await w.size == size + 2)
        #expect(try f.audit().passed)
    }

    @Test func concurrentClosesOfOneAlertAppendOneGroup() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let ingestor = try AudioIngestor(writer: w)
        _ = try await f.open(alert, on: w)
        _ = try await ingestor.ingest(upload(0))
        let results = try await withThrowingTaskGroup(of: Appended.self) { group in
            for i in 0..<8 {
                let last = UInt64(2 + i)
                group.addTask {
                    if i == 3 {
                        // The sweeper's timeout close races the phone's.
                        return try await ingestor.close(alert: alert, recordingMissingThrough: nil) { [alert] next in
                            EntryDraft(
                                kind: .alertClosed,
                                [
                                    ("alert", alert.rawValue), ("closed-by", "server"), ("reason", "timeout"),
                                    ("closed-at", "2026-11-29T23:00:00.000Z"),
                                    ("last-seq", String(next - 1)), ("statement-sig", "none"),
                                ])
                        }
                    }
                    return try await ingestor.close(alert: alert, recordingMissingThrough: last, close(lastSeq: last))
                }
            }
            return try await group.reduce(into: [Appended]()) { $0.append($1) }
        }
        #expect(Set(results.map(\.index)).count == 1)
        #expect(results.filter(\.isNew).count == 1)
        let stored = try kinds(f)
        #expect(stored.filter { $0 == .alertClosed }.count == 1)
        #expect(stored.filter { $0 == .chunkMissing }.count <= 1)
        #expect(stored.last == .alertClosed, "no gap is recorded after the close")
        #expect(try f.audit().passed)
    }

    @Test func anEarlyChunkThatFailsLeavesNoGapBehind() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let faults = StorageFaults()
        var limits = AudioLimits()
        limits.reorderWait = .zero
        let ingestor = try AudioIngestor(writer: w, limits: limits, faults: faults)
        _ = try await f.open(alert, on: w)
        _ = try await ingestor.ingest(upload(0))
        // Chunk 2 comes first, and its blobs cannot be written: neither it nor the gap is stored.
        faults.failNext(1, with: .diskFull)
        await #expect(throws: TemoinError.self) { _ = try await ingestor.ingest(upload(2)) }
        #expect(try kinds(f) == [.alertOpened, .audioChunk])
        #expect(try await ingestor.nextSequence(alert: alert) == 1)
        // Its retry records the gap and the chunk in one commit.
        let stored = try await ingestor.ingest(upload(2))
        #expect(try kinds(f) == [.alertOpened, .audioChunk, .chunkMissing, .audioChunk])
        #expect(stored.checkpoint.checkpoint.size == stored.index + 1)
        #expect(try LedgerStore(db: f.rawDatabase()).checkpoint(size: stored.index) == nil, "one commit for both")
        #expect(try f.audit().passed)
    }
}
