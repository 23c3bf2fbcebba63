import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Starts `temoin serve` and waits until it answers. A port just freed by a killed server can
/// stay busy for a moment (lingering sockets): then it tries again.
func startService(_ data: String, port: Int) async throws -> ChildProcess {
    var last = ""
    for _ in 0..<20 {
        try? FileManager.default.removeItem(atPath: data + "/service.url")
        let server = try Tool.start("temoin", ["serve", "--data", data, "--port", String(port)])
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: data + "/service.url") { return server }
            if !server.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.stop(SIGKILL)
        last = (try? await server.wait(timeout: .seconds(10)))?.errorText ?? ""
        try await Task.sleep(for: .milliseconds(250))
    }
    throw TestFailure("the service did not start: \(last)")
}

@Suite(.tags(.process, .slow), .notInFastRuns)
struct ServiceProcessTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples/speech-fr-en-16k.wav").path

    @Test func administrationWorksWhetherOrNotTheServiceRuns() async throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let key = t.url.appendingPathComponent("phone.key").path
        #expect(try Tool.run("temoin-device", ["keygen", "--out", key]).status == 0)
        let server = try await startService(t.data, port: freeLoopbackPort())
        let url = try String(contentsOfFile: t.data + "/service.url", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let enrolled = try Tool.run(
            "temoin", ["enroll", "--data", t.data, "--public-key", key + ".pub", "--label", "B"])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let device = try Tool.run(
            "temoin-device",
            [
                "alert", "--server", url, "--key", key, "--log-key", t.data + "/log-key.txt",
                "--wav", Self.sample, "--chunk-seconds", "4",
            ])
        #expect(device.status == 0, "\(device.stderr)")
        let alert = String(device.text.split(separator: "\n").first ?? "")
        let served = t.url.appendingPathComponent("served.opus").path
        #expect(try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", served]).status == 0)
        #expect(try Tool.run("temoin", ["audit", "--data", t.data]).status == 0)
        await server.stop(SIGTERM)
        let local = t.url.appendingPathComponent("local.opus").path
        #expect(try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", local]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: served)) == Data(contentsOf: URL(fileURLWithPath: local)))
    }

    /// SIGTERM while a chunk is being handled (it waits for the one before it): the service
    /// finishes it, answers with its receipt, and only then exits.
    @Test func aGracefulShutdownFinishesTheRequestsInFlight() async throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let keyPath = t.url.appendingPathComponent("phone.key").path
        #expect(try Tool.run("temoin-device", ["keygen", "--out", keyPath]).status == 0)
        #expect(try Tool.run("temoin", ["enroll", "--data", t.data, "--public-key", keyPath + ".pub"]).status == 0)
        let port = freeLoopbackPort()
        try? FileManager.default.removeItem(atPath: t.data + "/service.url")
        let server = try Tool.start(
            "temoin", ["serve", "--data", t.data, "--port", String(port), "--reorder-wait-seconds", "6"])
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: t.data + "/service.url") {
            try await Task.sleep(for: .milliseconds(20))
        }
        let key = try Ed25519PrivateKey(pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: keyPath))))
        let origin = try VerifierKey(
            parsing: String(contentsOfFile: t.data + "/log-key.txt", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        ).name
        let alert = AlertID(String(repeating: "9c", count: 16))!
        let at = "2026-11-29T17:00:00.000Z"
        let opened = try DeviceStatement(
            kind: .alertOpened, origin: origin, alert: alert, capturedAt: Timestamp(rfc3339: at)!)
        let base = "http://127.0.0.1:\(port)/v1/alerts/\(alert)"
        _ = try system(
            "curl",
            [
                "-fsS", "-X", "PUT", "--data-binary",
                #"{"device":"\#(DeviceID.derive(publicKey: key.publicKey))","openedAt":"\#(at)","signature":"\#(Base64.encode(try key.sign(opened.bytes)))"}"#,
                base,
            ])
        let wav = try Data(contentsOf: URL(fileURLWithPath: Self.sample))
        try wav.write(to: t.url.appendingPathComponent("chunk.wav"))
        let chunk = try DeviceStatement(
            kind: .audioChunk, origin: origin, alert: alert, seq: 1, capturedAt: Timestamp(rfc3339: at)!,
            sha256: SHA256.hash([UInt8](wav)))
        // Chunk 1 before chunk 0: the service holds it for up to 6 s; SIGTERM arrives meanwhile
        // (after 2 s, so the request is surely in the service even on a loaded machine).
        let upload = try ChildProcess(
            "/usr/bin/curl",
            [
                "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                "-H", "Content-Type: audio/wav", "-H", "Temoin-Captured-At: \(at)",
                "-H", "Temoin-Signature: \(Base64.encode(try key.sign(chunk.bytes)))",
                "--data-binary", "@" + t.url.appendingPathComponent("chunk.wav").path, base + "/chunks/1",
            ])
        try await Task.sleep(for: .seconds(2))
        server.signal(SIGTERM)
        let uploaded = try await upload.wait(timeout: .seconds(60))
        #expect(uploaded.status == 0)
        #expect(uploaded.text == "201", "the request in flight got its receipt")
        let stopped = try await server.wait(timeout: .seconds(60))
        #expect(stopped.status == 0, "the service stopped cleanly")
        let entries = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(entries.status == 0)
        #expect(
            entries.text.contains("6 entrées"), "genesis, 2 enrollments, opened, missing 0, chunk 1: \(entries.text)")
    }

    /// Several phones upload while the service is killed (SIGKILL) at random moments and restarted.
    /// Afterwards every receipt a phone holds is in the ledger with a valid proof, the audit
    /// passes, and every recording lasts exactly as long as what was sent.
    @Test func nothingAcknowledgedIsLostWhenTheServiceIsKilledAgainAndAgain() async throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        let initialized = try Tool.run("temoin", ["init", "--data", t.data])
        let logKey = try VerifierKey(parsing: String(initialized.text.split(separator: "\n").last!))
        let phones = 3
        var keys = [String]()
        for p in 0..<phones {
            let key = t.url.appendingPathComponent("phone\(p).key").path
            #expect(try Tool.run("temoin-device", ["keygen", "--out", key]).status == 0)
            #expect(try Tool.run("temoin", ["enroll", "--data", t.data, "--public-key", key + ".pub"]).status == 0)
            keys.append(key)
        }
        let port = freeLoopbackPort()
        var server = try await startService(t.data, port: port)
        let devices = try (0..<phones).map { p in
            try Tool.start(
                "temoin-device",
                [
                    "alert", "--server", "http://127.0.0.1:\(port)", "--key", keys[p], "--log-key", logKey.description,
                    "--wav", Self.sample, "--chunk-seconds", "1", "--retry-seconds", "120",
                    "--receipts", t.url.appendingPathComponent("receipts\(p).jsonl").path,
                ])
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...700, using: &rng)))
            await server.stop(SIGKILL)
            server = try await startService(t.data, port: port)
        }
        var alerts = [String]()
        for d in devices {
            let phone = try await d.wait(timeout: .seconds(600))
            #expect(phone.status == 0, "\(phone.errorText.suffix(2000))")
            alerts.append(String(phone.text.split(separator: "\n").first ?? ""))
        }
        await server.stop(SIGTERM)

        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
        struct Receipt: Decodable { let index: UInt64; let leafHash: String; let receipt: String }
        var checked = 0
        for p in 0..<phones {
            let lines = try String(
                contentsOfFile: t.url.appendingPathComponent("receipts\(p).jsonl").path, encoding: .utf8
            )
            .split(separator: "\n")
            #expect(lines.count == 22, "open, 20 chunks, close")
            for line in lines {
                let r = try JSONDecoder().decode(Receipt.self, from: Data(line.utf8))
                try SignedReceipt(parsing: Array(r.receipt.utf8)).verify(key: logKey, using: Ed25519())
                let proof = try Tool.run("temoin", ["log", "prove", "--data", t.data, "--index", String(r.index)])
                let parsed = try TlogProof(parsing: Array(proof.stdout))
                try parsed.checkpoint.verify(key: logKey, using: Ed25519())
                try MerkleVerifier(hasher: SHA256.merkle).verifyInclusion(
                    index: r.index, size: parsed.checkpoint.checkpoint.size, leafHash: Hash(base64: r.leafHash)!,
                    proof: parsed.path, root: parsed.checkpoint.checkpoint.root)
                checked += 1
            }
        }
        #expect(checked == phones * 22)
        let input = try WAV.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: Self.sample))))
        for alert in alerts {
            let out = t.url.appendingPathComponent("\(alert).opus").path
            let r = try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", out])
            #expect(r.status == 0)
            let decoded = t.url.appendingPathComponent("\(alert).wav").path
            _ = try system("opusdec", ["--quiet", out, decoded])
            #expect(
                try WAV.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: decoded)))).frameCount == input.frameCount)
        }
    }
}
