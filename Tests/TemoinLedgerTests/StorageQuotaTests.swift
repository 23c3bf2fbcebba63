import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
import TemoinCore
import TemoinCrypto
import Testing

/// What one alert may store is bounded (its bytes, its conflicting bodies per sequence number):
/// a request past a bound stores nothing, and nothing already accepted is lost or refused again.
struct StorageQuotaTests {
    let alert = AudioIngestTests.alert

    func blobCount(_ f: LedgerFixture) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: f.root.appendingPathComponent("data/blobs/\(alert)").path)
            .count
    }

    func other(_ seq: Int, variant: Int) -> ChunkUpload {
        // Another body for a stored sequence number: another chunk's audio.
        ChunkUpload(
            alert: alert, seq: UInt64(seq), captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000),
            original: AudioIngestTests.chunks[variant], format: .wav, statementSignature: nil)
    }

    @Test func anAlertPastItsByteBoundStoresNothingMore() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        var limits = AudioLimits()
        // Room for two chunks (originals and their Opus), not three.
        limits.maximumAlertBytes = UInt64(2 * AudioIngestTests.chunks[0].count + 20_000)
        let ingestor = try AudioIngestor(writer: w, limits: limits)
        _ = try await f.open(alert, on: w)
        let first = try await ingestor.ingest(AudioIngestTests().upload(0))
        _ = try await ingestor.ingest(AudioIngestTests().upload(1))
        let size = await w.size, blobs = try blobCount(f)
        await #expect { _ = try await ingestor.ingest(AudioIngestTests().upload(2)) } throws: {
            ($0 as? TemoinError)?.code == "quota.alert-bytes"
        }
        await #expect { _ = try await ingestor.submit(other(1, variant: 3)) } throws: {
            ($0 as? TemoinError)?.code == "quota.alert-bytes"
        }
        #expect(await w.size == size)
        #expect(try blobCount(f) == blobs, "nothing stored")
        // After a restart the bound is read from the ledger; what was accepted is still answered.
        await ingestor.forgetEncoders()
        await #expect { _ = try await ingestor.ingest(AudioIngestTests().upload(2)) } throws: {
            ($0 as? TemoinError)?.code == "quota.alert-bytes"
        }
        guard case .duplicate(let stored) = try await ingestor.submit(AudioIngestTests().upload(0)) else {
            Issue.record("a retried chunk is a duplicate")
            return
        }
        #expect(stored.index == first.index)
        #expect(try f.audit().passed)
    }

    @Test func conflictingBodiesForOneSequenceNumberAreBounded() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        var limits = AudioLimits()
        limits.maximumConflictsPerSequence = 2
        let ingestor = try AudioIngestor(writer: w, limits: limits)
        _ = try await f.open(alert, on: w)
        _ = try await ingestor.ingest(AudioIngestTests().upload(0))
        var recorded = [UInt64]()
        for variant in [1, 2] {
            guard case .conflict(_, let r, _) = try await ingestor.submit(other(0, variant: variant)) else {
                Issue.record("other bytes are a conflict")
                return
            }
            recorded.append(r.index)
        }
        let size = await w.size, blobs = try blobCount(f)
        await #expect { _ = try await ingestor.submit(other(0, variant: 3)) } throws: {
            ($0 as? TemoinError)?.code == "chunk.too-many-conflicts"
        }
        #expect(await w.size == size)
        #expect(try blobCount(f) == blobs, "nothing stored")
        // A conflict already recorded is still answered (a retry), also after a restart, and other
        // sequence numbers are not affected.
        await ingestor.forgetEncoders()
        guard case .conflict(_, let again, _) = try await ingestor.submit(other(0, variant: 2)) else {
            Issue.record("a recorded conflict is answered again")
            return
        }
        #expect(again.index == recorded[1])
        await #expect { _ = try await ingestor.submit(other(0, variant: 4)) } throws: {
            ($0 as? TemoinError)?.code == "chunk.too-many-conflicts"
        }
        _ = try await ingestor.ingest(AudioIngestTests().upload(1))
        #expect(try f.audit().passed)
    }
}
