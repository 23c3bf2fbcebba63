public import TemoinCore
public import TemoinCrypto
import Foundation

/// The read side of a ledger: checkpoints, entries, proofs, an alert's entries, enrolled keys.
/// It takes no lock on the ledger and works while the writer appends: every call checks out a
/// read-only connection of its own from a small pool (SQLite in WAL mode: readers never wait for
/// a commit and a commit never waits for them) and reads one consistent state. Safe to share
/// between threads and tasks; calls run concurrently, one connection each.
public final class LedgerReader: Sendable {
    public let directory: DataDirectory
    private let pool: ConnectionPool

    /// `connections`: how many read-only connections may be open at once (more callers wait).
    /// `engine`: where the rows live (default: the data folder's SQLite database).
    public init(directory: DataDirectory, engine: (any LedgerEngine)? = nil, connections: Int = 4) throws(TemoinError) {
        try directory.requireInitialized()
        self.directory = directory
        let engine = engine ?? directory.engine
        pool = ConnectionPool(maximum: max(1, connections)) { () throws(TemoinError) in try engine.openReading() }
        // Open one now, so a missing or unreadable database is reported here, not at first use.
        try pool.with { _ throws(TemoinError) in }
    }

    /// Runs `body` with a connection of its own inside one read transaction, so it sees one
    /// state of the ledger.
    func read<T>(_ body: (any LedgerStoreReading) throws(TemoinError) -> T) throws(TemoinError) -> T {
        try pool.with { store throws(TemoinError) in
            try store.beginRead()
            defer { store.endRead() }
            return try body(store)
        }
    }

    /// The alert's key, unwrapped with the master key its row names; nil if the alert has none (a folder not yet
    /// migrated: its blobs are plaintext). An erased alert's is gone: `alert.erased`.
    public func alertKey(_ alert: AlertID) throws(TemoinError) -> SymmetricKey? {
        let row = try read { store throws(TemoinError) in try store.alertKeyRow(alert) }
        guard let row else {
            if try isErased(alert) {
                throw TemoinError(.alertErased, "the data of alert \(alert) was erased: its key is destroyed")
            }
            return nil
        }
        return try directory.loadMasterKey().unwrap(row.wrapped, master: row.master, for: .alert(alert))
    }

    /// The references of the legal holds placed on the alert and not released, in order.
    public func activeHolds(_ alert: AlertID) throws(TemoinError) -> [String] {
        try read { store throws(TemoinError) in try LegalHold.active(alert: alert, store) }
    }

    /// `alert.closed` entries in log order, after index `after` (exclusive), at most `limit`
    /// (the retention sweep reads them from where it stopped).
    public func closings(after: UInt64?, limit: Int) throws(TemoinError) -> [StoredEntry] {
        try read { store throws(TemoinError) in try store.entries(kind: .alertClosed, after: after, limit: limit) }
    }

    /// Whether the alert has a `data.erased` entry.
    public func isErased(_ alert: AlertID) throws(TemoinError) -> Bool {
        try read { store throws(TemoinError) in try store.entryCount(alert: alert, kind: .dataErased) > 0 }
    }

    /// A blob's plaintext, opened with its alert's key.
    public func blob(alert: AlertID, hash: Hash) throws(TemoinError) -> [UInt8] {
        try directory.blobs.read(alert: alert, hash: hash, key: alertKey(alert))
    }

    /// The latest signed checkpoint, byte for byte as signed.
    public func latestCheckpoint() throws(TemoinError) -> SignedCheckpoint {
        try read { store throws(TemoinError) in try Self.latestCheckpoint(store) }
    }

    static func latestCheckpoint(_ store: any LedgerStoreReading) throws(TemoinError) -> SignedCheckpoint {
        guard let c = try store.latestCheckpoint() else { throw store.corrupt("there is no checkpoint") }
        return c
    }

    public func entry(at index: UInt64) throws(TemoinError) -> StoredEntry {
        try read { store throws(TemoinError) in try Self.entry(at: index, store) }
    }

    static func entry(at index: UInt64, _ store: any LedgerStoreReading) throws(TemoinError) -> StoredEntry {
        guard let e = try store.entry(at: index) else {
            throw TemoinError(.ledgerNoSuchEntry, "there is no entry \(index) in this ledger")
        }
        return e
    }

