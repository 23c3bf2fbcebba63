import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import Testing

/// A data folder with an initialized ledger, an enrolled phone key, and the service running on a
/// free loopback port. Stopped (gracefully) and removed by `stop()`.
final class LiveServer: @unchecked Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-server-\(UUID().uuidString)")
    let directory: DataDirectory
    let created: Ledger.Created
    let phone: Ed25519PrivateKey

    /// The phone's signature (canonical base64) over a chunk's statement for this service.
    func chunkSignature(alert: AlertID, seq: Int, capturedAt: Timestamp, bytes: [UInt8]) throws -> String {
        Base64.encode(
            try phone.sign(
                DeviceStatement(
                    kind: .audioChunk, origin: "test.example/service", alert: alert, seq: UInt64(seq),
                    capturedAt: capturedAt, sha256: SHA256.hash(bytes)
                ).bytes))
    }
    let url: URL
    private let task: Task<Void, any Error>

    /// `prepare`: runs on the ledger's writer before the service starts (a log-key rotation).
    init(
        configure: (inout ServiceConfiguration) -> Void = { _ in },
        prepare: (LedgerWriter) async throws -> Void = { _ in }
    ) async throws {
        directory = DataDirectory(root.appendingPathComponent("data").path)
        created = try await Ledger.initialize(directory: directory, origin: "test.example/service")
        phone = try Ed25519PrivateKey.generate()
        do {
            let w = try LedgerWriter(directory: directory)
            _ = try await w.append(
                EntryDraft(
                    kind: .deviceEnrolled,
                    [
                        ("device", DeviceID.derive(publicKey: phone.publicKey).rawValue),
                        ("device-key", Base64.encode(phone.publicKey)),
                    ]))
            try await prepare(w)
        }
        var configuration = ServiceConfiguration()
        configuration.port = 0
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try await TemoinService.buildApplication(
            directory: directory, configuration: configuration, logger: logger
        ) { port in
            continuation.yield(port)
        }
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        url = URL(string: "http://127.0.0.1:\(port)")!
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        try? FileManager.default.removeItem(at: root)
    }

    func client(key: Ed25519PrivateKey? = nil) -> DeviceClient {
        DeviceClient(server: url, key: key ?? phone, logKey: created.verifierKey)
    }

    func reader() throws -> LedgerReader { try LedgerReader(directory: directory) }

    func size() throws -> UInt64 { try reader().latestCheckpoint().checkpoint.size }

    /// A raw request, to see statuses the device client would retry or hide.
    func raw(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url.absoluteString + "/" + path)!)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    static func alert(_ n: Int = 0) -> AlertID {
        AlertID(bytes: SHA256.hash(Array("live alert \(n)".utf8)).bytes.prefix(16))!
    }

    /// One-second WAV chunks of a speech-like signal at 16 kHz; `variant` changes the bytes.
    static func chunk(_ seq: Int, variant: Int = 0) -> [UInt8] {
        let format = try! PCMFormat(encoding: .signed16, sampleRate: 16000, channels: 1)
        let data = (0..<16000).flatMap { i -> [UInt8] in
            let t = Double(seq * 16000 + i) / 16000
            let v = Int16(8000 * (0.5 + 0.5 * sin(2 * .pi * 3 * t)) * sin(2 * .pi * Double(180 + 40 * variant) * t))
            let u = UInt16(bitPattern: v)
            return [UInt8(u & 0xff), UInt8(u >> 8)]
        }
        return WAV.encode(format: format, data: data[...])
    }

    static let t0 = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
    static func at(_ seq: Int) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Int64(seq) * 1000)
    }
}
