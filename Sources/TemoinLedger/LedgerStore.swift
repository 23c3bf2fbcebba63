public import TemoinCore
import TemoinCrypto

/// An entry as stored: its index, leaf hash and exact bytes.
public struct StoredEntry: Sendable, Hashable {
    public let index: UInt64
    public let leafHash: Hash
    public let bytes: [UInt8]

    public init(index: UInt64, leafHash: Hash, bytes: [UInt8]) {
        self.index = index
        self.leafHash = leafHash
        self.bytes = bytes
    }

    public func parsed() throws(TemoinError) -> Entry { try Entry(parsing: bytes) }
}

/// The SQLite engine: one database file in the data folder, in WAL mode with `synchronous=FULL`
/// (Docs/storage.md). Reading sessions are read-only connections.
public struct SQLiteLedgerEngine: LedgerEngine {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func openWriting(create: Bool) throws(TemoinError) -> any LedgerStoreWriting {
        try openWritingStore(create: create)
    }

    func openWritingStore(create: Bool) throws(TemoinError) -> LedgerStore {
        let db = try SQLiteConnection(path: path, create: create)
        try LedgerSchema.configure(db, readOnly: false)
        try LedgerSchema.migrate(db)
        let checkpointer = WALCheckpointer(path: path)
        checkpointer.install(on: db)
        return LedgerStore(db: db, checkpointer: checkpointer)
    }

    public func openReading() throws(TemoinError) -> any LedgerStoreReading {
        let db = try SQLiteConnection(path: path, readOnly: true)
        try LedgerSchema.configure(db, readOnly: true)
        return LedgerStore(db: db)
    }
}

/// The ledger's rows in SQLite, through one connection: entries, stored nodes, checkpoints, side
/// rows. Every proof costs O(log n) indexed reads; nothing rebuilds the tree.
final class LedgerStore: LedgerStoreWriting {
    let db: SQLiteConnection
    /// The writer's connection only: checkpoints of the write-ahead log, off the commit path.
    let checkpointer: WALCheckpointer?

    init(db: SQLiteConnection, checkpointer: WALCheckpointer? = nil) {
        self.db = db
        self.checkpointer = checkpointer
    }

    var location: String { db.path }

    func beginRead() throws(TemoinError) { try db.execute("BEGIN") }
    func endRead() {
        if (try? db.execute("COMMIT")) == nil, !db.isAutocommit { try? db.execute("ROLLBACK") }
    }

    var isReusable: Bool { db.isAutocommit }

