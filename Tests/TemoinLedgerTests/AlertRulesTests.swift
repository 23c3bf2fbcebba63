import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

/// The rules an alert's chain keeps (one open, at most one close, one entry per statement and per
/// sequence number): the writer makes repeats idempotent and groups atomic, and the audit checks
/// every rule on what is stored, so a writer that broke one would be caught.
struct AlertRulesTests {
    func draft(_ kind: EntryKind, _ fields: [(String, String)], _ rule: Idempotency? = nil) -> EntryDraft {
        var d = EntryDraft(kind: kind, fields)
        d.idempotency = rule
        return d
    }

    func close(_ alert: AlertID, by: String = "device", rule: Idempotency? = .oncePerAlert) -> EntryDraft {
        draft(
            .alertClosed,
            [
                ("alert", alert.rawValue), ("closed-by", by), ("reason", "released"),
                ("closed-at", "2026-11-29T17:01:00.000Z"),
                ("last-seq", "0"),
                ("statement-sig", by == "device" ? Base64.encode([UInt8](repeating: 3, count: 64)) : "none"),
            ], rule)
    }

    @Test func concurrentClosesYieldOneEntryWhichEveryCallerGets() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        let alert = LedgerFixture.alert(0)
        let results = try await withThrowingTaskGroup(of: Appended.self) { group in
            for i in 0..<8 { group.addTask { try await w.append(close(alert, by: i % 2 == 0 ? "device" : "server")) } }
            var out = [Appended]()
            for try await r in group { out.append(r) }
            return out
        }
        #expect(Set(results.map(\.index)).count == 1)
        #expect(results.filter(\.isNew).count == 1)
        #expect(
            try LedgerReader(directory: w.directory).entries(alert: alert).filter { $0.entry.kind == .alertClosed }
                .count == 1)
        #expect(try f.audit().passed)
    }

    @Test func anOpenWithTheSameStatementIsTheSameEntryAndAnotherIsAConflict() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = LedgerFixture.alert(5)
        func open(_ at: String) -> EntryDraft {
            draft(
                .alertOpened,
                [
                    ("alert", alert.rawValue), ("device", f.created.ingestDevice.rawValue), ("opened-at", at),
                    ("statement-sig", "none"),
                ],
                .sameFields(["device", "opened-at"], exclusive: true))
        }
        let first = try await w.append(open("2026-11-29T17:00:00.000Z"))
        let again = try await w.append(open("2026-11-29T17:00:00.000Z"))
        #expect(first.isNew && !again.isNew && again.index == first.index)
        await #expect { _ = try await w.append(open("2026-11-29T17:00:09.000Z")) } throws: {
            ($0 as? TemoinError)?.code == "alert.conflict"
        }
    }

    @Test func aGroupIsCommittedWholeOrNotAtAll() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let size = await w.size
        let alert = LedgerFixture.alert(7)
        let open = draft(
            .alertOpened,
            [
                ("alert", alert.rawValue), ("device", f.created.ingestDevice.rawValue),
                ("opened-at", "2026-11-29T17:00:00.000Z"),
                ("statement-sig", "none"),
            ])
        // The second draft names an alert that was never opened: the whole group is refused.
        let orphan = draft(
            .chunkMissing,
            [("alert", LedgerFixture.alert(8).rawValue), ("first-seq", "0"), ("last-seq", "0"), ("reason", "closed")])
        await #expect { _ = try await w.append(group: [open, orphan]) } throws: {
            ($0 as? TemoinError)?.code == "ledger.alert-not-open"
        }
        #expect(await w.size == size)
        #expect(try LedgerReader(directory: w.directory).opening(alert: alert) == nil)
        // Other groups of the same transaction are not affected, and the retry succeeds.
        let location = LedgerFixture.location(alert)
        let stored = try await w.append(group: [open, location])
        #expect(stored.map(\.index) == [size, size + 1])
        #expect(try f.audit().passed)
    }

    @Test func theAuditNamesEveryBrokenAlertRule() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 2)
        let alert = LedgerFixture.alert(0)
        // A writer without the rules (as an operator's own tool would be) stores what the service never would.
        let secondClose = try await w.append(close(alert, by: "server", rule: nil))
        let thirdClose = try await w.append(close(alert, by: "server", rule: nil))
        let sameSeq = try await f.chunk(alert, seq: 1, on: w)
        _ = try await w.append(LedgerFixture.location(alert, rule: nil))
        // The same fix at the same time, signed again with another (valid, randomised) signature.
        let repeatedStatement = try await w.append(
            LedgerFixture.location(alert, signature: [UInt8](repeating: 9, count: 64), rule: nil))
        _ = try await w.append(
            draft(
                .chunkMissing,
                [("alert", alert.rawValue), ("first-seq", "5"), ("last-seq", "9"), ("reason", "silence")]))
        let overlap = try await w.append(
            draft(
                .chunkMissing,
                [("alert", alert.rawValue), ("first-seq", "9"), ("last-seq", "12"), ("reason", "closed")]))
        let report = try f.audit()
        #expect(!report.names("entry \(secondClose.index)"), "the first close is legitimate")
        #expect(report.names("entry \(thirdClose.index)"))
        #expect(report.names("entry \(sameSeq.index)"))
        #expect(report.names("entry \(repeatedStatement.index)"))
        #expect(report.names("entry \(overlap.index)"))
        #expect(report.problems.count == 4, "\(report.problems)")
    }

    /// The audit reads the checkpoint kept outside the database before its snapshot: run again and
    /// again while the writer appends and rewrites that file, it never reports a healthy ledger.
    @Test(.tags(.slow), .notInFastRuns) func theAuditNeverCriesWolfWhileTheWriterAppends() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 1)
        let done = ManagedAtomicFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { done.set() }
                // Cheap entries (no blobs), so each audit stays short while the ledger grows.
                for n in 0..<400 {
                    _ = try await w.append(
                        LedgerFixture.location(LedgerFixture.alert(0), fix: "geo:\(n / 100),\(n % 100)"))
                }
            }
            group.addTask {
                // The audits loop on a thread of their own (they block while the ledger grows).
                let (audits, problems) = try await onOwnThread { () throws -> (Int, [AuditProblem]) in
                    var audits = 0
                    var problems = [AuditProblem]()
                    while !done.value || audits == 0 {
                        problems += try f.audit().problems
                        audits += 1
                    }
                    return (audits, problems)
                }
                #expect(problems.isEmpty, "\(problems)")
                #expect(audits >= 3, "the audits ran while the writer appended")
            }
            try await group.waitForAll()
        }
    }
}

/// A flag set once, read from another task.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}
