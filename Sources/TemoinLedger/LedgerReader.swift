public import TemoinCore
import TemoinCrypto

/// Read access to a ledger for commands and the public API: checkpoints, entries, proofs.
/// It takes no lock and works while a writer appends; each call reads a consistent state.
public final class LedgerReader {
    public let directory: DataDirectory
    let store: LedgerStore

    public init(directory: DataDirectory) throws(TemoinError) {
        try directory.requireInitialized()
        self.directory = directory
        let db = try SQLiteConnection(path: directory.database, readOnly: true)
        try LedgerSchema.configure(db, readOnly: true)
        store = LedgerStore(db: db)
    }

    /// The latest signed checkpoint, byte for byte as signed.
    public func latestCheckpoint() throws(TemoinError) -> SignedCheckpoint {
        guard let c = try store.latestCheckpoint() else { throw store.corrupt("there is no checkpoint") }
        return c
    }

    public func entry(at index: UInt64) throws(TemoinError) -> StoredEntry {
        guard let e = try store.entry(at: index) else {
            throw TemoinError(.usage, code: "ledger.no-such-entry", "there is no entry \(index) in this ledger")
        }
        return e
    }

    /// A C2SP tlog-proof of entry `index` against the latest checkpoint (or the one of `size`).
    public func proof(index: UInt64, size: UInt64? = nil) throws(TemoinError) -> TlogProof {
        try readSnapshot { () throws(TemoinError) in
            let checkpoint: SignedCheckpoint
            if let size {
                guard let c = try store.checkpoint(size: size) else {
                    throw TemoinError(.usage, code: "ledger.no-such-checkpoint", "no checkpoint was signed at size \(size)")
                }
                checkpoint = c
            } else {
                checkpoint = try latestCheckpoint()
            }
            guard index < checkpoint.checkpoint.size else {
                throw TemoinError(.usage, code: "ledger.no-such-entry",
                                  "entry \(index) is not covered by the checkpoint of size \(checkpoint.checkpoint.size)")
            }
            let path = try store.prover.inclusionProof(index: index, size: checkpoint.checkpoint.size)
            return TlogProof(index: index, path: path, checkpoint: checkpoint)
        }
    }

    /// A consistency proof between two tree sizes (0 < first <= second <= latest).
    public func consistencyProof(first: UInt64, second: UInt64) throws(TemoinError) -> [Hash] {
        try readSnapshot { () throws(TemoinError) in
            let size = try latestCheckpoint().checkpoint.size
            guard first > 0, first <= second, second <= size else {
                throw TemoinError(.usage, code: "ledger.bad-sizes", "sizes must satisfy 0 < first <= second <= \(size)")
            }
            return try store.prover.consistencyProof(first: first, second: second)
        }
    }

    /// Indices of an alert's entries in log order.
    public func entryIndices(alert: String) throws(TemoinError) -> [UInt64] {
        try store.entryIndices(alert: alert)
    }

    /// The log's origin, from the genesis entry.
    public func origin() throws(TemoinError) -> String {
        guard let origin = try entry(at: 0).parsed()["origin"] else { throw store.corrupt("entry 0 is not a genesis entry") }
        return origin
    }

    /// The parsed entries of an alert, in log order, with their indices.
    public func entries(alert: String) throws(TemoinError) -> [(index: UInt64, entry: Entry)] {
        try readSnapshot { () throws(TemoinError) in
            var out = [(index: UInt64, entry: Entry)]()
            for i in try store.entryIndices(alert: alert) { out.append((i, try entry(at: i).parsed())) }
            return out
        }
    }

    /// Runs `body` inside one read transaction, so it sees one state of the ledger.
    func readSnapshot<T>(_ body: () throws(TemoinError) -> T) throws(TemoinError) -> T {
        try store.db.execute("BEGIN")
        defer { try? store.db.execute("COMMIT") }
        return try body()
    }
}
