import Foundation
@testable import TemoinLedger
import TemoinCore
import Testing

/// The ledger tables refuse every way of changing what was written.
struct AppendOnlyTests {
    static let attempts: [(String, String)] = [
        ("update an entry", "UPDATE entries SET bytes = x'00' WHERE idx = 1"),
        ("delete an entry", "DELETE FROM entries WHERE idx = 1"),
        (
            "replace an entry",
            "INSERT OR REPLACE INTO entries (idx, kind, alert, subject, leaf_hash, bytes) SELECT idx, kind, alert, "
                + "subject, leaf_hash, x'00' FROM entries WHERE idx = 1"
        ),
        (
            "upsert an entry",
            "INSERT INTO entries (idx, kind, alert, subject, leaf_hash, bytes) VALUES (1, 'x', NULL, NULL, x'00', "
                + "x'00') ON CONFLICT(idx) DO UPDATE SET bytes = x'00'"
        ),
        (
            "insert an entry out of place",
            "INSERT INTO entries (idx, kind, alert, subject, leaf_hash, bytes) VALUES (1000, 'x', NULL, NULL, "
                + "x'00', x'00')"
        ),
        ("update a node", "UPDATE nodes SET hash = x'00'"),
        ("delete a node", "DELETE FROM nodes"),
        ("replace a node", "INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (1, 0, x'00')"),
        ("update a checkpoint", "UPDATE checkpoints SET note = x'00'"),
        ("delete a checkpoint", "DELETE FROM checkpoints"),
        (
            "replace a checkpoint",
            "INSERT OR REPLACE INTO checkpoints (size, root, note, time) VALUES (2, x'00', x'00', 'x')"
        ),
    ]

    @Test(arguments: attempts)
    func changingTheLedgerIsRefused(_ name: String, _ sql: String) async throws {
        let f = try await LedgerFixture()
        let db = try f.rawDatabase()
        try LedgerSchema.configure(db, readOnly: false)
        #expect(throws: TemoinError.self, "\(name)") { try db.execute(sql) }
        #expect(try f.audit().passed)
    }
}
