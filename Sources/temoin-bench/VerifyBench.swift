import ArgumentParser
import Foundation
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinIngest
import TemoinExport
import TemoinCLI
import TemoinVerify

/// Verifying the export of a long alert, against sha256sum over the same folder.
struct VerifyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Vérification d'un export d'une heure / verify a one-hour export vs sha256sum."
    )

    @Option(help: "WAV file, looped to the alert's length.") var file = "Samples/speech-fr-en-16k.wav"
    @Option(help: "Alert length in minutes.") var minutes = 60
    @Option(help: "Reuse this data folder if it exists.") var data: String?

    func run() async throws {
        let folder = try data ?? Bench.temporaryFolder("verify")
        let directory = DataDirectory(folder)
        let bundle = folder + "/bundle"
        let clock = ContinuousClock()
        if !FileManagerLite.exists(bundle) {
            let created = try await Ledger.initialize(directory: directory, origin: "bench.example/verify")
            let writer = try LedgerWriter(directory: directory)
            let audio = try WAV.parse(readInput(file))
            let alert = Bench.alertID(7)
            let deviceKey = try directory.loadIngestDeviceKey()
            let openedAt = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
            let statement = try DeviceStatement(
                kind: .alertOpened, origin: writer.origin, alert: alert, capturedAt: openedAt)
            _ = try await writer.append(
                EntryDraft(
                    kind: .alertOpened, alert: alert, device: created.ingestDevice,
                    [
                        ("opened-at", openedAt.description),
                        ("statement-sig", Base64.encode(try deviceKey.sign(statement.bytes))),
                    ]))
            let ingestor = try AudioIngestor(writer: writer)
            let chunks = Bench.loopedChunks(audio, seconds: 5, count: minutes * 12)
            let built = try await clock.measure {
                for (seq, chunk) in chunks.enumerated() {
                    _ = try await ingestor.ingest(
                        ChunkUpload(
                            alert: alert, seq: UInt64(seq),
                            captureStart: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(seq) * 5000),
                            original: chunk, format: .wav, statementSignature: nil, isFinal: seq == chunks.count - 1))
                }
                _ = try await Exporter(directory: directory).export(
                    alert: alert, to: bundle, requester: "bench", reference: "bench", writer: writer)
            }
            Output.line("ingested and exported \(minutes) min in \(format3(Bench.seconds(built))) s")
        }
        let key = try VerifierKey(
            parsing: String(contentsOfFile: folder + "/log-key.txt", encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines))
        var verifyTimes = [Double](), shaTimes = [Double]()
        for _ in 0..<3 {
            var verifier = BundleVerifier(folder: bundle, trustedKey: key)
            var passed = false
            verifyTimes.append(Bench.seconds(try clock.measure { passed = try verifier.run().passed }))
            guard passed else { throw TemoinError(.benchInvalid, "the bundle did not verify") }
            let sha = Process()
            sha.executableURL = URL(fileURLWithPath: "/bin/sh")
            sha.arguments = ["-c", "cd '\(bundle)' && find . -type f -print0 | xargs -0 sha256sum > /dev/null"]
            shaTimes.append(
                Bench.seconds(
                    try clock.measure {
                        try sha.run()
                        sha.waitUntilExit()
                    }))
        }
        let size = (FileManager.default.enumerator(atPath: bundle)?.compactMap { $0 as? String } ?? [])
            .compactMap { try? FileManager.default.attributesOfItem(atPath: bundle + "/" + $0)[.size] as? Int }.reduce(
                0, +)
        let v = verifyTimes.min()!, s = shaTimes.min()!
        Output.line(
            "bundle: \(size / 1_000_000) MB, "
                + "\(FileManager.default.enumerator(atPath: bundle)?.allObjects.count ?? 0) paths"
        )
        Output.line(
            "temoin-verify (in process): \(format3(v)) s   sha256sum over the same files: \(format3(s)) s   "
                + "ratio=\(format3(v / s))"
        )

        // The zip form: planned (every file read once for its CRC-32), written, then verified.
        let zip = folder + "/bundle.zip"
        var zipTimes = [Double](), zipVerifyTimes = [Double]()
        for _ in 0..<3 {
            unlink(zip)
            zipTimes.append(Bench.seconds(try clock.measure { try BundleZip.plan(folder: bundle).write(to: zip) }))
            var verifier = BundleVerifier(folder: zip, trustedKey: key)
            var passed = false
            zipVerifyTimes.append(Bench.seconds(try clock.measure { passed = try verifier.run().passed }))
            guard passed else { throw TemoinError(.benchInvalid, "the bundle's zip did not verify") }
        }
        let zipSize = (try? FileManager.default.attributesOfItem(atPath: zip)[.size] as? Int) ?? 0
        Output.line(
            "zip: \(zipSize / 1_000_000) MB, written in \(format3(zipTimes.min()!)) s (plan + write + fsync), "
                + "temoin-verify on the zip: \(format3(zipVerifyTimes.min()!)) s "
                + "(\(format3(zipVerifyTimes.min()! / v)) × "
                + "the folder)")
    }
}
