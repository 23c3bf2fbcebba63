public import TemoinCore
public import TemoinCrypto

// The storage contract (Docs/storage.md §Storage contract). The ledger's logic — Merkle tree,
// chains, idempotency, checkpoints, signatures, the audit — lives above these protocols and is
// the same whatever the engine: entries' bytes, leaf hashes, proofs and checkpoints do not depend
// on it. An engine stores rows and gives them back exactly; `StorageConformanceTests` is the suite
// every engine must pass unchanged (SQLite today; PostgreSQL next).

/// An engine that holds one ledger: it opens the one writing session and any number of reading
/// sessions.
public protocol LedgerEngine: Sendable {
    /// Creates the ledger's schema if `create`, or brings it to the latest version; checks the
    /// engine's durability settings (SQLite: WAL, `synchronous=FULL`). At most one writing session
    /// exists at a time: the caller (`LedgerWriter`) holds the data folder's writer lock.
    func openWriting(create: Bool) throws(TemoinError) -> any LedgerStoreWriting

    /// A reading session. Sessions are independent: each may be used by one thread at a time,
    /// many may be open at once, and none ever waits for the writer's commit (nor the writer for
    /// it).
    func openReading() throws(TemoinError) -> any LedgerStoreReading
}

/// An entry row exactly as stored, with the columns indexed beside its bytes (the audit compares
/// them with the bytes: a row edited in place must not pass unseen).
public struct StoredEntryRow: Sendable {
    public let index: UInt64
    public let kind: String?
    public let alert: String?
    public let subject: String?
    /// As stored: not checked to be 32 bytes.
    public let leafHash: [UInt8]
    public let bytes: [UInt8]
}

/// A checkpoint row exactly as stored.
public struct StoredCheckpointRow: Sendable {
    public let size: UInt64
    public let root: [UInt8]
    public let note: [UInt8]
}

/// Reading one ledger.
///
/// Contract:
/// - **Snapshots.** Between `beginRead()` and `endRead()` every call sees one committed state
///   of the ledger, whatever the writer commits meanwhile; outside of them, each call sees the
///   latest committed state. A reading session never sees uncommitted rows of the writer.
/// - **Exact rows.** Bytes and hashes come back exactly as they were inserted.
/// - **Damage is reported, never trapped on**: a row that cannot be what was stored (a malformed
///   hash, a negative index) is a `ledger.corrupt` error (`.invalidEvidence`).
/// - **Threads.** A session is used by one thread at a time (`LedgerReader` pools them).
public protocol LedgerStoreReading: FanoutStoreReading, MasterKeyStoreReading {
    /// Where the rows live, for error messages (a file, a database name).
    var location: String { get }

    func beginRead() throws(TemoinError)
    /// Ends the read transaction; if it cannot, `isReusable` becomes false and the session is dropped.
    func endRead()
    /// False once the session is stuck (a read transaction that could not end).
    var isReusable: Bool { get }

    /// The number of entries stored (the largest index + 1).
    func entryCount() throws(TemoinError) -> UInt64
    func entry(at index: UInt64) throws(TemoinError) -> StoredEntry?
    /// The hash of a perfect subtree: level 0 is a leaf hash, above it a stored node. A missing or
    /// malformed one is `ledger.corrupt`.
    func node(_ id: NodeID) throws(TemoinError) -> Hash
    func latestCheckpoint() throws(TemoinError) -> SignedCheckpoint?
    func checkpoint(size: UInt64) throws(TemoinError) -> SignedCheckpoint?

    /// The latest entry of an alert.
    func alertHead(_ alert: AlertID) throws(TemoinError) -> StoredEntry?
    /// The first entry of an alert (its `alert.opened`).
    func firstEntry(alert: AlertID) throws(TemoinError) -> StoredEntry?
    /// The `device.enrolled` entry of a device.
    func enrollment(device: DeviceID) throws(TemoinError) -> StoredEntry?
    /// Every entry of one kind of an alert, in log order.
    func entries(alert: AlertID, kind: EntryKind) throws(TemoinError) -> [StoredEntry]
    /// The first `audio.chunk` entry of (alert, seq).
    func chunkEntry(alert: AlertID, seq: UInt64) throws(TemoinError) -> StoredEntry?
    /// The index of the `key.rotated` entry that introduced `key`.
    func rotation(key: String) throws(TemoinError) -> UInt64?
    /// Alerts with an `alert.opened` entry and no `alert.closed` entry, in any order (a row whose
    /// alert column is not an alert id is `ledger.corrupt`).
    func openAlerts() throws(TemoinError) -> [AlertID]
    /// Indices of every entry of an alert, in log order.
    func entryIndices(alert: AlertID) throws(TemoinError) -> [UInt64]

