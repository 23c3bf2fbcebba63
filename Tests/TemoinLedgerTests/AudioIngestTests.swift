import Foundation
@testable import TemoinLedger
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import Testing

struct AudioIngestTests {
    static let alert = "5a1e2b3c4d5e6f708192a3b4c5d6e7f8"

    /// Six 1-second WAV chunks of a speech-like signal at 16 kHz.
    static let chunks: [[UInt8]] = (0..<6).map { c in
        let format = try! PCMFormat(encoding: .signed16, sampleRate: 16000, channels: 1)
        let data = (0..<16000).flatMap { i -> [UInt8] in
            let t = Double(c * 16000 + i) / 16000
            let v = Int16(9000 * (0.5 + 0.5 * sin(2 * .pi * 3 * t)) * sin(2 * .pi * (200 + 60 * sin(t)) * t))
            let u = UInt16(bitPattern: v)
            return [UInt8(u & 0xff), UInt8(u >> 8)]
        }
        return WAV.encode(format: format, data: data[...])
    }

    func upload(_ seq: Int) -> ChunkUpload {
        ChunkUpload(alert: Self.alert, seq: UInt64(seq), captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(seq) * 1000),
                    original: Self.chunks[seq], format: .wav, statementSignature: nil, isFinal: seq == 5)
    }

    func packetStreams(_ f: LedgerFixture) throws -> [[UInt8]] {
        try LedgerReader(directory: f.directory).entries(alert: Self.alert).filter { $0.entry.kind == .audioChunk }.map {
            try f.directory.blobs.read(alert: Self.alert, hash: $0.entry.hash("opus-sha256")!)
        }
    }

    @Test func aRestartResumesTheOpusStreamExactlyAsIfNothingHappened() async throws {
        let continuous = try await LedgerFixture()
        do {
            let w = try continuous.writer()
            _ = try await continuous.open(Self.alert, on: w)
            let ingestor = AudioIngestor(writer: w)
            for s in 0..<6 { _ = try await ingestor.ingest(upload(s)) }
        }
        let restarted = try await LedgerFixture()
        do {
            let w = try restarted.writer()
            _ = try await restarted.open(Self.alert, on: w)
            let ingestor = AudioIngestor(writer: w)
            for s in 0..<3 { _ = try await ingestor.ingest(upload(s)) }
        }
        do {
            // A new process: new writer, new ingestor; the encoder comes back from the ledger.
            let w = try restarted.writer()
            let ingestor = AudioIngestor(writer: w)
            #expect(try await ingestor.nextSequence(alert: Self.alert) == 3)
            for s in 3..<6 { _ = try await ingestor.ingest(upload(s)) }
        }
        #expect(try packetStreams(restarted) == packetStreams(continuous))
        let a = try LedgerReader(directory: continuous.directory).recording(alert: Self.alert)
        let b = try LedgerReader(directory: restarted.directory).recording(alert: Self.alert)
        #expect(a.bytes == b.bytes)
        #expect(a.durationSamples == 6 * 48000)
        #expect(try restarted.audit().passed)
    }

    @Test func aFailedCommitPutsTheEncoderBackSoTheStreamHasNoDoubleFrame() async throws {
        let continuous = try await LedgerFixture()
        do {
            let w = try continuous.writer()
            _ = try await continuous.open(Self.alert, on: w)
            let ingestor = AudioIngestor(writer: w)
            for s in 0..<6 { _ = try await ingestor.ingest(upload(s)) }
        }
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(Self.alert, on: w)
        let ingestor = AudioIngestor(writer: w)
        for s in 0..<6 {
            if s == 2 || s == 4 {
                // An empty signature makes the entry invalid: the append fails after encoding.
                let failing = ChunkUpload(alert: Self.alert, seq: UInt64(s), captureStart: upload(s).captureStart,
                                          original: Self.chunks[s], format: .wav, statementSignature: [], isFinal: s == 5)
                await #expect(throws: TemoinError.self) { _ = try await ingestor.ingest(failing) }
            }
            _ = try await ingestor.ingest(upload(s))
        }
        #expect(try packetStreams(f) == packetStreams(continuous))
    }

    @Test func eachChunkIsAnAudioChunkEntryWithBothHashesAndItsBlobs() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(Self.alert, on: w)
        let appended = try await AudioIngestor(writer: w).ingest(upload(0))
        let e = appended.entry
        #expect(e.kind == .audioChunk)
        #expect(e.hash("original-sha256") == SHA256.hash(Self.chunks[0]))
        #expect(e.uint("original-size") == UInt64(Self.chunks[0].count))
        #expect(e.uint("duration-us") == 1_000_000)
        #expect(e.uint("opus-packets") == 50)
        #expect(e["original-format"] == "wav")
        #expect(e["codec-library"] == OpusSettings.libraryVersion)
        let stream = try f.directory.blobs.read(alert: Self.alert, hash: e.hash("opus-sha256")!)
        #expect(SHA256.hash(stream) == e.hash("opus-sha256"))
        #expect(try f.directory.blobs.read(alert: Self.alert, hash: e.hash("original-sha256")!) == Self.chunks[0])
        #expect(try f.audit().passed)
    }

    @Test func unopenedRepeatedAndBrokenChunksAreRefusedAndAnEarlyOneWaitsThenRecordsTheGap() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        var limits = AudioLimits()
        limits.reorderWait = .milliseconds(200)
        let ingestor = AudioIngestor(writer: w, limits: limits)
        await #expect(throws: TemoinError.self) { _ = try await ingestor.ingest(upload(0)) }
        _ = try await f.open(Self.alert, on: w)
        _ = try await ingestor.ingest(upload(0))
        await #expect(throws: TemoinError.self) { _ = try await ingestor.ingest(upload(0)) }
        let bad = ChunkUpload(alert: Self.alert, seq: 1, captureStart: Timestamp(millisecondsSinceEpoch: 0),
                              original: Array("RIFF....WAVEjunk".utf8), format: .wav, statementSignature: nil)
        await #expect(throws: TemoinError.self) { _ = try await ingestor.ingest(bad) }
        // Chunk 2 before chunk 1: it waits, then chunk 1 is recorded missing and chunk 2 goes on.
        _ = try await ingestor.ingest(upload(2))
        let kinds = try LedgerReader(directory: f.directory).entries(alert: Self.alert).map(\.entry.kind)
        #expect(kinds == [.alertOpened, .audioChunk, .chunkMissing, .audioChunk])
        #expect(try await ingestor.nextSequence(alert: Self.alert) == 3)
        // Chunk 1 arriving late is still taken.
        _ = try await ingestor.ingest(upload(1))
        #expect(try LedgerReader(directory: f.directory).recording(alert: Self.alert).missing.isEmpty)
        #expect(try f.audit().passed)
    }

    @Test func concurrentUploadsOfOneAlertAreEncodedOneAtATime() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(Self.alert, on: w)
        let ingestor = AudioIngestor(writer: w)
        // The same chunk twice at once: exactly one is accepted.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 { group.addTask { (try? await ingestor.ingest(upload(0))) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await ingestor.nextSequence(alert: Self.alert) == 1)
    }
}
