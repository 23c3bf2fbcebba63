import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
@testable import TemoinExport
import TemoinCore
import TemoinCrypto
import TemoinVerify
import Testing

/// Erasure by crypto-shredding (Docs/security.md, "Erasure"): the alert's key destroyed, then its
/// blobs and fixes deleted; the ledger, and bundles exported before, untouched.
struct ErasureTests {
    static let alert = AudioIngestTests.alert
    static let operatorID = "0123456789abcdef0123456789abcdef"

    /// An alert with three chunks, a conflict, two locations and a close, and a bundle exported
    /// before any erasure.
    static func closedAlert() async throws -> (LedgerFixture, bundle: String) {
        let f = try await LedgerFixture()
        let w = try f.writer()
        _ = try await f.open(alert, on: w)
        let ingestor = try AudioIngestor(writer: w)
        let fixtures = AudioIngestTests()
        for s in 0..<3 { _ = try await ingestor.ingest(fixtures.upload(s)) }
        let other = ChunkUpload(
            alert: alert, seq: 1, captureStart: fixtures.upload(1).captureStart, original: AudioIngestTests.chunks[4],
            format: .wav, statementSignature: nil)
        _ = try await ingestor.submit(other)
        _ = try await w.append(LedgerFixture.location(alert, fix: "geo:45.764,4.8357;u=30"))
        _ = try await w.append(
            LedgerFixture.location(alert, fix: "geo:45.765,4.8358;u=30", at: "2026-11-29T17:01:00.000Z"))
        _ = try await w.append(
            EntryDraft(
                kind: .alertClosed, alert: alert,
                [
                    ("closed-by", "operator"), ("reason", "released"), ("closed-at", "2026-11-29T17:10:00.000Z"),
                    ("last-seq", "2"), ("statement-sig", "none"),
                ]))
        let bundle = f.root.appendingPathComponent("bundle-before").path
        _ = try await Exporter(directory: f.directory).export(
            alert: alert, to: bundle, requester: "OPJ Lyon", reference: "PV 2026/123", writer: w)
        return (f, bundle)
    }

    static func erase(_ directory: DataDirectory, step: CrashPoints? = nil) async throws -> Appended {
        let w = try LedgerWriter(directory: directory)
        return try await Erasure.run(
            alert: alert, actor: operatorID, role: "operator", reason: "Décision du juge du 12 décembre", writer: w,
            step: step)
    }

