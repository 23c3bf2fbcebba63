import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
@testable import TemoinExport
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import Testing

/// A full disk or a failing fsync makes an upload fail — no entry, no receipt — and loses nothing
/// that was acknowledged; the retry continues the stream as if nothing had happened.
struct FaultInjectionTests {
    let fixtures = AudioIngestTests()

    func continuousStreams() async throws -> [[UInt8]] {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        for s in 0..<6 { _ = try await ingestor.ingest(fixtures.upload(s)) }
        return try fixtures.packetStreams(f)
    }

    @Test(arguments: [StorageFaults.Fault.diskFull, .fsyncFailure])
    func aFailingBlobWriteStoresNothingAndTheRetryContinuesTheStream(_ fault: StorageFaults.Fault) async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        let faults = StorageFaults()
        let ingestor = try AudioIngestor(writer: w, faults: faults)
        for s in 0..<6 {
            if s == 2 {
                faults.failNext(1, with: fault)
                let size = await w.size
                await #expect { _ = try await ingestor.ingest(fixtures.upload(s)) } throws: {
                    ($0 as? TemoinError)?.category == .environment
                }
                #expect(await w.size == size, "no entry without its blobs")
            }
            _ = try await ingestor.ingest(fixtures.upload(s))
        }
        #expect(faults.tripped == 1)
        let expected = try await continuousStreams()
        #expect(try fixtures.packetStreams(f) == expected)
        #expect(try f.audit().passed)
    }

    @Test func aFullDatabaseCommitsNothingAndLosesNothingAcknowledged() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(AudioIngestTests.alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        var acknowledged = [Appended]()
        var failures = 0
        let filler = LedgerFixture.alert(42)
        _ = try await f.open(filler, on: w)
        try await w.limitDatabasePages(0) // no page may be added from now on
        // Use up the free space left in the last pages, so the next chunk is the one that hits the wall.
        for n in 0..<100_000 {
            do {
                _ = try await w.append(
                    LedgerFixture.location(filler, fix: "geo:1,\(n % 180)", signature: nil, rule: nil))
            } catch let e as TemoinError where e.code == "sqlite.disk-full" {
                break
            }
        }
        for s in 0..<6 {
            do {
                acknowledged.append(try await ingestor.ingest(fixtures.upload(s)))
            } catch let e as TemoinError {
                // The database is full: nothing of this chunk was committed, no receipt was given.
                #expect(e.code == "sqlite.disk-full")
                #expect(
                    try LedgerReader(directory: f.directory).entries(alert: AudioIngestTests.alert)
                        .filter { $0.entry.kind == .audioChunk }.count == s)
                failures += 1
                try await w.limitDatabasePages(nil)
                acknowledged.append(try await ingestor.ingest(fixtures.upload(s)))
            }
        }
        #expect(failures == 1, "the capped database filled up once")
        let reader = try LedgerReader(directory: f.directory)
        for a in acknowledged {
            #expect(try reader.entry(at: a.index).leafHash == a.leafHash)
            try reader.proof(index: a.index).verify(
                entry: a.entry.bytes, key: f.created.verifierKey, hasher: SHA256.merkle, ed25519: Ed25519())
        }
        let expected = try await continuousStreams()
        #expect(try fixtures.packetStreams(f) == expected)
        #expect(try f.audit().passed)
    }
}