    // The audit's raw view: rows as stored, damaged ones included.
    /// Every entry row in index order.
    func forEachEntryRow(_ body: (StoredEntryRow) throws(TemoinError) -> Void) throws(TemoinError)
    /// A stored node's bytes as stored, or nil if there is none.
    func storedNode(_ id: NodeID) throws(TemoinError) -> [UInt8]?
    /// How many node rows are stored.
    func nodeCount() throws(TemoinError) -> UInt64
    /// Every checkpoint row in size order.
    func forEachCheckpointRow(_ body: (StoredCheckpointRow) throws(TemoinError) -> Void) throws(TemoinError)

    // The statement index (how the writer recognises a retried statement by its content).
    /// The entry the index names for a statement key, if any.
    func statementEntry(key: Hash) throws(TemoinError) -> UInt64?
    /// False only for a ledger written before the index existed and opened read-only; an index
    /// missing from a ledger whose schema has it is damage (`ledger.corrupt`).
    func hasStatementIndex() throws(TemoinError) -> Bool
    /// Every (key, entry) row of the index, in entry order, as stored.
    func forEachStatementRow(
        _ body: (_ row: (key: [UInt8], entry: Int64)) throws(TemoinError) -> Void) throws(TemoinError)

    // Side rows (erasable).
    /// The location row of a `location` entry, as stored.
    func locationRow(entry: UInt64) throws(TemoinError) -> (alert: String?, salt: [UInt8], fix: String?)?
    /// Entries named by location rows that are not `location` entries (or do not exist).
    func orphanLocationRows() throws(TemoinError) -> [Int64]

    // Alert keys (erasable): each alert's key wrapped by the master key.
    /// The wrapped key of an alert, or nil if it has none (erased, or not made yet; a database
    /// opened read-only before the table existed has none).
    func alertKeyRow(_ alert: AlertID) throws(TemoinError) -> WrappedAlertKey?
    /// Every alert that has a key row, as stored.
    func alertKeyAlerts() throws(TemoinError) -> [String]

    // Staff and devices (StaffStorage.swift).
    /// Every entry of one kind, in log order (from `after`, exclusive, at most `limit`).
    func entries(kind: EntryKind, after: UInt64?, limit: Int) throws(TemoinError) -> [StoredEntry]
    /// The first entry of `kind` whose indexed subject is `subject` (a device's revocation).
    func entry(kind: EntryKind, subject: String) throws(TemoinError) -> StoredEntry?
    /// The number of entries of one kind of an alert.
    func entryCount(alert: AlertID, kind: EntryKind) throws(TemoinError) -> UInt64
    /// The account whose token has this hash, revoked or not.
    func account(tokenHash: Hash) throws(TemoinError) -> StaffAccount?
    /// Every account, in creation order.
    func accounts() throws(TemoinError) -> [StaffAccount]
    /// A device's label for staff, if any.
    func deviceLabel(device: DeviceID) throws(TemoinError) -> String?
}

/// An alert's AES-256 key as stored: wrapped by the master key named `master` (`MasterKey.id`).
public struct WrappedAlertKey: Sendable, Equatable {
    public let wrapped: [UInt8]
    public let master: String

    public init(wrapped: [UInt8], master: String) {
        self.wrapped = wrapped
        self.master = master
    }
}

/// Side rows stored in the same transaction as an entry, outside the ledger (erasable).
public enum SideRow: Sendable {
    /// A location fix; the ledger holds only its salted commitment.
    case location(salt: [UInt8], fix: String)
    /// A device's label for staff.
    case deviceLabel(device: DeviceID, label: String)
    /// A staff account, created with its `account.created` entry.
    case account(id: String, name: String, role: StaffRole, tokenHash: Hash)
    /// Marks an account revoked, with its `account.revoked` entry.
    case accountRevocation(id: String)
    /// A device's new contact list, with its `contacts.changed` entry.
    case contacts(ContactList)
    /// On a `device.revoked` of a replaced device: its contacts go to the device replacing it
    /// (without it, a revocation destroys them).
    case contactsTransfer(to: DeviceID)
    /// An attempt's outcome, with its `sms.sent` or `sms.failed` entry.
    case outboxOutcome(contact: ContactID, state: OutboxState, nextAttempt: Int64, error: String?)
    /// The first view of a link, with its `link.viewed` entry.
    case linkView(tokenHash: Hash, now: Int64)
}