    var inTransaction: Bool { !db.isAutocommit }
    func beginWrite() throws(TemoinError) { try db.execute("BEGIN IMMEDIATE") }
    func commit() throws(TemoinError) {
        try db.execute("COMMIT")
        guard let checkpointer else { return }
        if checkpointer.mustCatchUp {
            // Commits never paused long enough: the log is checkpointed here, between two commits,
            // where nothing is appended meanwhile (as SQLite's automatic checkpoint did).
            _ = try? checkpointer.exclusive { () throws(TemoinError) in
                try db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
        } else {
            checkpointer.committed()
        }
    }
    func rollback() throws(TemoinError) { try db.execute("ROLLBACK") }
    func savepoint() throws(TemoinError) { try db.execute("SAVEPOINT grp") }
    func releaseSavepoint() throws(TemoinError) { try db.execute("RELEASE grp") }
    func rollbackToSavepoint() throws(TemoinError) {
        try db.execute("ROLLBACK TO grp")
        try db.execute("RELEASE grp")
    }

    func insertEntry(
        index: UInt64, kind: String, alert: AlertID?, subject: String?, leafHash: Hash,
        bytes: [UInt8]
    ) throws(TemoinError) {
        try db.statement("INSERT INTO entries (idx, kind, alert, subject, leaf_hash, bytes) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(
                .int(Int64(index)), .text(kind), alert.map { .text($0.rawValue) } ?? .null,
                subject.map { .text($0) } ?? .null, .blob(leafHash.bytes), .blob(bytes)
            ).run()
    }

    func insertNode(_ id: NodeID, hash: Hash) throws(TemoinError) {
        try db.statement("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)")
            .bind(.int(Int64(id.level)), .int(Int64(id.index)), .blob(hash.bytes)).run()
    }

    func insertCheckpoint(size: UInt64, root: Hash, note: [UInt8], time: Timestamp) throws(TemoinError) {
        try db.statement("INSERT INTO checkpoints (size, root, note, time) VALUES (?, ?, ?, ?)")
            .bind(.int(Int64(size)), .blob(root.bytes), .blob(note), .text(time.description)).run()
    }

    func insertSideRow(_ row: SideRow, entry: UInt64, alert: AlertID?) throws(TemoinError) {
        switch row {
        case .location(let salt, let fix):
            try db.statement("INSERT INTO locations (entry, alert, salt, fix) VALUES (?, ?, ?, ?)")
                .bind(.int(Int64(entry)), .text(alert?.rawValue ?? ""), .blob(salt), .text(fix)).run()
        case .deviceLabel(let device, let label):
            try db.statement("INSERT OR REPLACE INTO devices (device, label) VALUES (?, ?)").bind(
                .text(device.rawValue), .text(label)
            ).run()
        case .account(let id, let name, let role, let tokenHash):
            try db.statement(
                "INSERT INTO accounts (id, name, role, token_hash, created_entry) VALUES (?, ?, ?, ?, ?)"
            ).bind(.text(id), .text(name), .text(role.rawValue), .blob(tokenHash.bytes), .int(Int64(entry))).run()
        case .accountRevocation(let id):
            try db.statement("UPDATE accounts SET revoked_entry = ? WHERE id = ? AND revoked_entry IS NULL")
                .bind(.int(Int64(entry)), .text(id)).run()
        case .contacts(let list):
            try replaceContacts(list)
        case .contactsTransfer:
            break // the writer moves them (it knows both devices)
        case .outboxOutcome(let contact, let state, let next, let error):
            guard let alert else { return }
            try recordOutcome(alert: alert, contact: contact, state: state, nextAttempt: next, error: error)
        case .linkView(let hash, let now):
            try recordLinkView(tokenHash: hash, now: now)
        }
    }

    func forEachEntryRow(_ body: (StoredEntryRow) throws(TemoinError) -> Void) throws(TemoinError) {
        let rows = try db.statement("SELECT idx, kind, alert, subject, leaf_hash, bytes FROM entries ORDER BY idx")
        defer { rows.reset() }
        while try rows.step() {
            try body(
                StoredEntryRow(
                    index: try rows.count(0), kind: rows.text(1), alert: rows.text(2), subject: rows.text(3),
                    leafHash: rows.blob(4), bytes: rows.blob(5)))
        }
    }

    func storedNode(_ id: NodeID) throws(TemoinError) -> [UInt8]? {
        let s = try db.statement("SELECT hash FROM nodes WHERE level = ? AND idx = ?").bind(
            .int(Int64(id.level)), .int(Int64(id.index)))
        defer { s.reset() }
        return try s.step() ? s.blob(0) : nil
    }

    func nodeCount() throws(TemoinError) -> UInt64 {
        let s = try db.statement("SELECT COUNT(*) FROM nodes")
        defer { s.reset() }
        _ = try s.step()
        return try s.count(0)
    }

    func insertStatementKey(_ key: Hash, entry: UInt64) throws(TemoinError) {
        try db.statement("INSERT OR IGNORE INTO statements (key, entry) VALUES (?, ?)").bind(
            .blob(key.bytes), .int(Int64(entry))
        ).run()
    }

    func hasStatementIndex() throws(TemoinError) -> Bool {
        let s = try db.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'statements'")
        defer { s.reset() }
        if try s.step() { return true }
        // Absent is normal only below schema 6, where it did not exist yet; from 6 on it was removed.
        guard let version = try db.pragma("user_version").flatMap({ Int($0) }), version < 6 else {
            throw corrupt("the statement index (table statements) is missing from a schema that has it")
        }
        return false
    }

    func forEachStatementRow(
        _ body: (_ row: (key: [UInt8], entry: Int64)) throws(TemoinError) -> Void
    ) throws(TemoinError) {
        let rows = try db.statement("SELECT key, entry FROM statements ORDER BY entry")
        defer { rows.reset() }
        while try rows.step() { try body((rows.blob(0), rows.int(1))) }
    }

    func alertKeyRow(_ alert: AlertID) throws(TemoinError) -> WrappedAlertKey? {
        guard try hasAlertKeys() else { return nil }
        let s = try db.statement("SELECT wrapped, master FROM alert_keys WHERE alert = ?").bind(.text(alert.rawValue))
        defer { s.reset() }
        guard try s.step() else { return nil }
        return WrappedAlertKey(wrapped: s.blob(0), master: s.text(1) ?? "")
    }

    func alertKeyAlerts() throws(TemoinError) -> [String] {
        guard try hasAlertKeys() else { return [] }
        let s = try db.statement("SELECT alert FROM alert_keys ORDER BY alert")
        defer { s.reset() }
        var out = [String]()
        while try s.step() { out.append(s.text(0) ?? "") }
        return out
    }

    /// Whether the database has the alert key table (migration 8): a ledger made before it and
    /// opened read-only has none.
    func hasFanoutTables() throws(TemoinError) -> Bool {
        if let known = fanoutTables { return known }
        let s = try db.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'")
        defer { s.reset() }
        let found = try s.step()
        if found { fanoutTables = true }
        return found
    }

    private func hasAlertKeys() throws(TemoinError) -> Bool {
        if let known = alertKeysTable { return known }
        let s = try db.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_keys'")
        defer { s.reset() }
        let found = try s.step()
        // Only a table found is remembered: a writer may create it later.
        if found { alertKeysTable = true }
        return found
    }

    private var alertKeysTable: Bool?
    var fanoutTables: Bool?

    func insertAlertKey(_ alert: AlertID, _ key: WrappedAlertKey) throws(TemoinError) {
        try db.statement("INSERT INTO alert_keys (alert, wrapped, master) VALUES (?, ?, ?)")
            .bind(.text(alert.rawValue), .blob(key.wrapped), .text(key.master)).run()
    }

    func deleteErasableRows(alert: AlertID) throws(TemoinError) {
        try db.statement("DELETE FROM alert_keys WHERE alert = ?").bind(.text(alert.rawValue)).run()
        if try hasFanoutTables() {
            try db.statement("DELETE FROM outbox WHERE alert = ?").bind(.text(alert.rawValue)).run()
            try db.statement("DELETE FROM links WHERE alert = ?").bind(.text(alert.rawValue)).run()
        }
        try db.statement(
            "DELETE FROM statements WHERE entry IN (SELECT entry FROM locations WHERE alert = ?)"
        ).bind(.text(alert.rawValue)).run()
        try db.statement("DELETE FROM locations WHERE alert = ?").bind(.text(alert.rawValue)).run()
    }

    func dropDeletedCopies() throws(TemoinError) {
        // Never waits for readers (the writer's thread serves receipts): a checkpoint they hold
        // back is done by the next ones.
        db.setBusyTimeout(milliseconds: 0)
        defer { db.setBusyTimeout(milliseconds: 10_000) }
        if let checkpointer {
            // A background checkpoint under way: this one is left to the next ones, as one that
            // readers hold back is.
            _ = try checkpointer.exclusive { () throws(TemoinError) in
                try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } else {
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    func locationRow(entry: UInt64) throws(TemoinError) -> (alert: String?, salt: [UInt8], fix: String?)? {
        let s = try db.statement("SELECT alert, salt, fix FROM locations WHERE entry = ?").bind(.int(Int64(entry)))
        defer { s.reset() }
        guard try s.step() else { return nil }
        return (s.text(0), s.blob(1), s.text(2))
    }

    func orphanLocationRows() throws(TemoinError) -> [Int64] {
        let s = try db.statement(
            """
            SELECT l.entry FROM locations l LEFT JOIN entries e ON e.idx = l.entry
            WHERE e.kind IS NULL OR e.kind != 'location' ORDER BY l.entry
            """)
        defer { s.reset() }
        var out = [Int64]()
        while try s.step() { out.append(s.int(0)) }
        return out
    }

    func forEachCheckpointRow(_ body: (StoredCheckpointRow) throws(TemoinError) -> Void) throws(TemoinError) {
        let rows = try db.statement("SELECT size, root, note FROM checkpoints ORDER BY size")
        defer { rows.reset() }
        while try rows.step() {
            try body(StoredCheckpointRow(size: try rows.count(0), root: rows.blob(1), note: rows.blob(2)))
        }
    }

    /// The number of entries stored.
    func entryCount() throws(TemoinError) -> UInt64 {
        let s = try db.statement("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")
        defer { s.reset() }
        _ = try s.step()
        return try s.count(0)
    }

    func entry(at index: UInt64) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT leaf_hash, bytes FROM entries WHERE idx = ?").bind(.int(Int64(index)))
        defer { s.reset() }
        guard try s.step() else { return nil }
        guard let leaf = Hash(s.blob(0)) else { throw corrupt("entry \(index) has a malformed leaf hash") }
        return StoredEntry(index: index, leafHash: leaf, bytes: s.blob(1))
    }

    /// The hash of a perfect subtree: level 0 is a leaf hash, above that a stored node.
    func node(_ id: NodeID) throws(TemoinError) -> Hash {
        if id.level == 0 {
            let s = try db.statement("SELECT leaf_hash FROM entries WHERE idx = ?").bind(.int(Int64(id.index)))
            defer { s.reset() }
            guard try s.step() else { throw corrupt("entry \(id.index) is missing") }
            guard let h = Hash(s.blob(0)) else { throw corrupt("entry \(id.index) has a malformed leaf hash") }
            return h
        }
        let s = try db.statement("SELECT hash FROM nodes WHERE level = ? AND idx = ?").bind(
            .int(Int64(id.level)), .int(Int64(id.index)))
        defer { s.reset() }
        guard try s.step() else { throw corrupt("\(id) is missing") }
        guard let h = Hash(s.blob(0)) else { throw corrupt("\(id) is malformed") }
        return h
    }

    func latestCheckpoint() throws(TemoinError) -> SignedCheckpoint? {
        let s = try db.statement("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        defer { s.reset() }
        guard try s.step() else { return nil }
        do throws(TemoinError) {
            return try SignedCheckpoint(parsing: s.blob(0))
        } catch {
            throw corrupt("a stored checkpoint is not a well-formed signed note (\(error.code))")
        }
    }

    func checkpoint(size: UInt64) throws(TemoinError) -> SignedCheckpoint? {
        let s = try db.statement("SELECT note FROM checkpoints WHERE size = ?").bind(.int(Int64(size)))
        defer { s.reset() }
        guard try s.step() else { return nil }
        do throws(TemoinError) {
            return try SignedCheckpoint(parsing: s.blob(0))
        } catch {
            throw corrupt("a stored checkpoint is not a well-formed signed note (\(error.code))")
        }
    }

    /// The latest entry of an alert, if any.
    func alertHead(_ alert: AlertID) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? ORDER BY idx DESC LIMIT 1")
            .bind(.text(alert.rawValue))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// The `device.enrolled` entry of a device, if any.
    func enrollment(device: DeviceID) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement(
            "SELECT idx, leaf_hash, bytes FROM entries WHERE subject = ? AND kind = ? ORDER BY idx LIMIT 1"
        )
        .bind(.text(device.rawValue), .text(EntryKind.deviceEnrolled.rawValue))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// The first entry of an alert (its `alert.opened`).
    func firstEntry(alert: AlertID) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? ORDER BY idx LIMIT 1").bind(
            .text(alert.rawValue))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// Every entry of one kind of an alert, in log order.
    func entries(alert: AlertID, kind: EntryKind) throws(TemoinError) -> [StoredEntry] {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? AND kind = ? ORDER BY idx")
            .bind(.text(alert.rawValue), .text(kind.rawValue))
        defer { s.reset() }
        var out = [StoredEntry]()
        while let e = try storedEntry(s) { out.append(e) }
        return out
    }

    /// The `audio.chunk` entry of (alert, seq).
    func chunkEntry(alert: AlertID, seq: UInt64) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement(
            "SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? AND kind = ? AND subject = ? ORDER BY idx "
                + "LIMIT 1"
        )
        .bind(.text(alert.rawValue), .text(EntryKind.audioChunk.rawValue), .text(String(seq)))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// The entry that holds a statement, by its `StatementKey`.
    func statementEntry(key: Hash) throws(TemoinError) -> UInt64? {
        let s = try db.statement("SELECT entry FROM statements WHERE key = ?").bind(.blob(key.bytes))
        defer { s.reset() }
        return try s.step() ? s.count(0) : nil
    }

    func rotation(key: String) throws(TemoinError) -> UInt64? {
        let s = try db.statement("SELECT idx FROM entries WHERE subject = ? AND kind = ? ORDER BY idx LIMIT 1")
            .bind(.text(key), .text(EntryKind.keyRotated.rawValue))
        defer { s.reset() }
        return try s.step() ? s.count(0) : nil
    }

    func openAlerts() throws(TemoinError) -> [AlertID] {
        let s = try db.statement(
            """
            SELECT alert FROM entries WHERE kind = 'alert.opened'
            EXCEPT SELECT alert FROM entries WHERE kind = 'alert.closed'
            """)
        defer { s.reset() }
        var out = [AlertID]()
        while try s.step() {
            guard let text = s.text(0) else { continue }
            // The alert column is parsed here, where it comes out of the database.
            guard let alert = AlertID(text) else { throw corrupt("an alert column holds '\(text)', not an alert id") }
            out.append(alert)
        }
        return out
    }

    /// Indices of every entry of an alert, in log order.
    func entryIndices(alert: AlertID) throws(TemoinError) -> [UInt64] {
        let s = try db.statement("SELECT idx FROM entries WHERE alert = ? ORDER BY idx").bind(.text(alert.rawValue))
        defer { s.reset() }
        var out = [UInt64]()
        while try s.step() { out.append(try s.count(0)) }
        return out
    }

    /// The next row of a `SELECT idx, leaf_hash, bytes` as a stored entry, or nil.
    func storedEntry(_ s: Statement) throws(TemoinError) -> StoredEntry? {
        guard try s.step() else { return nil }
        guard let leaf = Hash(s.blob(1)) else { throw corrupt("entry \(s.int(0)) has a malformed leaf hash") }
        return StoredEntry(index: try s.count(0), leafHash: leaf, bytes: s.blob(2))
    }

}

extension LedgerStoreReading {
    var hasher: MerkleHasher { SHA256.merkle }

    /// Proofs from the stored nodes: O(log n) reads each.
    var prover: MerkleProver<TemoinError> {
        MerkleProver(hasher: hasher) { id throws(TemoinError) in try self.node(id) }
    }

    func corrupt(_ what: String) -> TemoinError {
        TemoinError(.ledgerCorrupt, "the ledger database is damaged: \(what)", context: location)
    }
}
