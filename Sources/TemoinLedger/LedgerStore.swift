public import TemoinCore
import TemoinCrypto
import TemoinAudio
import TemoinRecording

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

/// Reads the ledger through one connection: entries, stored nodes, checkpoints, proofs.
/// Every proof costs O(log n) indexed reads; nothing rebuilds the tree.
final class LedgerStore {
    let db: SQLiteConnection
    let hasher = SHA256.merkle

    init(db: SQLiteConnection) {
        self.db = db
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
        let s = try db.statement("SELECT hash FROM nodes WHERE level = ? AND idx = ?").bind(.int(Int64(id.level)), .int(Int64(id.index)))
        defer { s.reset() }
        guard try s.step() else { throw corrupt("\(id) is missing") }
        guard let h = Hash(s.blob(0)) else { throw corrupt("\(id) is malformed") }
        return h
    }

    var prover: MerkleProver<TemoinError> {
        MerkleProver(hasher: hasher) { id throws(TemoinError) in try self.node(id) }
    }

    func latestCheckpoint() throws(TemoinError) -> SignedCheckpoint? {
        let s = try db.statement("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        defer { s.reset() }
        guard try s.step() else { return nil }
        return try SignedCheckpoint(parsing: s.blob(0))
    }

    func checkpoint(size: UInt64) throws(TemoinError) -> SignedCheckpoint? {
        let s = try db.statement("SELECT note FROM checkpoints WHERE size = ?").bind(.int(Int64(size)))
        defer { s.reset() }
        guard try s.step() else { return nil }
        return try SignedCheckpoint(parsing: s.blob(0))
    }

    /// The latest entry of an alert, if any.
    func alertHead(_ alert: String) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? ORDER BY idx DESC LIMIT 1").bind(.text(alert))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// The `device.enrolled` entry of a device, if any.
    func enrollment(device: String) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE subject = ? AND kind = ? ORDER BY idx LIMIT 1")
            .bind(.text(device), .text(EntryKind.deviceEnrolled.rawValue))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// The first entry of an alert (its `alert.opened`).
    func firstEntry(alert: String) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? ORDER BY idx LIMIT 1").bind(.text(alert))
        defer { s.reset() }
        return try storedEntry(s)
    }

    /// Every entry of one kind of an alert, in log order.
    func entries(alert: String, kind: EntryKind) throws(TemoinError) -> [StoredEntry] {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? AND kind = ? ORDER BY idx")
            .bind(.text(alert), .text(kind.rawValue))
        defer { s.reset() }
        var out = [StoredEntry]()
        while let e = try storedEntry(s) { out.append(e) }
        return out
    }

    /// The `audio.chunk` entry of (alert, seq).
    func chunkEntry(alert: String, seq: UInt64) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement("SELECT idx, leaf_hash, bytes FROM entries WHERE alert = ? AND kind = ? AND subject = ? ORDER BY idx LIMIT 1")
            .bind(.text(alert), .text(EntryKind.audioChunk.rawValue), .text(String(seq)))
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

    func openAlerts() throws(TemoinError) -> [String] {
        let s = try db.statement("""
            SELECT alert FROM entries WHERE kind = 'alert.opened'
            EXCEPT SELECT alert FROM entries WHERE kind = 'alert.closed'
            """)
        defer { s.reset() }
        var out = [String]()
        while try s.step() { if let a = s.text(0) { out.append(a) } }
        return out
    }

    /// Indices of every entry of an alert, in log order.
    func entryIndices(alert: String) throws(TemoinError) -> [UInt64] {
        let s = try db.statement("SELECT idx FROM entries WHERE alert = ? ORDER BY idx").bind(.text(alert))
        defer { s.reset() }
        var out = [UInt64]()
        while try s.step() { out.append(try s.count(0)) }
        return out
    }

    /// The next row of a `SELECT idx, leaf_hash, bytes` as a stored entry, or nil.
    private func storedEntry(_ s: Statement) throws(TemoinError) -> StoredEntry? {
        guard try s.step() else { return nil }
        guard let leaf = Hash(s.blob(1)) else { throw corrupt("entry \(s.int(0)) has a malformed leaf hash") }
        return StoredEntry(index: try s.count(0), leafHash: leaf, bytes: s.blob(2))
    }

    func corrupt(_ what: String) -> TemoinError {
        TemoinError(.invalidEvidence, code: "ledger.corrupt", "the ledger database is damaged: \(what)", context: db.path)
    }
}
