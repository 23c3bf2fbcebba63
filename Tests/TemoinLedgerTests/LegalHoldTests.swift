import Foundation
@testable import TemoinLedger
@testable import TemoinExport
import TemoinCore
import TemoinCrypto
import TemoinVerify
import Testing

/// Legal holds (Docs/security.md): a hold blocks erasure until released; both are entries of the
/// alert's chain, shown in the custody report and checked by the audit.
struct LegalHoldTests {
    static let alert = ErasureTests.alert
    static let actor = ErasureTests.operatorID

    func hold(_ w: LedgerWriter, _ reference: String, placing: Bool = true) async throws -> Appended {
        try await w.append(
            LegalHold.draft(
                alert: Self.alert, placing: placing, actor: Self.actor, role: "operator", reference: reference))
    }

    @Test func aHoldBlocksErasureUntilReleasedThenTheErasureWorks() async throws {
        let (f, _) = try await ErasureTests.closedAlert()
        let w = try f.writer()
        _ = try await hold(w, "RG 26/01234")
        _ = try await hold(w, "Parquet 2026-77")
        await #expect { _ = try await hold(w, "RG 26/01234") } throws: {
            ($0 as? TemoinError)?.code == "hold.already-placed"
        }
        let reader = try LedgerReader(directory: f.directory)
        #expect(try reader.activeHolds(Self.alert) == ["RG 26/01234", "Parquet 2026-77"])
        let erase = { () async throws -> Appended in
            try await Erasure.run(alert: Self.alert, actor: Self.actor, role: "operator", reason: "test", writer: w)
        }
        await #expect { _ = try await erase() } throws: { error in
            guard let e = error as? TemoinError else { return false }
            return e.code == "alert.on-hold" && e.id.httpStatus == 409 && e.reason.contains("RG 26/01234")
        }
        #expect(try reader.alertKey(Self.alert) != nil, "nothing was erased")
        #expect(try f.audit().heldAlerts[Self.alert] == ["RG 26/01234", "Parquet 2026-77"])
        // A bundle exported while held carries the holds, and verifies (its custody report too).
        let bundle = f.root.appendingPathComponent("bundle-held").path
        _ = try await Exporter(directory: f.directory).export(
            alert: Self.alert, to: bundle, requester: "OPJ Lyon", reference: "PV 2026/124", writer: w)
        var verifier = BundleVerifier(folder: bundle, trustedKey: f.created.verifierKey)
        let verified = try verifier.run()
        #expect(verified.passed, "\(verified.checks.filter { !$0.passed })")
        let report = try String(contentsOfFile: bundle + "/custody-report.html", encoding: .utf8)
        #expect(report.contains("Gel juridique / Legal hold placed") && report.contains("Parquet 2026-77"))

        // A release names a hold that is placed.
        await #expect { _ = try await hold(w, "RG 99/99999", placing: false) } throws: {
            ($0 as? TemoinError)?.code == "hold.not-placed"
        }
        _ = try await hold(w, "RG 26/01234", placing: false)
        await #expect { _ = try await erase() } throws: { ($0 as? TemoinError)?.code == "alert.on-hold" }
        _ = try await hold(w, "Parquet 2026-77", placing: false)
        let erased = try await erase()
        #expect(erased.isNew)
        await #expect { _ = try await hold(w, "RG 26/01234") } throws: { ($0 as? TemoinError)?.code == "alert.erased" }

        let audit = try f.audit()
        #expect(audit.passed, "\(audit.problems)")
        #expect(audit.heldAlerts.isEmpty && audit.erasedAlerts == [Self.alert])

        // The custody report shows the holds, the releases and the erasure.
        let entries = try reader.entries(alert: Self.alert).map { ($0.index, $0.entry) }
        let html = CustodyReport(
            origin: "test.example/ledger", alert: Self.alert, requester: "r", reference: "-", entries: entries,
            checkpoint: try reader.latestCheckpoint()
        ).html
        #expect(html.components(separatedBy: "Gel juridique / Legal hold placed").count == 3)
        #expect(html.components(separatedBy: "Gel levé / Legal hold released").count == 3)
        #expect(html.contains("RG 26/01234") && html.contains("Effacement / Erasure"))
    }

    /// The audit checks holds on what is stored: a release of a hold never placed, or an erasure
    /// while held (a writer that broke the rules) is named.
    @Test func theAuditNamesAReleaseWithoutAHoldAndAnErasureWhileHeld() async throws {
        let (f, _) = try await ErasureTests.closedAlert()
        let w = try f.writer()
        _ = try await hold(w, "RG 1")
        // Entries appended around the writer's rules, as a damaged writer would.
        let raw = try f.rawDatabase()
        let store = LedgerStore(db: raw)
        let head = try #require(try store.alertHead(Self.alert))
        var draft = Erasure.draft(alert: Self.alert, actor: Self.actor, role: "operator", reason: "x")
        draft.idempotency = nil
        let forged = try Entry(
            kind: .dataErased,
            draft.fields + [("prev", head.leafHash.hex), ("time", "2030-01-01T00:00:00.000Z")])
        let size = try store.entryCount()
        try raw.execute("BEGIN IMMEDIATE")
        try store.insertEntry(
            index: size, kind: "data.erased", alert: Self.alert, subject: nil,
            leafHash: SHA256.merkle.leafHash(forged.bytes), bytes: forged.bytes)
        try raw.execute("COMMIT")
        let report = try f.audit()
        #expect(report.problems.contains { $0.problem.contains("erased while on legal hold") }, "\(report.problems)")
    }
}
