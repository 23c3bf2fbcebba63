import TemoinCore
import TemoinCrypto

/// What a stored statement said, without its signature: the key under which the `statements`
/// table (migration 6) indexes the entry that holds it. A retried statement is recognised by this
/// key, so a phone whose Ed25519 library randomises signatures still gets one entry per statement,
/// and finding it costs one indexed read however many entries the alert has.
///
/// - `alert.opened`, `audio.chunk`, `location`, `alert.closed` carrying a device signature:
///   SHA-256 of the device statement's exact bytes (`Docs/ledger-format.md` §5), rebuilt from the
///   entry (and, for a location, from the fix kept in the `locations` table).
/// - `chunk.conflict`: SHA-256 of `temoin/chunk-conflict/v1\norigin O\nalert A\nseq N\nsha256 H\n`
///   (one conflict entry per distinct content of a sequence number).
/// - anything else, and entries whose `statement-sig` is `none`: no key.
enum StatementKey {
    static let conflictContext = "temoin/chunk-conflict/v1"

    /// The key of an entry's statement; `field` reads the entry's (or a draft's) other fields.
    static func of(
        kind: EntryKind, origin: String, alert: AlertID?, fix: String?, field: (String) -> String?
    ) -> Hash? {
        guard let alert else { return nil }
        if kind == .chunkConflict {
            guard let seq = field("seq"), let hash = field("original-sha256") else { return nil }
            return SHA256.hash(
                Array("\(conflictContext)\norigin \(origin)\nalert \(alert)\nseq \(seq)\nsha256 \(hash)\n".utf8))
        }
        guard let signature = field("statement-sig"), signature != "none" else { return nil }
        func time(_ name: String) -> Timestamp? { field(name).flatMap { Timestamp(rfc3339: $0) } }
        func uint(_ name: String) -> UInt64? { field(name).flatMap { UInt64($0) } }
        let statement: DeviceStatement?
        switch kind {
        case .alertOpened:
            statement = time("opened-at").flatMap {
                try? DeviceStatement(kind: kind, origin: origin, alert: alert, capturedAt: $0)
            }
        case .audioChunk:
            guard let at = time("capture-start"), let seq = uint("seq"), let text = field("original-sha256"),
                let hash = Hash(hex: text)
            else { return nil }
            statement = try? DeviceStatement(
                kind: kind, origin: origin, alert: alert, seq: seq, capturedAt: at, sha256: hash)
        case .alertClosed:
            guard let at = time("closed-at"), let seq = uint("last-seq") else { return nil }
            statement = try? DeviceStatement(kind: kind, origin: origin, alert: alert, seq: seq, capturedAt: at)
        case .location:
            guard let at = time("captured-at"), let fix else { return nil }
            statement = try? DeviceStatement(
                kind: kind, origin: origin, alert: alert, capturedAt: at, sha256: SHA256.hash(Array(fix.utf8)))
        default:
            return nil
        }
        return statement.map { SHA256.hash($0.bytes) }
    }

    static func of(_ entry: Entry, origin: String, fix: String?) -> Hash? {
        of(kind: entry.kind, origin: origin, alert: entry.alert, fix: fix) { entry[$0] }
    }

    /// Migration 6 on a ledger written before it: every entry that holds a statement gets its key
    /// (the first entry of a key keeps it, as the writer would have). Runs in the migration's
    /// transaction, once.
    static func backfill(_ db: SQLiteConnection) throws(TemoinError) {
        let store = LedgerStore(db: db)
        guard let genesis = try store.entry(at: 0), let origin = try genesis.parsed()["origin"] else { return }
        let rows = try db.statement(
            """
            SELECT e.idx, e.bytes, l.fix FROM entries e LEFT JOIN locations l ON l.entry = e.idx
            WHERE e.kind IN ('alert.opened', 'audio.chunk', 'location', 'alert.closed', 'chunk.conflict') ORDER BY e.idx
            """)
        let insert = try db.statement("INSERT OR IGNORE INTO statements (key, entry) VALUES (?, ?)")
        while try rows.step() {
            guard let entry = try? Entry(parsing: rows.blob(1)),
                let key = of(entry, origin: origin, fix: rows.text(2))
            else { continue }
            insert.reset()
            try insert.bind(.blob(key.bytes), .int(rows.int(0))).run()
        }
    }
}
