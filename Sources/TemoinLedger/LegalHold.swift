public import TemoinCore

/// Legal holds (Docs/security.md, "Legal hold and retention"): `hold.placed` and `hold.released`
/// entries in the alert's chain, each with a reference (a case number, a court order). An alert
/// is held while some reference is placed and not released; a held alert is not erased, by staff,
/// by the operator or by the retention period.
public enum LegalHold {
    /// The draft of a hold placed (`placing`) or released.
    public static func draft(
        alert: AlertID, placing: Bool, actor: String, role: String, reference: String
    ) -> EntryDraft {
        EntryDraft(
            kind: placing ? .holdPlaced : .holdReleased, alert: alert,
            [("actor", actor), ("role", role), ("reference", reference)])
    }

    /// The references placed and not released, in order, from the alert's entries (those of the
    /// open transaction included, for the writer).
    static func active(alert: AlertID, _ store: any LedgerStoreReading) throws(TemoinError) -> [String] {
        var events = [(UInt64, Bool, String)]()
        for (kind, placing) in [(EntryKind.holdPlaced, true), (.holdReleased, false)] {
            for stored in try store.entries(alert: alert, kind: kind) {
                events.append((stored.index, placing, try stored.parsed()["reference"] ?? ""))
            }
        }
        var held = [String]()
        for (_, placing, reference) in events.sorted(by: { $0.0 < $1.0 }) {
            if placing {
                held.append(reference)
            } else if let i = held.firstIndex(of: reference) {
                held.remove(at: i)
            }
        }
        return held
    }
}