    /// A C2SP tlog-proof of entry `index` against the latest checkpoint (or the one of `size`).
    public func proof(index: UInt64, size: UInt64? = nil) throws(TemoinError) -> TlogProof {
        try read { store throws(TemoinError) in
            let checkpoint: SignedCheckpoint
            if let size {
                guard let c = try store.checkpoint(size: size) else {
                    throw TemoinError(.ledgerNoSuchCheckpoint, "no checkpoint was signed at size \(size)")
                }
                checkpoint = c
            } else {
                checkpoint = try Self.latestCheckpoint(store)
            }
            guard index < checkpoint.checkpoint.size else {
                throw TemoinError(
                    .ledgerNoSuchEntry,
                    "entry \(index) is not covered by the checkpoint of size \(checkpoint.checkpoint.size)")
            }
            let path = try store.prover.inclusionProof(index: index, size: checkpoint.checkpoint.size)
            return TlogProof(index: index, path: path, checkpoint: checkpoint)
        }
    }

    /// A consistency proof between two tree sizes (0 < first <= second <= latest).
    public func consistencyProof(first: UInt64, second: UInt64) throws(TemoinError) -> [Hash] {
        try read { store throws(TemoinError) in
            let size = try Self.latestCheckpoint(store).checkpoint.size
            guard first > 0, first <= second, second <= size else {
                throw TemoinError(.ledgerBadSizes, "sizes must satisfy 0 < first <= second <= \(size)")
            }
            return try store.prover.consistencyProof(first: first, second: second)
        }
    }

    /// Indices of an alert's entries in log order.
    public func entryIndices(alert: AlertID) throws(TemoinError) -> [UInt64] {
        try read { store throws(TemoinError) in try store.entryIndices(alert: alert) }
    }

    /// The log's origin, from the genesis entry.
    public func origin() throws(TemoinError) -> String {
        try read { store throws(TemoinError) in
            guard let origin = try Self.entry(at: 0, store).parsed()["origin"] else {
                throw store.corrupt("entry 0 is not a genesis entry")
            }
            return origin
        }
    }

    /// The parsed entries of an alert, in log order, with their indices.
    public func entries(alert: AlertID) throws(TemoinError) -> [(index: UInt64, entry: Entry)] {
        try alertEntries(alert).map { e throws(TemoinError) in (e.index, try e.parsed()) }
    }

    /// The stored entries of an alert, in log order.
    public func alertEntries(_ alert: AlertID) throws(TemoinError) -> [StoredEntry] {
        try read { store throws(TemoinError) in
            try store.entryIndices(alert: alert).map { i throws(TemoinError) in try Self.entry(at: i, store) }
        }
    }

    /// The raw Ed25519 key a device was enrolled with, or nil if it is not enrolled.
    public func deviceKey(device: DeviceID) throws(TemoinError) -> [UInt8]? {
        guard let e = try read({ store throws(TemoinError) in try store.enrollment(device: device) }) else {
            return nil
        }
        return try e.parsed()["device-key"].flatMap { Base64.decode($0) }
    }

    /// A device's enrolled key and whether it was revoked, in one read (the chunk path asks both).
    public func deviceCredential(device: DeviceID) throws(TemoinError) -> (key: [UInt8], revoked: Bool)? {
        let found = try read { store throws(TemoinError) in
            try store.enrollment(device: device).map { e throws(TemoinError) in
                (e, try store.entry(kind: .deviceRevoked, subject: device.rawValue) != nil)
            }
        }
        guard let (enrollment, revoked) = found,
            let key = try enrollment.parsed()["device-key"].flatMap({ Base64.decode($0) })
        else { return nil }
        return (key, revoked)
    }

    /// The index of a device's enrollment entry.
    public func enrollmentIndex(device: DeviceID) throws(TemoinError) -> UInt64? {
        try read { store throws(TemoinError) in try store.enrollment(device: device)?.index }
    }

    /// The `key.rotated` entry that introduced `key` (for the export key: a certificate's SHA-256).
    public func rotationIndex(key: String) throws(TemoinError) -> UInt64? {
        try read { store throws(TemoinError) in try store.rotation(key: key) }
    }