    @Test func anErasedAlertCannotBeDecryptedTheAuditPassesAndAnOldBundleStillVerifies() async throws {
        let (f, bundle) = try await Self.closedAlert()
        let raw = try f.rawDatabase()
        let wrapped = try #require(try LedgerStore(db: raw).alertKeyRow(Self.alert)).wrapped
        let sizeBefore = try LedgerReader(directory: f.directory).size()

        let erased = try await Self.erase(f.directory)
        #expect(erased.isNew && erased.entry.kind == .dataErased)
        #expect(erased.entry["scope"] == "alert-data" && erased.entry["role"] == "operator")

        // Nobody can decrypt: no key row, no blob, no fix, no statement key of a fix.
        let reader = try LedgerReader(directory: f.directory)
        #expect { _ = try reader.alertKey(Self.alert) } throws: { ($0 as? TemoinError)?.code == "alert.erased" }
        #expect { _ = try reader.recording(alert: Self.alert) } throws: { ($0 as? TemoinError)?.code == "alert.erased" }
        #expect(!FileManager.default.fileExists(atPath: f.directory.blobs.root + "/" + Self.alert.rawValue))
        let store = LedgerStore(db: raw)
        #expect(try store.alertKeyRow(Self.alert) == nil)
        for e in try reader.entries(alert: Self.alert) where e.entry.kind == .location {
            #expect(try store.locationRow(entry: e.index) == nil)
        }
        var statementRows = [Int64]()
        try store.forEachStatementRow { statementRows.append($0.entry) }
        let locationIndices = try reader.entries(alert: Self.alert).filter { $0.entry.kind == .location }.map(\.index)
        #expect(locationIndices.count == 2)
        #expect(statementRows.allSatisfy { !locationIndices.contains(UInt64($0)) })
        // The wrapped key is overwritten in the database files too (secure_delete, WAL truncated).
        for suffix in ["", "-wal"] {
            let path = f.directory.database + suffix
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(bytes.range(of: Data(wrapped)) == nil, "the wrapped key is gone from ledger.sqlite\(suffix)")
        }

        // The ledger only grew: every entry is still there.
        #expect(try reader.size() == sizeBefore + 1)
        let report = try f.audit()
        #expect(report.passed, "\(report.problems)")
        #expect(report.erasedAlerts == [Self.alert] && report.unfinishedErasures.isEmpty)
        var verifier = BundleVerifier(folder: bundle, trustedKey: f.created.verifierKey)
        let verified = try verifier.run()
        #expect(verified.passed, "\(verified.checks.filter { !$0.passed })")

        // Erasing again appends nothing; no more evidence is taken nor given.
        let again = try await Self.erase(f.directory)
        #expect(!again.isNew && again.index == erased.index)
        let w = try f.writer()
        await #expect { _ = try await f.chunk(Self.alert, seq: 9, on: w) } throws: {
            ($0 as? TemoinError)?.code == "alert.erased"
        }
        await #expect { _ = try await w.append(LedgerFixture.location(Self.alert, fix: "geo:1,2")) } throws: {
            ($0 as? TemoinError)?.code == "alert.erased"
        }
        await #expect {
            _ = try await Exporter(directory: f.directory).export(
                alert: Self.alert, to: f.root.appendingPathComponent("bundle-after").path, requester: "OPJ",
                reference: "PV", writer: w)
        } throws: { ($0 as? TemoinError)?.code == "alert.erased" }
        #expect(try f.audit().passed)
    }

    @Test func anOpenAlertIsNotErased() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        await #expect {
            _ = try await Erasure.run(
                alert: LedgerFixture.alert(0), actor: Self.operatorID, role: "operator", reason: "test", writer: w)
        } throws: { ($0 as? TemoinError)?.code == "erase.alert-open" }
        #expect(try f.audit().passed)
        #expect(
            try await w.alertKey(for: LedgerFixture.alert(0))
                == (try LedgerReader(directory: f.directory).alertKey(LedgerFixture.alert(0))))
    }

    /// A crash after any step of an erasure (simulated by stopping after step k, for every k)
    /// leaves a state the audit accepts, and running the command again finishes it.
    @Test(.tags(.slow), .notInFastRuns) func anErasureStoppedAfterAnyStepIsAuditedCleanAndFinishedByTheNextRun()
        async throws
    {
        let (template, bundle) = try await Self.closedAlert()
        var k = 1
        while true {
            let copy = template.root.appendingPathComponent("copy-\(k)")
            try FileManager.default.copyItem(atPath: template.directory.path, toPath: copy.path)
            let directory = DataDirectory(copy.path)
            let points = CrashPoints(stopAfter: k)
            var stopped = false
            do {
                _ = try await Self.erase(directory, step: points)
            } catch let e as TemoinError where e.code == "test.stopped" {
                stopped = true
            }
            let mid = try Auditor(directory: directory).run()
            #expect(mid.passed, "after step \(k) (\(points.passed.last ?? "-")): \(mid.problems)")
            #expect(mid.erasedAlerts == [Self.alert], "the entry is the first step")
            #expect(throws: TemoinError.self) { _ = try LedgerReader(directory: directory).alertKey(Self.alert) }
            _ = try await Self.erase(directory)
            let done = try Auditor(directory: directory).run()
            #expect(done.passed && done.unfinishedErasures.isEmpty, "after step \(k), resumed: \(done.problems)")
            #expect(!FileManager.default.fileExists(atPath: directory.blobs.root + "/" + Self.alert.rawValue))
            try FileManager.default.removeItem(at: copy)
            if !stopped { break }
            k += 1
        }
        #expect(k > 8, "every step was tried: \(k)")
        var verifier = BundleVerifier(folder: bundle, trustedKey: template.created.verifierKey)
        #expect(try verifier.run().passed)
    }
}
