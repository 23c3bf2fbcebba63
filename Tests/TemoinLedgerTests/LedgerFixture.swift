import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// A fresh data folder with an initialized ledger, removed when the fixture is released.
final class LedgerFixture: @unchecked Sendable {
    let root: URL
    let directory: DataDirectory
    let created: Ledger.Created

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-test-\(UUID().uuidString)")
        directory = DataDirectory(root.appendingPathComponent("data").path)
        created = try await Ledger.initialize(directory: directory, origin: "test.example/ledger")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func writer() throws -> LedgerWriter { try LedgerWriter(directory: directory) }

    /// A raw connection, as an attacker with file access would have.
    func rawDatabase() throws -> SQLiteConnection { try SQLiteConnection(path: directory.database) }

    func audit() throws -> AuditReport { try Auditor(directory: directory).run() }

    static func alert(_ n: Int) -> AlertID { AlertID(bytes: SHA256.hash(Array("alert \(n)".utf8)).bytes.prefix(16))! }

    func open(_ alert: AlertID, on writer: LedgerWriter) async throws -> Appended {
        try await writer.append(
            EntryDraft(
                kind: .alertOpened,
                [
                    ("alert", alert.rawValue), ("device", created.ingestDevice.rawValue),
                    ("opened-at", "2026-11-29T17:00:00.000Z"),
                    ("statement-sig", "none"),
                ]))
    }

    /// An audio.chunk entry whose original and Opus blobs are really stored.
    func chunk(_ alert: AlertID, seq: Int, on writer: LedgerWriter) async throws -> Appended {
        let original = Array("original \(alert) \(seq)".utf8)
        let opus = Array("opus \(alert) \(seq)".utf8)
        let key = try await writer.alertKey(for: alert)
        let oh = try directory.blobs.put(alert: alert, bytes: original, key: key)
        let ph = try directory.blobs.put(alert: alert, bytes: opus, key: key)
        return try await writer.append(
            EntryDraft(
                kind: .audioChunk,
                [
                    ("alert", alert.rawValue), ("seq", String(seq)), ("capture-start", "2026-11-29T17:00:00.000Z"),
                    ("duration-us", "5000000"), ("original-format", "wav"), ("original-sha256", oh.hex),
                    ("original-size", String(original.count)), ("opus-sha256", ph.hex), ("opus-packets", "1"),
                    ("opus-bytes", String(opus.count)),
                    (
                        "codec",
                        "opus application=voip frame-ms=20 bitrate=24000 complexity=10 rate=16000 input-rate=16000 "
                            + "channels=1 preskip=312"
                    ),
                    ("codec-library", "libopus 1.3.1"), ("statement-sig", "none"),
                ]))
    }

    /// A location entry as the service makes it: a salted commitment, the fix in its side row.
    static func location(
        _ alert: AlertID, fix: String = "geo:48.8566,2.3522;u=10", at: String = "2026-11-29T17:00:00.000Z",
        signature given: [UInt8]? = [], rule: Idempotency? = .sameStatement
    ) -> EntryDraft {
        // A signature of its own for each statement unless the test gives one (nil: `none`).
        let made = Array(SHA256.hash(Array("sig \(fix) \(at)".utf8)).bytes)
        let signature = given == [] ? made + made : given
        let salt = Array(SHA256.hash(Array("salt \(fix) \(at) \(signature ?? [])".utf8)).bytes)
        var d = EntryDraft(
            kind: .location,
            [
                ("alert", alert.rawValue), ("captured-at", at), ("commitment", SHA256.hash(salt + Array(fix.utf8)).hex),
                ("statement-sig", signature.map { Base64.encode($0) } ?? "none"),
            ])
        d.sideRow = .location(salt: salt, fix: fix)
        d.idempotency = rule
        return d
    }

    /// Opens `alerts` alerts and appends `chunks` chunks to each; returns the writer (still open).
    @discardableResult
    func populate(alerts: Int = 2, chunks: Int = 3) async throws -> LedgerWriter {
        let w = try writer()
        for a in 0..<alerts {
            _ = try await open(Self.alert(a), on: w)
            for s in 0..<chunks { _ = try await chunk(Self.alert(a), seq: s, on: w) }
        }
        return w
    }
}

extension AuditReport {
    /// True if some problem names `place` (prefix match) — tamper tests assert the place.
    func names(_ place: String) -> Bool { problems.contains { $0.place.hasPrefix(place) } }
}

/// Runs blocking work (an audit loop) on a thread of its own, so it never holds one of the
/// cooperative pool's two threads that concurrent tests' services need to answer.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
