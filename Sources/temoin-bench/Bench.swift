import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinIngest
import TemoinExport
import TemoinCLI
import TemoinAudio
import TemoinRecording

/// Benchmarks (never timed tests): figures go to Docs/performance.md with the command line.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "temoin-bench",
        abstract: "Mesures de performance / benchmarks (not part of the shipped service: see Docs/performance.md).",
        subcommands: [
            Appends.self, Proofs.self, IngestBench.self, ServiceBench.self, VerifyBench.self, RestartBench.self,
        ])

    /// A data folder in a new temporary folder, removed when the benchmark ends (`ScratchFolders`).
    static func temporaryFolder(_ hint: String) throws -> String {
        var template = Array("/tmp/temoin-bench-\(hint)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TemoinError(.benchTmp, "cannot create a temporary folder") }
        let folder = String(cString: p)
        ScratchFolders.created(folder)
        return folder + "/data"
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// `count` WAV chunks of `seconds` each, cut from `audio` looped as often as needed.
    static func loopedChunks(_ audio: PCMAudio, seconds: Int, count: Int) -> [[UInt8]] {
        let frames = seconds * audio.format.sampleRate, block = audio.format.blockAlign
        var offset = 0
        return (0..<count).map { _ in
            var data = [UInt8]()
            while data.count < frames * block {
                let take = min(frames * block - data.count, audio.data.count - offset * block)
                let start = audio.data.startIndex + offset * block
                data += audio.data[start..<start + take]
                offset = (offset + take / block) % audio.frameCount
            }
            return WAV.encode(format: audio.format, data: data[...])
        }
    }

    /// The reference of every ingest benchmark: libopus alone encoding `streams` streams of the same
    /// (already decoded and resampled) chunks on two workers, nothing else. Returns the wall time.
    static func libopusAlone(settings: OpusSettings, chunks: [[Float]], streams: Int) async throws -> Duration {
        try await ContinuousClock().measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<2 {
                    group.addTask {
                        for _ in stride(from: worker, to: streams, by: 2) {
                            let encoder = try OpusEncoderState(settings: settings)
                            for m in chunks { _ = try encoder.encode(m) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// An alert's id for the benchmark, deterministic per writer.
    static func alertID(_ n: Int) -> AlertID {
        AlertID(bytes: SHA256.hash(Array("bench alert \(n)".utf8)).bytes.prefix(16))!
    }

    static func chunkDraft(alert: AlertID, seq: Int) -> EntryDraft {
        let h = SHA256.hash(Array("\(alert) \(seq)".utf8)).hex
        return EntryDraft(
            kind: .audioChunk, alert: alert,
            [
                ("seq", String(seq)), ("capture-start", "2026-11-29T17:00:00.000Z"),
                ("duration-us", "5000000"), ("original-format", "wav"), ("original-sha256", h),
                ("original-size", "160044"),
                ("opus-sha256", h), ("opus-packets", "250"), ("opus-bytes", "15000"),
                (
                    "codec",
                    "opus application=voip frame-ms=20 bitrate=24000 complexity=10 rate=16000 input-rate=16000 "
                        + "channels=1 preskip=312"
                ), ("codec-library", "libopus 1.3.1"),
                ("statement-sig", Base64.encode([UInt8](repeating: 7, count: 64))),
            ])
    }

    static func openAlertDraft(alert: AlertID, device: DeviceID) -> EntryDraft {
        EntryDraft(
            kind: .alertOpened, alert: alert, device: device,
            [
                ("opened-at", "2026-11-29T17:00:00.000Z"),
                ("statement-sig", Base64.encode([UInt8](repeating: 7, count: 64))),
            ])
    }

    struct Appends: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ajouts durables par seconde / durable appends per second, group commit under concurrent writers."
        )

        @Option(help: "Concurrent writers.") var writers = 16
        @Option(help: "Entries per writer.") var entries = 500

        func run() async throws {
            for w in [1, writers] {
                let folder = try Bench.temporaryFolder("appends")
                let created = try await Ledger.initialize(
                    directory: DataDirectory(folder), origin: "bench.example/appends")
                let writer = try LedgerWriter(directory: DataDirectory(folder))
                for i in 0..<w {
                    _ = try await writer.append(
                        Bench.openAlertDraft(alert: Bench.alertID(i), device: created.ingestDevice))
                }
                let perWriter = w == 1 ? min(entries, 300) : entries
                let clock = ContinuousClock()
                let elapsed = try await clock.measure {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for i in 0..<w {
                            group.addTask {
                                for seq in 0..<perWriter {
                                    _ = try await writer.append(Bench.chunkDraft(alert: Bench.alertID(i), seq: seq))
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                let total = w * perWriter
                let s = Bench.seconds(elapsed)
                let line =
                    "writers=\(w) entries=\(total) seconds=\(String(format3(s))) durable-appends/s=\(Int(Double(total) / s))"
                Output.line(line)
            }
        }
    }

    struct Proofs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Preuves d'inclusion sur un grand registre / inclusion proofs and start-up on a large ledger.")

        @Option(help: "Ledger size (entries).") var size = 1_000_000
        @Option(help: "Proofs to time.") var proofs = 20000
        @Option(help: "Reuse this data folder if it exists (built by an earlier run).") var data: String?

        func run() async throws {
            let folder = try data ?? Bench.temporaryFolder("proofs")
            let directory = DataDirectory(folder)
            let clock = ContinuousClock()
            if !FileManagerLite.exists(directory.database) {
                let created = try await Ledger.initialize(directory: directory, origin: "bench.example/proofs")
                let writer = try LedgerWriter(directory: directory)
                await writer.setMaximumBatch(20000)
                let alerts = 1000
                let opens = (0..<alerts).map {
                    Bench.openAlertDraft(alert: Bench.alertID($0), device: created.ingestDevice)
                }
                let build = try await clock.measure {
                    _ = try await writer.append(contentsOf: opens)
                    var appended = 2 + alerts
                    var next = 0
                    while appended < size {
                        let n = min(20000, size - appended)
                        let drafts = (next..<next + n).map {
                            Bench.chunkDraft(alert: Bench.alertID($0 % alerts), seq: $0 / alerts)
                        }
                        next += n
                        appended += n
                        _ = try await writer.append(contentsOf: drafts)
                    }
                }
                Output.line("built ledger of \(size) entries in \(format3(Bench.seconds(build))) s (batches of 20000)")
            }
            func startUp(_ d: DataDirectory) throws -> [Double] {
                try (0..<5).map { _ in Bench.seconds(try clock.measure { _ = try LedgerWriter(directory: d) }) }
            }
            let small = DataDirectory(try Bench.temporaryFolder("small"))
            _ = try await Ledger.initialize(directory: small, origin: "bench.example/small")
            let smallStartup = try startUp(small)
            let startup = try startUp(directory)
            let reader = try LedgerReader(directory: directory)
            let n = try reader.latestCheckpoint().checkpoint.size
            var g = SystemRandomNumberGenerator()
            var times = [Double]()
            times.reserveCapacity(proofs)
            for _ in 0..<proofs {
                let index = UInt64.random(in: 0..<n, using: &g)
                let t = try clock.measure { _ = try reader.proof(index: index) }
                times.append(Bench.seconds(t))
            }
            times.sort()
            let mean = times.reduce(0, +) / Double(times.count)
            Output.line("ledger entries=\(n) folder=\(folder)")
            Output.line(
                "inclusion proof (tlog-proof vs latest checkpoint): mean=\(format3(mean * 1e3)) ms "
                    + "p50=\(format3(times[times.count / 2] * 1e3)) ms "
                    + "p99=\(format3(times[times.count * 99 / 100] * 1e3)) ms"
            )
            Output.line(
                "writer start-up on this ledger: min=\(format3(startup.min()! * 1e3)) ms "
                    + "max=\(format3(startup.max()! * 1e3)) ms"
            )
            Output.line(
                "writer start-up on a 2-entry ledger: min=\(format3(smallStartup.min()! * 1e3)) ms "
                    + "max=\(format3(smallStartup.max()! * 1e3)) ms"
            )
        }
    }
}

/// Ingest throughput against libopus encoding alone, on the same audio and settings, both cores busy.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Débit d'ingestion / ingest throughput (audio-seconds per second) vs libopus alone.")

    @Option(help: "WAV file to ingest (repeated as needed).") var file = "Samples/speech-fr-en-16k.wav"
    @Option(help: "Concurrent alerts.") var alerts = 8
    @Option(help: "Audio seconds per alert.") var seconds = 60
    @Option(help: "Chunk length in seconds.") var chunkSeconds = 5

    func run() async throws {
        let audio = try WAV.parse(readInput(file))
        let settings = try OpusSettings(inputRate: audio.format.sampleRate)
        // The chunks every alert sends: the file looped to `seconds`.
        let chunks = Bench.loopedChunks(
            audio, seconds: chunkSeconds, count: (seconds + chunkSeconds - 1) / chunkSeconds)
        let sent = chunks
        let audioSeconds = Double(alerts * sent.count * chunkSeconds)
        let clock = ContinuousClock()

        // 1. libopus alone: decode nothing, resample nothing, keep nothing; two workers.
        let monoChunks = try sent.map {
            try Resampler.resample(WAV.parse($0).monoSamples(), from: audio.format.sampleRate, to: settings.sampleRate)
        }
        let alone = try await Bench.libopusAlone(settings: settings, chunks: monoChunks, streams: alerts)

        // 2. The whole ingest path: parse, resample, encode, blobs (fsync), entries (group commit).
        let folder = try Bench.temporaryFolder("ingest")
        let created = try await Ledger.initialize(directory: DataDirectory(folder), origin: "bench.example/ingest")
        let writer = try LedgerWriter(directory: DataDirectory(folder))
        let ingestor = try AudioIngestor(writer: writer)
        for a in 0..<alerts {
            _ = try await writer.append(Bench.openAlertDraft(alert: Bench.alertID(a), device: created.ingestDevice))
        }
        let latencies = LatencyLog()
        let full = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for a in 0..<alerts {
                    group.addTask {
                        for (seq, bytes) in sent.enumerated() {
                            let start = clock.now
                            _ = try await ingestor.ingest(
                                ChunkUpload(
                                    alert: Bench.alertID(a), seq: UInt64(seq),
                                    captureStart: Timestamp(millisecondsSinceEpoch: Int64(seq) * 5000),
                                    original: bytes, format: .wav, statementSignature: nil))
                            await latencies.add(Bench.seconds(clock.now - start))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let aloneRate = audioSeconds / Bench.seconds(alone)
        let fullRate = audioSeconds / Bench.seconds(full)
        let l = await latencies.sorted()
        Output.line("input=\(file) \(audio.format) encoder=\(settings.codecDescription)")
        Output.line("alerts=\(alerts) audio-seconds=\(Int(audioSeconds)) chunk-seconds=\(chunkSeconds)")
        Output.line("libopus alone (2 workers): \(format3(aloneRate)) audio-s/s")
        Output.line(
            "full ingest (durable):     \(format3(fullRate)) audio-s/s   ratio=\(format3(fullRate / aloneRate))")
        Output.line(
            "per-chunk ingest latency under full load: p50=\(format3(l[l.count / 2] * 1e3)) ms "
                + "p99=\(format3(l[l.count * 99 / 100] * 1e3)) ms"
        )
    }
}

actor LatencyLog {
    var values = [Double]()
    func add(_ v: Double) { values.append(v) }
    func sorted() -> [Double] { values.sorted() }
}

/// Receipt latencies with the server's own account of each chunk (its `Server-Timing` header:
/// verify, order, queue, encode, store, commit), to tell the cost of the path from the time spent
/// waiting for a CPU.
actor StageLog {
    private var rows = [(latency: Double, stages: [String: Double])]()

    func add(latency: Double, serverTiming: String?) {
        var stages = [String: Double]()
        for item in (serverTiming ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = parts.first, let dur = parts.dropFirst().first(where: { $0.hasPrefix("dur=") }),
                let ms = Double(dur.dropFirst(4))
            else { continue }
            stages[name] = ms / 1e3
        }
        rows.append((latency, stages))
    }

    /// p50/p99 of every stage, of the latency beyond the chunk's own encode, and beyond its encode
    /// and its wait for a codec thread (what the path itself costs).
    func summary() -> String {
        func percentiles(_ values: [Double]) -> String {
            let v = values.sorted()
            guard !v.isEmpty else { return "-" }
            return "\(format3(v[v.count / 2] * 1e3))/\(format3(v[min(v.count - 1, v.count * 99 / 100)] * 1e3))"
        }
        var parts = ["verify", "order", "queue", "encode", "store", "commit"].map { stage in
            "\(stage) \(percentiles(rows.map { $0.stages[stage] ?? 0 }))"
        }
        parts.append("beyond own encode \(percentiles(rows.map { $0.latency - ($0.stages["encode"] ?? 0) }))")
        parts.append(
            "beyond encode and queue "
                + percentiles(rows.map { $0.latency - ($0.stages["encode"] ?? 0) - ($0.stages["queue"] ?? 0) }))
        return "server stages p50/p99 ms: " + parts.joined(separator: ", ")
    }
}

func format3(_ x: Double) -> String {
    let scaled = (x * 1000).rounded() / 1000
    return String(scaled)
}

enum FileManagerLite {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }
}

/// The temporary folders a benchmark made (ledgers, blobs, exports: up to hundreds of MB each), all
/// removed when it ends, whether it succeeded or not; folders given with `--data` are never touched.
enum ScratchFolders {
    private static let folders = Mutex<[String]>([])

    static func created(_ folder: String) {
        folders.withLock { $0.append(folder) }
    }

    static func removeAll() {
        for folder in folders.withLock({ list in
            defer { list = [] }; return list
        }) {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