    /// Every change of the log key, in log order, each with its proof: the `key.rotated` entry and
    /// its tlog-proof against the first checkpoint covering it, signed by the old and the new key
    /// (Docs/ledger-format.md §3). `before`: only rotations at lower indices.
    public func logKeyTransitions(before: UInt64? = nil) throws(TemoinError) -> [LogKeyTransition] {
        try read { store throws(TemoinError) in
            var out = [LogKeyTransition]()
            for stored in try store.entries(kind: .keyRotated, after: nil, limit: Int.max) {
                if let before, stored.index >= before { break }
                guard try stored.parsed()["key-role"] == "log" else { continue }
                // The writer commits a rotation alone: the checkpoint right after it covers it first.
                guard let checkpoint = try store.checkpoint(size: stored.index + 1) else {
                    throw TemoinError(
                        .ledgerRotationNotCosigned,
                        "no checkpoint was signed right after the log-key rotation at entry "
                            + "\(stored.index)")
                }
                let path = try store.prover.inclusionProof(index: stored.index, size: stored.index + 1)
                out.append(
                    LogKeyTransition(
                        entry: stored.bytes, proof: TlogProof(index: stored.index, path: path, checkpoint: checkpoint)))
            }
            return out
        }
    }

    /// An alert's `alert.opened` entry, or nil if the alert is not in the ledger.
    public func opening(alert: AlertID) throws(TemoinError) -> StoredEntry? {
        try read { store throws(TemoinError) in try store.firstEntry(alert: alert) }
    }

    /// The `audio.chunk` entry of an alert's sequence number, if one was committed.
    public func chunkEntry(alert: AlertID, seq: UInt64) throws(TemoinError) -> StoredEntry? {
        try read { store throws(TemoinError) in try store.chunkEntry(alert: alert, seq: seq) }
    }

    /// The `chunk.conflict` entry that recorded these bytes for (alert, seq), if one was committed
    /// (by its statement key: one indexed read). `origin`: the log's.
    public func conflictEntry(
        alert: AlertID, seq: UInt64, originalSHA256: Hash, origin: String
    ) throws(TemoinError) -> StoredEntry? {
        guard
            let key = StatementKey.of(
                kind: .chunkConflict, origin: origin, alert: alert, fix: nil,
                field: { name in
                    ["seq": String(seq), "original-sha256": originalSHA256.hex][name]
                })
        else { return nil }
        return try read { store throws(TemoinError) in
            guard let index = try store.statementEntry(key: key) else { return nil }
            return try store.entry(at: index)
        }
    }

    /// Alerts opened and not closed.
    public func openAlerts() throws(TemoinError) -> [AlertID] {
        try read { store throws(TemoinError) in try store.openAlerts() }
    }

    /// The number of entries covered by the latest checkpoint.
    public func size() throws(TemoinError) -> UInt64 {
        try latestCheckpoint().checkpoint.size
    }

}

/// At most `maximum` connections, each used by one caller at a time; idle ones are kept for the
/// next caller. A caller that finds all of them busy waits for one (reads are short: no caller
/// awaits while it holds a connection).
final class ConnectionPool: @unchecked Sendable {
    private let condition = NSCondition()
    private let maximum: Int
    private let open: () throws(TemoinError) -> any LedgerStoreReading
    private var idle: [any LedgerStoreReading] = []
    private var count = 0

    init(maximum: Int, open: @escaping () throws(TemoinError) -> any LedgerStoreReading) {
        self.maximum = maximum
        self.open = open
    }

    func with<T>(_ body: (any LedgerStoreReading) throws(TemoinError) -> T) throws(TemoinError) -> T {
        let store = try checkOut()
        defer { checkIn(store) }
        return try body(store)
    }

    private func checkOut() throws(TemoinError) -> any LedgerStoreReading {
        condition.lock()
        while idle.isEmpty && count >= maximum { condition.wait() }
        if let store = idle.popLast() {
            condition.unlock()
            return store
        }
        count += 1
        condition.unlock()
        do {
            return try open()
        } catch {
            condition.lock()
            count -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func checkIn(_ store: any LedgerStoreReading) {
        // A connection still inside a transaction (its COMMIT failed) would refuse every later
        // BEGIN and pin an old snapshot: it is closed, and a fresh one opened when needed.
        let usable = store.isReusable
        condition.lock()
        if usable { idle.append(store) } else { count -= 1 }
        condition.signal()
        condition.unlock()
    }
}
