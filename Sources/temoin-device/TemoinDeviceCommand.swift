import ArgumentParser
import Foundation
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinAPI

#if canImport(Glibc)
import Glibc
#endif

/// `temoin-device`: behaves as the phone. Logs go to standard error; standard output carries
/// only what scripts read (the alert id, first).
@main
struct TemoinDeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "temoin-device",
        abstract: "Simulateur d'appareil / device simulator: keys, and an alert streamed as signed chunks.",
        subcommands: [Keygen.self, Alert.self])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var c = command as? any AsyncParsableCommand { try await c.run() } else { try command.run() }
            Glibc.exit(0)
        } catch let e as TemoinError {
            stderr("erreur / error: \(e)")
            Glibc.exit(e.exitCode)
        } catch let p as ServerProblem {
            stderr("refusé par le serveur / refused by the server: \(p)")
            // The server refused the phone's signed statement itself: the evidence as sent is invalid.
            let refusedStatement: Set<ErrorCode> = [
                .statementBadSignature, .statementBadSignatureEncoding, .statementAlert,
                .statementBadKind, .statementSeq, .statementSha256,
            ]
            Glibc.exit(ErrorCode(rawValue: p.code).map { refusedStatement.contains($0) } == true ? 1 : 2)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            stderr(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

func stderr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Crée une paire de clés / make a key pair: FILE (private, 0600) and FILE.pub.")
    @Option(help: "Fichier de la clé privée / private key file.") var out: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: out) else {
            throw TemoinError(.keygenExists, "the key file already exists; choose another name", context: out)
        }
        let key = try Ed25519PrivateKey.generate()
        guard
            FileManager.default.createFile(
                atPath: out, contents: Data(try key.pem), attributes: [.posixPermissions: 0o600]),
            FileManager.default.createFile(atPath: out + ".pub", contents: Data(try key.publicKeyPEM))
        else {
            throw TemoinError(.keygenUnwritable, "cannot write the key files", context: out)
        }
        print(DeviceID.derive(publicKey: key.publicKey))
    }
}

struct Alert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Envoie une alerte / stream a WAV as one alert of signed chunks; prints the alert id first.")

    @Option(help: "URL du service / service URL, e.g. http://127.0.0.1:8080") var server: String
    @Option(help: "Clé privée de l'appareil / the device's private key file.") var key: String
    @Option(
        help: "Clé de vérification du journal / the log's verifier key (as temoin init prints it) or a file holding it."
    )
    var logKey: String
    @Option(help: "Fichier WAV.") var wav: String
    @Option(help: "Durée d'un segment / chunk length in seconds (multiple of 0.02).") var chunkSeconds: Double = 5
    @Flag(help: "Au rythme réel / send at the pace of real time.") var realtime = false
    @Option(help: "Reçus en lignes JSON / write each receipt as a JSON line to this file.") var receipts: String?
    @Option(help: "Reprendre cette alerte / resume this alert id.") var alert: AlertID?
    @Option(help: "Position GPS à envoyer / a geo URI to send as the first location fix.") var location: String?
    @Option(help: "Abandon après / give up one request after this many seconds of retries.") var retrySeconds = 120

    func validate() throws {
        let frames = (chunkSeconds * 50).rounded()
        guard chunkSeconds >= 0.02, chunkSeconds <= 60, abs(frames - chunkSeconds * 50) < 1e-9 else {
            throw ValidationError("--chunk-seconds must be a multiple of 0.02 between 0.02 and 60")
        }
    }

    func run() async throws {
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https" else {
            throw TemoinError(.deviceBadUrl, "the server URL must start with http:// or https://")
        }
        let keyText =
            FileManager.default.fileExists(atPath: logKey)
            ? String(decoding: try Data(contentsOf: URL(fileURLWithPath: logKey)), as: UTF8.self) : logKey
        let verifierKey = try VerifierKey(parsing: keyText.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let keyData = FileManager.default.contents(atPath: key) else {
            throw TemoinError(.deviceNoKey, "cannot read the device key", context: key)
        }
        guard let wavData = FileManager.default.contents(atPath: wav) else {
            throw TemoinError(.deviceNoWav, "cannot read the WAV file", context: wav)
        }
        let audio = try WAV.parse([UInt8](wavData))
        let client = DeviceClient(server: url, key: try Ed25519PrivateKey(pem: [UInt8](keyData)), logKey: verifierKey) {
            stderr($0)
        }
        await client.setRetry(.seconds(retrySeconds))
        let alertID = alert ?? AlertID.random()
        FileHandle.standardOutput.write(Data((alertID.rawValue + "\n").utf8))

        let receiptsFile = try receipts.map { path -> FileHandle in
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw TemoinError(.deviceReceipts, "cannot write the receipts file", context: path)
            }
            h.seekToEndOfFile()
            return h
        }
        var all = [ReceiptResponse]()
        func keep(_ r: ReceiptResponse, _ what: String) throws {
            all.append(r)
            stderr("\(what): entrée / entry \(r.index) (\(r.status))")
            if let receiptsFile {
                receiptsFile.write(try JSONEncoder().encode(r) + Data("\n".utf8))
            }
        }
        let start = systemNow()
        // The first fix goes with the opening, as a phone sends it: the service texts the trusted
        // contacts as soon as the alert opens, with that position.
        try keep(
            try await client.openAlert(alertID, openedAt: start, firstFix: location), "alerte ouverte / alert opened")
        let framesPerChunk = Int((chunkSeconds * Double(audio.format.sampleRate)).rounded())
        var frame = 0
        var seq: UInt64 = 0
        while frame < audio.frameCount {
            let end = min(audio.frameCount, frame + framesPerChunk)
            let base = audio.data.startIndex
            let slice = audio.data[(base + frame * audio.format.blockAlign)..<(base + end * audio.format.blockAlign)]
            let capture = Timestamp(
                millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(frame) * 1000
                    / Int64(audio.format.sampleRate))
            if realtime {
                let due = capture.millisecondsSinceEpoch + Int64(end - frame) * 1000 / Int64(audio.format.sampleRate)
                let wait = due - systemNow().millisecondsSinceEpoch
                if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
            }
            try keep(
                try await client.putChunk(
                    alertID, seq: seq, wav: WAV.encode(format: audio.format, data: slice),
                    capturedAt: capture, isFinal: end == audio.frameCount), "segment / chunk \(seq)")
            seq += 1
            frame = end
        }
        let closedAt = Timestamp(
            millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(audio.frameCount) * 1000
                / Int64(audio.format.sampleRate))
        try keep(
            try await client.closeAlert(alertID, lastSeq: seq == 0 ? 0 : seq - 1, closedAt: closedAt),
            "alerte close / alert closed")
        for r in all { _ = try await client.verifyInclusion(of: r) }
        let seen = await client.checkpoints.count
        stderr(
            "RÉUSSI / PASS  \(all.count) reçus vérifiés, inclus dans le journal / receipts verified and included; "
                + "\(seen) points de contrôle cohérents / consistent checkpoints"
        )
    }
}

func systemNow() -> Timestamp {
    Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}
