#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinExport
import TemoinIngest

/// Reads a whole input file, refusing what cannot be read or is too large.
package func readInput(_ path: String, limit: Int = 2 << 30) throws -> [UInt8] {
    let url = URL(fileURLWithPath: path)
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
        throw TemoinError(.inputNotFound, "cannot read the input file", context: path)
    }
    guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
        throw TemoinError(.inputNotAFile, "the input is not a regular file", context: path)
    }
    guard let size = attributes[.size] as? Int, size <= limit else {
        throw TemoinError(.inputTooLarge, "the input file is larger than \(limit) bytes", context: path)
    }
    guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
        throw TemoinError(.inputUnreadable, "cannot read the input file", context: path)
    }
    return [UInt8](data)
}

/// The pseudonymous id of the person at this terminal, for `access` entries: the first 16 bytes of
/// SHA-256("temoin/operator/v1\n" ‖ login name), in hex. No name enters the ledger.
func localOperatorID() -> String {
    let name =
        getenv("USER").map { String(cString: $0) } ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) }
        ?? "unknown"
    return Hex.encode(SHA256.hash(Array(("temoin/operator/v1\n" + name).utf8)).bytes.prefix(16))
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Ingère un fichier audio comme une alerte / ingest an audio file as one alert, chunk by chunk, signed "
            + "by the local ingest device.",
        discussion: "Prints the alert id alone on the last line of standard output.")

    @OptionGroup var options: DataOption
    @Option(help: "Durée d'un segment en secondes, multiple de 0,02 / chunk length in seconds, a multiple of 0.02.")
    var chunkSeconds: Double = 5
    @Option(help: "Débit Opus / Opus bitrate in bit/s (default: 24000 up to 16 kHz, 32000 above).")
    var bitrate: Int?
    @Option(help: "Fichier PCM brut s16le à ce taux / the file is raw s16le PCM at this rate (Hz).")
    var rawRate: Int?
    @Option(help: "Canaux du PCM brut / channels of raw PCM.")
    var rawChannels = 1
    @Argument(help: "Fichier WAV (ou PCM brut avec --raw-rate) / WAV file (or raw PCM with --raw-rate).")
    var file: String

    func validate() throws {
        let frames = (chunkSeconds * 50).rounded()
        guard chunkSeconds >= 0.02, chunkSeconds <= 60, abs(frames - chunkSeconds * 50) < 1e-9 else {
            throw ValidationError("--chunk-seconds must be a multiple of 0.02 between 0.02 and 60")
        }
    }

    func run() async throws {
        let bytes = try readInput(file)
        let format: OriginalFormat =
            rawRate.map { .l16(sampleRate: $0, channels: rawChannels, bigEndian: false) } ?? .wav
        let audio =
            try rawRate.map { try PCMAudio.raw(bytes, sampleRate: $0, channels: rawChannels, bigEndian: false) }
            ?? WAV.parse(bytes)
        let framesPerChunk = Int((chunkSeconds * Double(audio.format.sampleRate)).rounded())
        let directory = options.directory
        let deviceKey = try directory.loadIngestDeviceKey()
        let device = DeviceID.derive(publicKey: deviceKey.publicKey)
        let writer = try LedgerWriter(directory: directory)
        var limits = AudioLimits()
        limits.bitrate = bitrate
        _ = try OpusSettings(inputRate: audio.format.sampleRate, bitrate: bitrate)
        let ingestor = try AudioIngestor(writer: writer, limits: limits)
        let origin = writer.origin
        let alert = AlertID.random()
        let start = systemClock()

        let opened = try DeviceStatement(kind: .alertOpened, origin: origin, alert: alert, capturedAt: start)
        _ = try await writer.append(
            EntryDraft(
                kind: .alertOpened, alert: alert, device: device,
                [
                    ("opened-at", start.description),
                    ("statement-sig", Base64.encode(try deviceKey.sign(opened.bytes))),
                ]))
        var seq: UInt64 = 0
        var frame = 0
        let totalFrames = audio.frameCount
        while frame < totalFrames {
            let end = min(totalFrames, frame + framesPerChunk)
            let slice = audio.data[
                (audio.data.startIndex + frame * audio.format.blockAlign)..<(audio.data.startIndex + end
                    * audio.format.blockAlign)]
            let original: [UInt8]
            original = rawRate == nil ? WAV.encode(format: audio.format, data: slice) : Array(slice)
            let capture = Timestamp(
                millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(frame) * 1000
                    / Int64(audio.format.sampleRate))
            let statement = try DeviceStatement(
                kind: .audioChunk, origin: origin, alert: alert, seq: seq, capturedAt: capture,
                sha256: SHA256.hash(original))
            let appended = try await ingestor.ingest(
                ChunkUpload(
                    alert: alert, seq: seq, captureStart: capture, original: original, format: format,
                    statementSignature: try deviceKey.sign(statement.bytes), isFinal: end == totalFrames))
            Output.error("segment / chunk \(seq): entrée / entry \(appended.index)")
            seq += 1
            frame = end
        }
        let closedAt = Timestamp(
            millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(totalFrames) * 1000
                / Int64(audio.format.sampleRate))
        let closed = try DeviceStatement(
            kind: .alertClosed, origin: origin, alert: alert, seq: seq - 1, capturedAt: closedAt)
        let last = try await writer.append(
            EntryDraft(
                kind: .alertClosed, alert: alert,
                [
                    ("closed-by", "device"), ("reason", "released"),
                    ("closed-at", closedAt.description),
                    ("last-seq", String(seq - 1)), ("statement-sig", Base64.encode(try deviceKey.sign(closed.bytes))),
                ]))
        Output.line(
            "Alerte ingérée / alert ingested: \(seq) segments/chunks, \(audio.format), "
                + "\(Double(audio.durationMicroseconds) / 1e6) s; registre / ledger size "
                + "\(last.checkpoint.checkpoint.size)"
        )
        Output.line(alert.rawValue)
    }
}