/// The one writing session of a ledger.
///
/// Contract:
/// - **Transactions.** `beginWrite()` starts the only write transaction (exclusive: no other
///   writer, readers go on). Reads inside it see its own uncommitted rows.
/// - **Durability.** When `commit()` returns, every row of the transaction is durable: a crash or
///   power loss afterwards loses none of it. A crash before it returns leaves either all of the
///   transaction or none of it — never a part.
/// - **Groups.** `savepoint()`/`rollbackToSavepoint()`/`releaseSavepoint()` nest one level: a
///   group rolled back leaves no row, and the rest of the transaction goes on.
/// - **Uniqueness.** An entry index, a node (level, index) and a checkpoint size are each stored
///   once: inserting one again fails (`sqlite.constraint` for SQLite) and the transaction stays
///   usable only to be rolled back.
/// - **Append-only.** Nothing here updates or deletes an entry, node or checkpoint; the engine
///   refuses it (SQLite: triggers) so that even its own SQL console cannot rewrite history unseen.
/// - **Threads.** One thread at a time (the writer's own).
public protocol LedgerStoreWriting: LedgerStoreReading, FanoutStoreWriting, MasterKeyStoreWriting {
    var inTransaction: Bool { get }
    func beginWrite() throws(TemoinError)
    func commit() throws(TemoinError)
    func rollback() throws(TemoinError)
    func savepoint() throws(TemoinError)
    func releaseSavepoint() throws(TemoinError)
    func rollbackToSavepoint() throws(TemoinError)

    /// `kind`, `alert` and `subject` are the indexed columns of the entry (`LedgerWriter.subject`).
    func insertEntry(
        index: UInt64, kind: String, alert: AlertID?, subject: String?, leafHash: Hash,
        bytes: [UInt8]) throws(TemoinError)
    func insertNode(_ id: NodeID, hash: Hash) throws(TemoinError)
    func insertCheckpoint(size: UInt64, root: Hash, note: [UInt8], time: Timestamp) throws(TemoinError)
    /// `entry`: the index of the entry the side row belongs to.
    func insertSideRow(_ row: SideRow, entry: UInt64, alert: AlertID?) throws(TemoinError)
    /// Records that `entry` holds the statement of `key`; a key already recorded keeps its first
    /// entry (the call is then a no-op).
    func insertStatementKey(_ key: Hash, entry: UInt64) throws(TemoinError)

    /// Stores an alert's wrapped key; an alert has one key (a second is `sqlite.constraint`).
    func insertAlertKey(_ alert: AlertID, _ key: WrappedAlertKey) throws(TemoinError)
    /// Deletes what is erasable of an alert, in the transaction: its key row, its location rows and
    /// their rows in the statement index. Deleted bytes are overwritten (SQLite: `secure_delete`).
    func deleteErasableRows(alert: AlertID) throws(TemoinError)
    /// After an erasure is committed: drops the engine's older copies of deleted rows as far as it
    /// can (SQLite: a `TRUNCATE` checkpoint of the write-ahead log; readers may hold it back, and
    /// the next checkpoints overwrite it).
    func dropDeletedCopies() throws(TemoinError)
}

extension BlobStoring {
    /// One `put` after the other: what an engine without a cheaper way gives.
    public func put(alert: AlertID, blobs: [[UInt8]], key: SymmetricKey) throws(TemoinError) -> [Hash] {
        var hashes = [Hash]()
        for bytes in blobs { hashes.append(try put(alert: alert, bytes: bytes, key: key)) }
        return hashes
    }
}

/// Write-once blobs addressed by (alert, SHA-256).
///
/// Contract:
/// - **Durability.** `put` returns only once the bytes and their name are durable: an entry
///   committed after `put` never names a blob a crash can lose.
/// - **Write once.** Putting the same bytes again is a no-op that checks what is stored; a stored
///   blob whose bytes no longer match its hash is `blob.corrupt`.
/// - **Per alert.** Erasing one alert's blobs never touches another alert's.
/// - **Threads.** Any number of threads at once; `put` blocks on the disk (callers keep it off the
///   cooperative pool: `BlockingIO`).
/// - **Encrypted.** Bytes are stored sealed with the alert's key (AES-256-GCM, bound to the alert
///   and the name); reads authenticate them. A blob stored before encryption (plaintext, whose
///   SHA-256 is its name) is still read until `temoin migrate` seals it.
/// - **Bounded memory.** `digest` streams, whatever the blob's size.
public protocol BlobStoring: Sendable {
    @discardableResult
    func put(alert: AlertID, bytes: [UInt8], key: SymmetricKey) throws(TemoinError) -> Hash
    /// `put` of several blobs of one alert, durable together when it returns (an engine may share
    /// the cost of durability between them); their hashes, in order. A failure may leave some of
    /// them stored.
    func put(alert: AlertID, blobs: [[UInt8]], key: SymmetricKey) throws(TemoinError) -> [Hash]
    /// `key`: the alert's key, nil when it has none (only plaintext blobs can then be read).
    func read(alert: AlertID, hash: Hash, key: SymmetricKey?) throws(TemoinError) -> [UInt8]
    /// The SHA-256 of what is stored under `hash` (streamed, decrypted).
    func digest(alert: AlertID, hash: Hash, key: SymmetricKey?) throws(TemoinError) -> Hash
    func exists(alert: AlertID, hash: Hash) -> Bool
    /// Deletes every blob of an alert (erasure); durable when it returns; a second call is a no-op.
    func removeAll(alert: AlertID, step: CrashPoints?) throws(TemoinError)
}
