public import TemoinCore
import TemoinCrypto

/// Erasure by crypto-shredding (Docs/security.md, "Erasure"): an alert's key is destroyed, so
/// nobody can decrypt its audio any more, wherever a copy of its blobs lies; then the blobs and
/// the location fixes are deleted. The ledger keeps every entry and hash: receipts, proofs and
/// bundles exported before still verify.
///
/// Ordered so that a crash at any point leaves a state the audit accepts and a second run
/// finishes the work:
/// 1. one transaction: the `data.erased` entry (refused while the alert is open or on legal
///    hold), the deletion of the alert's key row, of its location rows and of their rows in the
///    statement index (`LedgerWriter`); from this commit on the alert's blobs cannot be opened;
/// 2. older copies of the deleted rows dropped (SQLite's write-ahead log truncated);
/// 3. the alert's blob files deleted, then its folder, each deletion fsynced.
/// A second run finds the entry (`.oncePerAlert`: nothing appended) and does 2 and 3 again.
public enum Erasure {
    /// What `data.erased` says was erased: the alert's key (so every blob: originals, Opus
    /// streams, quarantined bytes), its blob files and its location fixes.
    public static let scope = "alert-data"
    /// The actor of an erasure made by the service itself (retention): no person.
    public static let serviceActor = String(repeating: "0", count: 32)

    /// The `data.erased` draft: `actor` an account's or operator's pseudonymous id, `role` the
    /// role (`legal`, `operator`, `service`), `reason` the staff's text (or `retention`).
    public static func draft(alert: AlertID, actor: String, role: String, reason: String) -> EntryDraft {
        var draft = EntryDraft(
            kind: .dataErased, alert: alert,
            [("scope", scope), ("actor", actor), ("role", role), ("reason", reason)])
        draft.idempotency = .oncePerAlert
        return draft
    }

    /// Erases the alert (or finishes an erasure a crash interrupted). Returns the `data.erased`
    /// entry (`isNew` false when it was already there). `step`: tests only, stops after a step.
    /// `io`: where the blob files are deleted (the service's blocking threads), else right here.
    public static func run(
        alert: AlertID, actor: String, role: String, reason: String, writer: LedgerWriter, io: BlockingIO? = nil,
        step: CrashPoints? = nil
    ) async throws -> Appended {
        let appended = try await writer.append(draft(alert: alert, actor: actor, role: role, reason: reason))
        try step?.step("data.erased appended, key and location rows deleted")
        try await writer.finishErasure(alert)
        try step?.step("older copies of deleted rows dropped")
        let blobs = writer.directory.blobs
        if let io {
            try await io.run { try blobs.removeAll(alert: alert, step: step) }
        } else {
            try blobs.removeAll(alert: alert, step: step)
        }
        return appended
    }
}
