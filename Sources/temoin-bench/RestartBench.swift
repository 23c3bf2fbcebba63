import ArgumentParser
import Foundation
import TemoinAudio
import TemoinCLI
import TemoinCore
import TemoinCrypto
import TemoinExport
import TemoinIngest
import TemoinLedger

/// Issue 9 item 4's measurement: one speech file ingested twice, once without interruption and
/// once with the service restarted at a chunk boundary (a new writer and ingestor: the encoder
/// is rebuilt from the ledger and primed with the audio before it). Writes both recordings and the
/// original next to each other; `Scripts/restart-quality` scores them (PESQ-WB, STOI, clicks).
struct RestartBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract:
            "Enregistrements avec et sans redémarrage / recordings with and without a restart, for "
            + "Scripts/restart-quality."
    )

    @Option(help: "WAV file (speech).") var file = "Samples/speech-fr-en-16k.wav"
    @Option(help: "Chunk length in seconds.") var chunkSeconds = 5
    @Option(help: "Restart before this chunk (0 < n < chunks).") var restartBefore = 1
    @Option(help: "Folder for original.wav, continuous.opus, restarted.opus.") var out = "/tmp/temoin-restart"

    func run() async throws {
        let bytes = try readInput(file)
        let audio = try WAV.parse(bytes)
        let count = max(
            2,
            (audio.frameCount + audio.format.sampleRate * chunkSeconds - 1) / (audio.format.sampleRate * chunkSeconds))
        let chunks = Bench.loopedChunks(audio, seconds: chunkSeconds, count: count)
        guard restartBefore > 0, restartBefore < chunks.count else {
            throw TemoinError(.benchBadRestart, "--restart-before must be between 1 and \(chunks.count - 1)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // The original as the chunks carry it (the file looped up to whole chunks).
        let original = chunks.map { try? WAV.parse($0) }.compactMap { $0 }.flatMap { Array($0.data) }
        try Data(WAV.encode(format: audio.format, data: original[...])).write(
            to: URL(fileURLWithPath: out + "/original.wav"))
        for (name, restart) in [("continuous", nil), ("restarted", restartBefore)] as [(String, Int?)] {
            let folder = try Bench.temporaryFolder("restart-" + name)
            let directory = DataDirectory(folder)
            let created = try await Ledger.initialize(directory: directory, origin: "bench.example/restart")
            let alert = Bench.alertID(1)
            var next = 0
            for part in [0..<(restart ?? chunks.count), (restart ?? chunks.count)..<chunks.count] where !part.isEmpty {
                // Each part is one run of the service: its own writer and ingestor.
                let writer = try LedgerWriter(directory: directory)
                if next == 0 {
                    _ = try await writer.append(Bench.openAlertDraft(alert: alert, device: created.ingestDevice))
                }
                let ingestor = try AudioIngestor(writer: writer)
                for seq in part {
                    _ = try await ingestor.ingest(
                        ChunkUpload(
                            alert: alert, seq: UInt64(seq),
                            captureStart: Timestamp(
                                millisecondsSinceEpoch: 1_795_971_600_000 + Int64(seq * chunkSeconds) * 1000),
                            original: chunks[seq], format: .wav, statementSignature: nil,
                            isFinal: seq == chunks.count - 1))
                    next = seq + 1
                }
            }
            let recording = try LedgerReader(directory: directory).recording(alert: alert)
            try Data(recording.bytes).write(to: URL(fileURLWithPath: "\(out)/\(name).opus"))
        }
        Output.line(
            "\(out): original.wav, continuous.opus, restarted.opus (restart before chunk \(restartBefore), "
                + "at \(restartBefore * chunkSeconds) s; \(chunks.count) chunks of \(chunkSeconds) s)")
    }
}