struct RecordingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording",
        abstract:
            "Écrit l'enregistrement Ogg Opus d'une alerte / write an alert's Ogg Opus recording (the access is logged)."
    )

    @OptionGroup var options: DataOption
    @Option(help: "Identifiant de l'alerte / alert id.") var alert: AlertID
    @Option(help: "Fichier .opus à écrire / the .opus file to write.") var out: String

    func run() async throws {
        let reader = try LedgerReader(directory: options.directory)
        let recording = try reader.recording(alert: alert)
        switch try Administration.route(options.directory) {
        case .local(let writer):
            _ = try await writer.append(
                EntryDraft(
                    kind: .access, alert: alert,
                    [
                        ("actor", localOperatorID()), ("role", "operator"), ("action", "recording"),
                        ("reason", "-"),
                    ]))
        case .service(let url, let token):
            // The service logs the access and returns the same deterministic bytes.
            let served = try await Administration.post(
                url, "v1/admin/alerts/\(alert)/recording", token: token, json: nil,
                headers: ["Temoin-Operator": localOperatorID()])
            guard Array(served) == recording.bytes else {
                throw TemoinError(.recordingDiffers, "the service's recording differs from the ledger's")
            }
        }
        guard FileManager.default.createFile(atPath: out, contents: Data(recording.bytes)) else {
            throw TemoinError(.outputUnwritable, "cannot write the recording", context: out)
        }
        let seconds = Double(recording.durationSamples) / 48000
        Output.line(
            "Enregistrement écrit / recording written: \(out) (\(seconds) s, \(recording.bytes.count) octets/bytes)")
        if !recording.missing.isEmpty {
            Output.line(
                "Segments manquants / missing chunks: "
                    + "\(recording.missing.map { "\($0.lowerBound)–\($0.upperBound)" }.joined(separator: ", "))"
            )
        }
    }
}
