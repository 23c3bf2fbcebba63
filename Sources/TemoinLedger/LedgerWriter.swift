#if canImport(Glibc)
import Glibc
#endif
public import TemoinCore
import Dispatch
import Foundation
public import TemoinCrypto

/// An entry to append, before the writer gives it its place: for kinds that belong to an
/// alert, the writer fills `prev` (the alert's chain) and every entry gets `time`.
public struct EntryDraft: Sendable {
    public let kind: EntryKind
    public let fields: [(String, String)]
    /// Rows outside the ledger saved in the same transaction (location fixes, device labels).
    public var sideRow: LedgerWriter.SideRow?
    /// How a repeated request is recognised, so that it yields the entry already stored.
    public var idempotency: Idempotency?

    /// The alert the draft belongs to (its `alert` field), for kinds that belong to one.
    public let alert: AlertID?
    /// The device it names (its `device` field), for enrollments and openings.
    public let device: DeviceID?

    /// `fields` holds every field of the kind except `prev` and `time`. The `alert` and `device`
    /// fields are read once here; a malformed one is refused when the entry is built.
    public init(kind: EntryKind, _ fields: [(String, String)]) {
        self.kind = kind
        self.fields = fields
        alert = kind.belongsToAlert ? fields.first { $0.0 == "alert" }.flatMap { AlertID($0.1) } : nil
        device = fields.first { $0.0 == "device" }.flatMap { DeviceID($0.1) }
    }

    /// A draft of an alert's entry: `alert` (and `device`, if given) fill their fields; `fields`
    /// holds the others except `prev` and `time`.
    public init(kind: EntryKind, alert: AlertID, device: DeviceID? = nil, _ fields: [(String, String)]) {
        self.kind = kind
        self.fields = [("alert", alert.rawValue)] + (device.map { [("device", $0.rawValue)] } ?? []) + fields
        self.alert = kind.belongsToAlert ? alert : nil
        self.device = device
    }

    /// An enrollment's draft.
    public init(enrolling device: DeviceID, publicKey: [UInt8]) {
        kind = .deviceEnrolled
        fields = [("device", device.rawValue), ("device-key", Base64.encode(publicKey))]
        alert = nil
        self.device = device
    }
}

/// How the writer recognises a statement it already stored. The check runs on the writer's
/// thread inside the transaction, so concurrent identical requests yield exactly one entry and
/// every caller gets that entry (and the same receipt).
public enum Idempotency: Sendable, Equatable {
    /// An entry of the same kind and alert whose `fields` are equal to the draft's is the same
    /// statement. With `exclusive`, any other entry of that kind for the alert makes the draft a
    /// conflict (`alert.conflict`): an alert is opened once.
    case sameFields([String], exclusive: Bool)
    /// At most one entry of this kind per alert: a later draft yields the first (`alert.closed`).
    case oncePerAlert
    /// An entry holding the same statement (`StatementKey`: what the device signed, not the
    /// signature; for a `chunk.conflict`, the same bytes for the same sequence number) is the
    /// same statement, found by one indexed read.
    case sameStatement
    /// Appended only while the alert has no entry of `kind`; otherwise the draft is not appended
    /// and is answered with that entry (the `chunk.missing` of a close, grouped with the close:
    /// a retried close after a committed one appends nothing).
    case notAfter(EntryKind)
}

/// A durably committed entry and a checkpoint that covers it: everything a caller needs to
/// answer, from one call onto the writer (the receipt is signed on the caller's thread).
public struct Appended: Sendable {
    public let index: UInt64
    public let leafHash: Hash
    public let entry: Entry
    public let checkpoint: SignedCheckpoint
    /// False when the draft was a repeat (`Idempotency`) and this is the entry stored before.
    public var isNew = true
    let origin: String
    let signer: Ed25519NoteSigner

    public var stored: StoredEntry { StoredEntry(index: index, leafHash: leafHash, bytes: entry.bytes) }

    /// The entry's signed receipt (temoin/receipt/v1), deterministic: a repeat gets the same bytes.
    public func receipt() throws(TemoinError) -> SignedReceipt {
        try Self.receipt(origin: origin, stored: stored, signer: signer)
    }

    static func receipt(
        origin: String, stored: StoredEntry, signer: Ed25519NoteSigner
    ) throws(TemoinError) -> SignedReceipt {
        let time = try stored.parsed().time
        return try SignedReceipt(
            signing: Receipt(origin: origin, index: stored.index, leafHash: stored.leafHash, time: time), with: signer)
    }
}

/// Where the writer gets the time; tests may fix it.
public typealias WallClock = @Sendable () -> Timestamp

public let systemClock: WallClock = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
}

/// The only appender of a ledger. Concurrent `append` calls are batched into one SQLite
/// transaction (group commit); each batch ends with a checkpoint that is checked against the
/// stored nodes and the previous checkpoint, signed, committed with the entries, and then
/// copied outside the database. `append` returns only after that commit is durable.
///
/// One writer per data folder across processes, enforced by a file lock.
public actor LedgerWriter {
    nonisolated public let directory: DataDirectory
    nonisolated public let origin: String
    /// The log's current verifier key: the genesis key, or the key of the latest rotation.
    nonisolated public var verifierKey: VerifierKey { signerBox.value.verifierKey }

    private let lock: FileLock
    /// The writer's jobs run on a thread of their own: commits block on fsync.
    private nonisolated let executor = ThreadExecutor(name: "temoin-ledger-writer")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let store: any LedgerStoreWriting
    /// The log key, replaced by a rotation (read without the actor: receipts are signed on the
    /// caller's thread).
    private nonisolated let signerBox: SignerBox
    private nonisolated var signer: Ed25519NoteSigner { signerBox.value }
    /// The log's keys (genesis, rotations), for the checks of a rotation.
    private var keys: LogKeyHistory
    /// Set only while `rotateLogKey` commits: the one key a `key.rotated` of the log key may name.
    private var rotatingTo: Ed25519NoteSigner?
    /// Wraps each alert's key (made with its `alert.opened` entry); nil in a folder made before
    /// encryption at rest and not yet migrated (`temoin migrate` makes it). Its wrapping key is the
    /// one the ledger names (`masterKeyRing(directory:store:)`); changed by a master-key rotation.
    private var masterKey: MasterKeyRing?
    /// Set only while `rotateMasterKey` commits: the one id a `key.rotated` of the master key may name.
    private var rotatingMasterTo: String?
    /// Keys re-wrapped by the transaction of the current master-key rotation.
    private var rewrapped = (alerts: 0, devices: 0)
    private let clock: WallClock
    private let hasher = SHA256.merkle
    private var range: CompactRange
    private var latest: SignedCheckpoint?
    private var lastTime = Timestamp(millisecondsSinceEpoch: 0)
    private var heads: [AlertID: Hash] = [:]
    /// Revoked devices (loaded on first use) and the device of each open alert seen since, so that
    /// no statement of a revoked device is appended after its `device.revoked` entry.
    private var revokedDevices: Set<DeviceID>?
    private var alertDevices: [AlertID: DeviceID] = [:]
    /// Groups waiting for the next transaction; each group is all or nothing.
    private var pending: [([EntryDraft], CheckedContinuation<[Appended], any Error>)] = []
    private var draining = false
    /// Called after a commit that opened an alert (the fan-out's sender wakes: its texts are due).
    private var openingObserver: (@Sendable () -> Void)?

    /// Sets what is called after each commit that holds a new `alert.opened` (never inside the
    /// transaction; the outbox rows are durable when it runs).
    public func observeOpenings(_ observer: @escaping @Sendable () -> Void) {
        openingObserver = observer
    }
    /// Largest batch per transaction.
    public var maximumBatch = 1024

    /// Opens an existing ledger for appending, after the start-up checks of Docs/storage.md.
    /// `engine`: where the rows live (default: the data folder's SQLite database).
    public init(
        directory: DataDirectory, engine: (any LedgerEngine)? = nil, clock: @escaping WallClock = systemClock
    ) throws(TemoinError) {
        try directory.requireInitialized()
        lock = try FileLock(path: directory.writerLockFile, purpose: "writer")
        store = try (engine ?? directory.engine).openWriting(create: false)
        self.directory = directory
        self.clock = clock
        let state = try LedgerWriter.startUp(directory: directory, store: store)
        masterKey = try LedgerWriter.masterKeyRing(directory: directory, store: store)
        origin = state.origin
        signerBox = SignerBox(state.signer)
        keys = state.keys
        range = state.range
        latest = state.latest
        lastTime = state.lastTime
    }

    /// Creates a new ledger in an empty database: genesis entry and first checkpoint.
    init(
        creating directory: DataDirectory, engine: (any LedgerEngine)? = nil, origin: String, logKey: Ed25519PrivateKey,
        exportCertificate: Certificate, clock: @escaping WallClock
    ) async throws(TemoinError) {
        lock = try FileLock(path: directory.writerLockFile, purpose: "init")
        store = try (engine ?? directory.engine).openWriting(create: true)
        guard try store.entryCount() == 0 else {
            throw TemoinError(.ledgerNotEmpty, "the ledger already has entries", context: directory.database)
        }
        self.directory = directory
        self.origin = origin
        self.clock = clock
        masterKey = directory.hasMasterKey ? try directory.loadMasterKey() : nil
        let signer = try Ed25519NoteSigner(name: origin, privateKey: logKey)
        signerBox = SignerBox(signer)
        keys = LogKeyHistory(genesis: signer.verifierKey)
        range = CompactRange()
        latest = nil
        let genesis = EntryDraft(
            kind: .genesis,
            [
                ("origin", origin), ("log-key", signer.verifierKey.description),
                ("export-cert-sha256", exportCertificate.sha256.hex),
            ])
        let results = try commit([[genesis]])
        if case .failure(let e) = results[0] { throw e }
    }

    struct StartState {
        let origin: String
        let signer: Ed25519NoteSigner
        let keys: LogKeyHistory
        let range: CompactRange
        let latest: SignedCheckpoint
        let lastTime: Timestamp
    }

    /// O(log n) start-up: genesis, the latest checkpoint, the right border of the tree, and the
    /// checkpoint kept outside the database.
    static func startUp(directory: DataDirectory, store: any LedgerStoreReading) throws(TemoinError) -> StartState {
        guard let genesisRow = try store.entry(at: 0) else { throw store.corrupt("there is no genesis entry") }
        let genesis = try genesisRow.parsed()
        guard genesis.kind == .genesis, let origin = genesis["origin"], let keyText = genesis["log-key"] else {
            throw store.corrupt("entry 0 is not a genesis entry")
        }
        let genesisKey = try VerifierKey(parsing: keyText)
        let keys = try logKeys(store: store, genesis: genesisKey, origin: origin)
        let signer = try currentSigner(directory: directory, origin: origin, keys: keys)
        guard let latest = try store.latestCheckpoint() else { throw store.corrupt("there is no checkpoint") }
        try latest.verify(key: keys.current, using: Ed25519())
        if let last = keys.rotations.last {
            // The latest rotation must be proven: the first checkpoint covering it signed by both keys.
            try checkTransition(store: store, keys: keys, rotation: last.index)
        }
        let size = latest.checkpoint.size
        let count = try store.entryCount()
        guard count == size else {
            throw TemoinError(
                .ledgerSizeMismatch,
                "the database holds \(count) entries but its last checkpoint covers \(size): entries were removed "
                    + "or added outside the writer",
                context: directory.database)
        }
        let range = try CompactRange(size: size) { id throws(TemoinError) in try store.node(id) }
        guard range.root(hasher: store.hasher) == latest.checkpoint.root else {
            throw TemoinError(
                .ledgerRootMismatch,
                "the stored tree does not match the last signed checkpoint", context: directory.database)
        }
        try checkOutsideCheckpoint(directory: directory, store: store, keys: keys, latest: latest)
        let lastEntry = try store.entry(at: size - 1)!.parsed()
        return StartState(
            origin: origin, signer: signer, keys: keys, range: range, latest: latest, lastTime: lastEntry.time)
    }

    /// The log's keys: the genesis key and every `key.rotated` of the log key, in log order.
    static func logKeys(
        store: any LedgerStoreReading, genesis: VerifierKey, origin: String
    ) throws(TemoinError) -> LogKeyHistory {
        var keys = LogKeyHistory(genesis: genesis)
        for stored in try store.entries(kind: .keyRotated, after: nil, limit: Int.max) {
            let entry = try stored.parsed()
            guard entry["key-role"] == "log" else { continue }
            do throws(TemoinError) {
                try keys.append(
                    index: stored.index, key: LogKeyTransition.newKey(of: entry, origin: origin, hash: SHA256()))
            } catch {
                throw store.corrupt(
                    "entry \(stored.index) (key.rotated) is not a valid log-key rotation: \(error.reason)")
            }
        }
        return keys
    }

    /// The first checkpoint covering the rotation at `rotation` must carry the old and new keys'
    /// signatures (the transition proof verifiers follow).
    static func checkTransition(
        store: any LedgerStoreReading, keys: LogKeyHistory, rotation: UInt64
    ) throws(TemoinError) {
        guard let i = keys.rotations.firstIndex(where: { $0.index == rotation }) else { return }
        let old = i == 0 ? keys.genesis : keys.rotations[i - 1].key
        let new = keys.rotations[i].key
        guard let checkpoint = try store.checkpoint(size: rotation + 1) else {
            throw TemoinError(
                .ledgerRotationNotCosigned,
                "no checkpoint was signed right after the log-key rotation at entry \(rotation)")
        }
        do throws(TemoinError) {
            try checkpoint.verify(key: old, using: Ed25519())
            try checkpoint.verify(key: new, using: Ed25519())
        } catch {
            throw TemoinError(
                .ledgerRotationNotCosigned,
                "the checkpoint after the log-key rotation at entry \(rotation) is not signed by both the old and "
                    + "the new key: \(error.reason)")
        }
    }

    /// The signer of `keys/log.key`, which must hold the log's current key. A rotation interrupted
    /// after its commit (the new key still in `keys/log.key.next`) is completed here; a new key the
    /// log never named is removed. Any other key is refused.
    static func currentSigner(
        directory: DataDirectory, origin: String, keys: LogKeyHistory
    ) throws(TemoinError) -> Ed25519NoteSigner {
        let signer = try Ed25519NoteSigner(name: origin, privateKey: directory.loadLogKey())
        let next = FileSystem.exists(directory.nextLogKeyFile)
        if signer.verifierKey == keys.current {
            if next { try removeDurably(directory.nextLogKeyFile) }
            return signer
        }
        if next {
            let pending = try Ed25519NoteSigner(
                name: origin, privateKey: directory.loadLogKey(directory.nextLogKeyFile))
            if pending.verifierKey == keys.current {
                try installNextLogKey(directory: directory, key: pending.verifierKey)
                return pending
            }
        }
        let old = keys.keys.firstIndex(of: signer.verifierKey)
        throw TemoinError(
            .ledgerWrongLogKey,
            old != nil
                ? "the log key file holds an old key of this log, replaced at entry "
                    + "\(keys.rotations[old!].index): the current key is \(keys.current.keyIDHex)"
                : "the log key file holds neither the key named by the genesis entry nor the key of the latest "
                    + "log-key rotation (\(keys.current.keyIDHex))",
            context: directory.logKeyFile)
    }

    /// Moves `keys/log.key.next` over `keys/log.key` (the old private key is gone with it) and
    /// rewrites the public `log-key.txt`.
    static func installNextLogKey(directory: DataDirectory, key: VerifierKey) throws(TemoinError) {
        guard rename(directory.nextLogKeyFile, directory.logKeyFile) == 0 else {
            throw FileSystem.fail("install the new log key", directory.logKeyFile)
        }
        try FileSystem.syncDirectory(directory.keysFolder)
        try FileSystem.writeDurably(
            Array((key.description + "\n").utf8), to: directory.verifierKeyFile, mode: 0o644, replace: true)
    }

    static func removeDurably(_ path: String) throws(TemoinError) {
        guard unlink(path) == 0 else { throw FileSystem.fail("remove", path) }
        try FileSystem.syncDirectory(FileSystem.parent(path))
    }

    /// The folder's master keys (nil without `keys/master.key`), checked against the ledger: the
    /// key its latest master-key rotation names — or, before any, the key its wrapped keys name —
    /// must be among them, and wraps new keys (the next key of a rotation cut after its commit).
    /// Anything else is `keys.wrong-master-key`: new keys must never be wrapped by a key the
    /// ledger's rows do not name. Two indexed reads, whatever the log's length.
    static func masterKeyRing(
        directory: DataDirectory, store: any LedgerStoreReading
    ) throws(TemoinError)
        -> MasterKeyRing?
    {
        guard directory.hasMasterKey else { return nil }
        let committed = try MasterKeyRotation.latest(store)?.id
        var named = committed
        if named == nil { named = try store.anyWrappedKeyMaster() }
        let ring = try directory.loadMasterKey(committed: named)
        if let named, ring.key(id: named) == nil {
            throw TemoinError(
                .keysWrongMasterKey,
                "keys/master.key is master key \(ring.current.id), but the ledger's keys are wrapped by master key "
                    + "\(named)"
                    + (committed != nil ? " (its latest master-key rotation)" : "")
                    + ": put that key back (a restore needs the key that was in force when its backup was taken)",
                context: directory.masterKeyFile)
        }
        return ring
    }

    /// Refuses a database that is behind, or has forked from, the checkpoint kept outside it.
    static func checkOutsideCheckpoint(
        directory: DataDirectory, store: any LedgerStoreReading, keys: LogKeyHistory,
        latest: SignedCheckpoint
    ) throws(TemoinError) {
        guard FileSystem.exists(directory.checkpointFile) else {
            throw TemoinError(
                .ledgerCheckpointFileMissing,
                "the copy of the last checkpoint kept outside the database is missing",
                context: directory.checkpointFile)
        }
        let outside = try SignedCheckpoint(parsing: FileSystem.read(directory.checkpointFile, limit: 1 << 16))
        // A copy that lags a rotation is signed by the key in force at its size.
        try outside.verify(key: keys.key(forSize: outside.checkpoint.size), using: Ed25519())
        let size = outside.checkpoint.size
        guard size <= latest.checkpoint.size else {
            throw TemoinError(
                .ledgerDatabaseBehind,
                "the database is behind the last signed checkpoint (it covers \(latest.checkpoint.size) entries, "
                    + "the checkpoint outside it \(size)): it may have been restored from an old backup; refusing "
                    + "to append",
                context: directory.database)
        }
        guard try store.prover.root(size: size) == outside.checkpoint.root else {
            throw TemoinError(
                .ledgerDatabaseForked,
                "the database does not contain the tree of the last signed checkpoint kept outside it: it was "
                    + "rewritten",
                context: directory.database)
        }
    }

    /// The indexed `subject` column: the device of an enrollment, the sequence number of a chunk.
    static func subject(of entry: Entry) -> String? {
        switch entry.kind {
        case .deviceEnrolled, .deviceRevoked: return entry["device"]
        case .accountCreated, .accountRevoked: return entry["account"]
        case .audioChunk: return entry["seq"]
        case .keyRotated: return entry["key"]
        case .contactsChanged: return entry["device"]
        case .smsSent, .smsFailed, .linkViewed, .linkRevoked: return entry["contact"]
        default: return nil
        }
    }

    /// Side rows written in the same transaction as an entry (not part of the ledger).
    public typealias SideRow = TemoinLedger.SideRow

    /// A receipt for a committed entry, signed by the log key (deterministic: the same entry
    /// always gets the same receipt bytes). Signed on the caller's thread, not the writer's.
    public nonisolated func receipt(for stored: StoredEntry) throws(TemoinError) -> SignedReceipt {
        try Appended.receipt(origin: origin, stored: stored, signer: signer)
    }

    deinit { executor.stop() }

    /// The latest signed checkpoint.
    public var checkpoint: SignedCheckpoint? { latest }
    public var size: UInt64 { range.size }

    /// Appends one entry; returns once it is durably committed with a signed checkpoint.
    public func append(_ draft: EntryDraft) async throws -> Appended {
        try await append(group: [draft])[0]
    }

    /// Appends entries that stand or fall together (an alert opened with its first location):
    /// all are committed in one transaction, or none is and the first failure is thrown.
    public func append(group drafts: [EntryDraft]) async throws -> [Appended] {
        precondition(!drafts.isEmpty, "an empty group")
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((drafts, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    /// Appends many entries in transactions of up to `maximumBatch` (imports, benchmarks).
    /// Each result is the entry's own outcome; an error thrown means its whole transaction failed.
    public func append(contentsOf drafts: [EntryDraft]) throws(TemoinError) -> [Result<Appended, TemoinError>] {
        var out = [Result<Appended, TemoinError>]()
        var start = 0
        while start < drafts.count {
            let end = min(drafts.count, start + maximumBatch)
            out += try commit(drafts[start..<end].map { [$0] }).map { $0.map { $0[0] } }
            start = end
        }
        return out
    }

    /// Tests only: caps the database's size in pages (`PRAGMA max_page_count`), so the next
    /// growth fails as a full disk would (SQLITE_FULL); nil lifts the cap.
    func limitDatabasePages(_ pages: Int?) throws(TemoinError) {
        guard let db = (store as? LedgerStore)?.db else { return }
        if let pages {
            let current = try db.pragma("page_count").flatMap { Int($0) } ?? 0
            try db.execute("PRAGMA max_page_count = \(max(pages, current))")
        } else {
            try db.execute("PRAGMA max_page_count = 4294967294")
        }
    }

    /// Tests only: holds the writer's thread until `release` is signalled, as a commit stuck on a
    /// slow fsync would.
    func holdThread(until release: DispatchSemaphore) {
        release.wait()
    }

    /// Rotates the log key (Docs/ledger-format.md §3): writes the new key to `keys/log.key.next`,
    /// appends `key.rotated` (`key-role log`, `key` the new verifier key) alone in one transaction
    /// whose checkpoint is signed by the old key and the new one — the transition proof — then
    /// signs every later checkpoint and receipt with the new key, installs it as `keys/log.key`
    /// (the old private key is removed) and rewrites `log-key.txt`. A crash after the commit is
    /// completed at the next start-up. Returns the rotation entry (its receipt is the new key's).
    public func rotateLogKey(to newKey: Ed25519PrivateKey) async throws -> Appended {
        try await rotate(to: newKey, cosign: true)
    }

    /// Tests only: what someone holding the old key and the database could forge — a `key.rotated`
    /// of the log key whose checkpoint the new key does not cosign, after which the new key signs.
    func forgeLogRotation(to newKey: Ed25519PrivateKey) async throws -> Appended {
        try await rotate(to: newKey, cosign: false)
    }

    private func rotate(to newKey: Ed25519PrivateKey, cosign: Bool) async throws -> Appended {
        let new = try Ed25519NoteSigner(name: origin, privateKey: newKey)
        var checked = keys
        try checked.append(index: range.size, key: new.verifierKey)
        try FileSystem.writeDurably(newKey.pem, to: directory.nextLogKeyFile, replace: true)
        rotatingTo = new
        defer { rotatingTo = nil }
        let draft = EntryDraft(kind: .keyRotated, [("key-role", "log"), ("key", new.verifierKey.description)])
        let appended = try commit([[draft]], rotation: (new, cosign))[0].get()[0]
        try LedgerWriter.installNextLogKey(directory: directory, key: new.verifierKey)
        return appended
    }

    /// The folder's master keys as this writer uses them (nil before `temoin migrate`).
    public var masterKeyRing: MasterKeyRing? { masterKey }

    /// What the transaction of a master-key rotation did.
    public struct MasterKeyRewrap: Sendable {
        public let entry: Appended
        public let alertKeys: Int
        public let deviceKeys: Int
    }

    /// The transaction of a master-key rotation (`MasterKeyRotation`, Docs/storage.md): every
    /// alert's and device's wrapped key unwrapped with the master key its row names and wrapped
    /// under `next` (the row's `master` becomes `next.id`), and `key.rotated` (`key-role master`,
    /// `key` = `next.id`) appended, with its checkpoint — all or nothing. From the commit on,
    /// `next` wraps new keys. `step`: tests only (a stop inside the transaction rolls it back).
    public func rotateMasterKey(
        to next: any MasterKey, step: CrashPoints? = nil
    ) throws(TemoinError)
        -> MasterKeyRewrap
    {
        guard let ring = masterKey else {
            throw TemoinError(
                .keysNoMasterKey, "this data folder has no master key: run 'temoin migrate --data \(directory.path)'")
        }
        guard next.id != ring.wrapper.id, next.id != ring.current.id else {
            throw TemoinError(.entryBadValue, category: .usage, "the new master key is one the folder holds already")
        }
        rotatingMasterTo = next.id
        defer { rotatingMasterTo = nil }
        let draft = EntryDraft(kind: .keyRotated, [("key-role", "master"), ("key", next.id)])
        let appended = try commit([[draft]], rewrap: (ring, next, step))[0].get()[0]
        masterKey = MasterKeyRing(current: ring.current, next: next, committed: next.id)
        // The rows' older copies in the write-ahead log (best effort, as for an erasure).
        try? store.dropDeletedCopies()
        return MasterKeyRewrap(entry: appended, alertKeys: rewrapped.alerts, deviceKeys: rewrapped.devices)
    }

    /// Once the new master key is installed as `keys/master.key`: the ring holds it alone, and the
    /// old key's bytes are overwritten in memory.
    public func forgetOldMasterKey() {
        guard let ring = masterKey, ring.wrapper.id != ring.current.id else { return }
        masterKey = MasterKeyRing(current: ring.wrapper)
        ring.current.destroy()
    }

    /// Inside the rotation's transaction: every wrapped key under `next`.
    private func rewrapKeys(_ ring: MasterKeyRing, under next: any MasterKey, step: CrashPoints?) throws(TemoinError) {
        rewrapped = (0, 0)
        for row in try store.wrappedKeyRows() {
            let key = try ring.unwrap(row.key.wrapped, master: row.key.master, for: row.owner)
            try store.replaceWrappedKey(
                WrappedKeyRow(
                    owner: row.owner, key: WrappedAlertKey(wrapped: next.wrap(key, for: row.owner), master: next.id)))
            if case .alert = row.owner { rewrapped.alerts += 1 } else { rewrapped.devices += 1 }
        }
        try step?.step("keys re-wrapped, not yet committed")
    }

    public func setMaximumBatch(_ n: Int) {
        maximumBatch = max(1, n)
    }

    private func drain() async {
        while !pending.isEmpty {
            // Let appends already queued on the actor join this batch.
            await Task.yield()
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            let results: [Result<[Appended], TemoinError>]
            do {
                results = try commit(batch.map(\.0))
            } catch {
                for (_, c) in batch { c.resume(throwing: error) }
                continue
            }
            for ((_, c), r) in zip(batch, results) { c.resume(with: r) }
        }
        draining = false
    }

    /// One transaction: entries, nodes, a checked and signed checkpoint. All or nothing; a group
    /// that is invalid on its own (a draft refused by the ledger's rules) fails alone, rolled back
    /// to its savepoint, and the others are committed.
    /// `rotation`: the new log key of a rotation (the groups are its one entry), and whether the
    /// old key's checkpoint is cosigned by it (always, except in tests that forge one).
    /// `rewrap`: a master-key rotation's re-wrapping, done in the transaction before its entry.
    private func commit(
        _ groups: [[EntryDraft]], rotation: (Ed25519NoteSigner, cosign: Bool)? = nil,
        rewrap: (MasterKeyRing, any MasterKey, CrashPoints?)? = nil
    ) throws(TemoinError) -> [Result<[Appended], TemoinError>] {
        let savedRange = range, savedHeads = heads, savedTime = lastTime
        // The revocation cache follows the database: a group or transaction rolled back takes its
        // `device.revoked` out of it too (a failed replacement must not silence the old phone).
        let savedRevoked = revokedDevices, savedAlertDevices = alertDevices
        var results = [Result<[(UInt64, Hash, Entry, Bool)], TemoinError>]()
        do throws(TemoinError) {
            try store.beginWrite()
            if let rewrap { try rewrapKeys(rewrap.0, under: rewrap.1, step: rewrap.2) }
            for group in groups {
                let groupRange = range, groupHeads = heads
                let groupRevoked = revokedDevices, groupAlertDevices = alertDevices
                try store.savepoint()
                do throws(TemoinError) {
                    var appended = [(UInt64, Hash, Entry, Bool)]()
                    for draft in group { appended.append(try insert(draft)) }
                    try store.releaseSavepoint()
                    results.append(.success(appended))
                } catch {
                    // A failure of the database itself ends the whole transaction (rolled back below).
                    if error.category == .environment || error.category == .invalidEvidence { throw error }
                    try store.rollbackToSavepoint()
                    range = groupRange
                    heads = groupHeads
                    revokedDevices = groupRevoked
                    alertDevices = groupAlertDevices
                    results.append(.failure(error))
                }
            }
            let anyNew = results.contains { r in (try? r.get())?.contains { $0.3 } ?? false }
            if !anyNew {
                // Nothing new to commit, nothing to sign: repeats are answered with the latest checkpoint.
                try store.rollback()
                guard let latest else {
                    throw TemoinError(.ledgerNoCheckpoint, "the ledger has no checkpoint yet")
                }
                return results.map { r in
                    r.map {
                        $0.map {
                            Appended(
                                index: $0.0, leafHash: $0.1, entry: $0.2, checkpoint: latest, isNew: $0.3,
                                origin: origin, signer: signer)
                        }
                    }
                }
            }
            let signed = try signCheckpoint(cosigner: rotation.flatMap { $0.cosign ? $0.0 : nil })
            try store.commit()
            if let rotation {
                // Durable: from now on the new key signs (checked unused before the commit).
                try? keys.append(index: range.size - 1, key: rotation.0.verifierKey)
                signerBox.set(rotation.0)
            }
            latest = signed
            writeOutsideCheckpoint(signed)
            if let openingObserver,
                results.contains(where: { r in
                    (try? r.get())?.contains { $0.3 && $0.2.kind == .alertOpened } ?? false
                })
            {
                openingObserver()
            }
            return results.map { r in
                r.map {
                    $0.map {
                        Appended(
                            index: $0.0, leafHash: $0.1, entry: $0.2, checkpoint: signed, isNew: $0.3,
                            origin: origin, signer: signer)
                    }
                }
            }
        } catch {
            if store.inTransaction { try? store.rollback() }
            if latest?.checkpoint.size != range.size {
                range = savedRange
                heads = savedHeads
                lastTime = savedTime
            }
            revokedDevices = savedRevoked
            alertDevices = savedAlertDevices
            throw error
        }
    }

    /// Inserts one draft at the end of the log inside the open transaction, or finds the entry
    /// it repeats. Returns (index, leaf hash, entry, is new).
    private func insert(_ draft: EntryDraft) throws(TemoinError) -> (UInt64, Hash, Entry, Bool) {
        if let existing = try repeated(draft) {
            return (existing.index, existing.leafHash, try existing.parsed(), false)
        }
        let built = try build(draft)
        let index = range.size
        let leaf = hasher.leafHash(built.bytes)
        try store.insertEntry(
            index: index, kind: built.kind.rawValue, alert: built.alert, subject: LedgerWriter.subject(of: built),
            leafHash: leaf, bytes: built.bytes)
        for (id, hash) in range.append(leaf, hasher: hasher) { try store.insertNode(id, hash: hash) }
        if let row = draft.sideRow { try store.insertSideRow(row, entry: index, alert: built.alert) }
        try applyFanoutRules(built, draft: draft, index: index)
        if built.kind == .dataErased, let alert = built.alert {
            // Crypto-shredding, with the entry: the key row, the fixes and their statement keys.
            try store.deleteErasableRows(alert: alert)
        }
        if built.kind == .alertOpened, let alert = built.alert, let masterKey {
            // The alert's key, durable with its opening: its first blob is sealed with it.
            let key = try SymmetricKey.random()
            try store.insertAlertKey(
                alert, WrappedAlertKey(wrapped: masterKey.wrap(key, alert: alert), master: masterKey.id))
        }
        if let key = statementKey(draft) {
            // The first entry of a statement keeps its key (a draft without a rule that repeats
            // one is stored, and the audit names it).
            try store.insertStatementKey(key, entry: index)
        }
        // A closed alert's head leaves the cache (later entries of it, exports and accesses, are
        // rare and read it from the index): the cache holds open alerts only.
        if let alert = built.alert {
            heads[alert] = built.kind == .alertClosed || built.kind == .dataErased ? nil : leaf
            if built.kind == .alertClosed { alertDevices[alert] = nil }
        }
        if built.kind == .deviceRevoked, let device = built.device { revokedDevices?.insert(device) }
        return (index, leaf, built, true)
    }

    /// The fan-out's rows that move with entries (Docs/fanout.md): an opening queues one text per
    /// contact of its device, in its own transaction; a revocation destroys the device's contacts
    /// (or hands them to the device that replaces it); a link's revocation closes it.
    private func applyFanoutRules(_ built: Entry, draft: EntryDraft, index: UInt64) throws(TemoinError) {
        switch built.kind {
        case .alertOpened:
            guard let alert = built.alert, let device = built.device else { return }
            try store.insertOutbox(alert: alert, device: device, now: built.time.millisecondsSinceEpoch)
        case .deviceRevoked:
            guard let device = built.device else { return }
            if case .contactsTransfer(let new) = draft.sideRow {
                try transferContacts(from: device, to: new)
            } else {
                try store.deleteContacts(device: device)
                // Nobody is texted for a revoked device any more, and its links close.
                try store.cancelTexts(device: device, entry: index)
            }
        case .linkRevoked:
            guard let alert = built.alert, let contact = built.contact else { return }
            // Only an open link is closed, once: checked here, inside the transaction, so that
            // two revocations at once make one entry and the other is told.
            guard let link = try store.links(alert: alert).first(where: { $0.row.contact == contact }) else {
                throw TemoinError(.linkUnknown, "alert \(alert) has no link for contact \(contact)")
            }
            guard !link.row.revoked else {
                throw TemoinError(
                    .linkAlreadyRevoked, "the link of contact \(contact) to alert \(alert) is already revoked")
            }
            try store.revokeLink(alert: alert, contact: contact, entry: index)
        case .contactsChanged:
            guard let device = built.device, try store.enrollment(device: device) != nil else {
                throw TemoinError(.ledgerUnknownDevice, "the device of a contact list is not enrolled")
            }
            if try store.entry(kind: .deviceRevoked, subject: device.rawValue) != nil {
                throw TemoinError(.deviceRevoked, "device \(device) is revoked: its contacts cannot change")
            }
            guard case .contacts(let list) = draft.sideRow, list.device == device,
                UInt64(list.contacts.count) == built.uint("count")
            else {
                throw TemoinError(.entryMissingField, "a contacts.changed entry is stored with its contact list")
            }
            // A contact taken off the list (found to be the abuser, say) gets no later text and
            // loses the link of an alert still going.
            try store.cancelTexts(device: device, entry: index)
        default:
            return
        }
    }

    /// A replaced device's contacts go to the device replacing it: the rows as they are (each is
    /// sealed with its contact id, not its device's), and the device's key wrapped again for the new
    /// device (a wrapped key is bound to its owner). The person's name is sealed with the old
    /// device's id: it is dropped here, and the `contacts.changed` of the new device that goes in
    /// the same group (`ContactBook.replace`) seals it again.
    private func transferContacts(from old: DeviceID, to new: DeviceID) throws(TemoinError) {
        guard let row = try store.deviceKeyRow(old) else {
            // No key, so no contact: nothing to move (rows without a key could not be opened).
            try store.deleteContacts(device: old)
            return
        }
        guard let masterKey else {
            throw TemoinError(
                .keysNoMasterKey, "this data folder has no master key: the contacts of device \(old) cannot move")
        }
        let key = try masterKey.unwrap(row.key.wrapped, master: row.key.master, for: .device(old))
        let rows = try store.contacts(device: old).map {
            ContactRow(id: $0.id, device: new, position: $0.position, sealed: $0.sealed, numberHash: $0.numberHash)
        }
        try store.deleteContacts(device: old)
        try store.insertDeviceKey(
            new, WrappedAlertKey(wrapped: masterKey.wrap(key, for: .device(new)), master: masterKey.id))
        try store.replaceContacts(ContactList(device: new, contacts: rows, person: nil))
    }

    /// A device's contact key, unwrapped; made (and committed, durable) on first use.
    public func deviceKey(for device: DeviceID) throws(TemoinError) -> SymmetricKey {
        guard let masterKey else {
            throw TemoinError(
                .keysNoMasterKey,
                "this data folder has no master key: run 'temoin migrate --data \(directory.path)'")
        }
        if let row = try store.deviceKeyRow(device) {
            return try masterKey.unwrap(row.key.wrapped, master: row.key.master, for: .device(device))
        }
        guard try store.enrollment(device: device) != nil else {
            throw TemoinError(.ledgerUnknownDevice, "device \(device) is not enrolled")
        }
        let key = try SymmetricKey.random()
        try store.beginWrite()
        do throws(TemoinError) {
            try store.insertDeviceKey(
                device, WrappedAlertKey(wrapped: masterKey.wrap(key, for: .device(device)), master: masterKey.id))
            try store.commit()
        } catch {
            try? store.rollback()
            throw error
        }
        return key
    }

    /// Before a text goes out: `sending`, one more attempt, and on the first attempt the composed
    /// message (sealed) and its link — durable before the gateway is called, so that a crash
    /// after the call resends the same message under the same idempotency key.
    public func markSending(
        alert: AlertID, contact: ContactID, prepared: PreparedMessage?
    ) throws(TemoinError) {
        try store.beginWrite()
        do throws(TemoinError) {
            try store.markSending(
                alert: alert, contact: contact, prepared: prepared, now: clock().millisecondsSinceEpoch)
            try store.commit()
        } catch {
            try? store.rollback()
            throw error
        }
    }

    /// Counts a later view of a link (not evidence: the first view is a `link.viewed` entry).
    public func recordLinkView(tokenHash: Hash) throws(TemoinError) {
        try store.beginWrite()
        do throws(TemoinError) {
            try store.recordLinkView(tokenHash: tokenHash, now: clock().millisecondsSinceEpoch)
            try store.commit()
        } catch {
            try? store.rollback()
            throw error
        }
    }

    /// The key of the statement a draft holds (`StatementKey`), if it holds one.
    private func statementKey(_ draft: EntryDraft) -> Hash? {
        var fix: String?
        if case .location(_, let f) = draft.sideRow { fix = f }
        return StatementKey.of(kind: draft.kind, origin: origin, alert: draft.alert, fix: fix) { name in
            draft.fields.first { $0.0 == name }?.1
        }
    }

    /// The entry a draft repeats, by its `Idempotency` (rows of this transaction included).
    private func repeated(_ draft: EntryDraft) throws(TemoinError) -> StoredEntry? {
        guard let rule = draft.idempotency, let alert = draft.alert else { return nil }
        if rule == .sameStatement {
            guard let key = statementKey(draft),
                let index = try store.statementEntry(key: key), let stored = try store.entry(at: index)
            else { return nil }
            let parsed = try stored.parsed()
            guard parsed.kind == draft.kind, parsed.alert == alert else {
                throw store.corrupt(
                    "the statement index names entry \(index), which is not a \(draft.kind.rawValue) of alert \(alert)")
            }
            return stored
        }
        var kind = draft.kind
        if case .notAfter(let other) = rule { kind = other }
        let stored = try store.entries(alert: alert, kind: kind)
        switch rule {
        case .oncePerAlert:
            return stored.first
        case .notAfter:
            return stored.first
        case .sameStatement:
            return nil
        case .sameFields(let names, let exclusive):
            let wanted = names.map { name in draft.fields.first { $0.0 == name }?.1 }
            for e in stored {
                let parsed = try e.parsed()
                if names.map({ parsed[$0] }) == wanted { return e }
            }
            if exclusive, !stored.isEmpty {
                throw TemoinError(
                    .alertConflict,
                    "alert \(alert) already has a \(draft.kind.rawValue) entry with another statement")
            }
            return nil
        }
    }

    /// The copy outside the database may lag behind it (a crash or a full disk here), never lead:
    /// the entries are already durable, so a failure is reported and retried at the next commit.
    private func writeOutsideCheckpoint(_ signed: SignedCheckpoint) {
        do throws(TemoinError) {
            try FileSystem.writeDurably(signed.bytes, to: directory.checkpointFile, mode: 0o644, replace: true)
            outsideCheckpointError = nil
        } catch {
            outsideCheckpointError = error
        }
    }

    /// The alert's AES-256 key, unwrapped. An alert opened before encryption at rest gets one
    /// here, committed (durable) before it is returned, so no blob is sealed with a key a crash
    /// could lose.
    public func alertKey(for alert: AlertID) throws(TemoinError) -> SymmetricKey {
        guard let masterKey else {
            throw TemoinError(
                .keysNoMasterKey,
                "this data folder has no master key: it was made before encryption at rest; run 'temoin migrate "
                    + "--data \(directory.path)'")
        }
        if let row = try store.alertKeyRow(alert) {
            return try masterKey.unwrap(row.wrapped, master: row.master, for: .alert(alert))
        }
        // An erased alert's key is gone for good: never made again.
        if try store.entryCount(alert: alert, kind: .dataErased) > 0 {
            throw TemoinError(.alertErased, "the data of alert \(alert) was erased: its key is destroyed")
        }
        guard try store.firstEntry(alert: alert) != nil else {
            throw TemoinError(.ledgerAlertNotOpen, "alert \(alert) has no alert.opened entry")
        }
        let key = try SymmetricKey.random()
        try store.beginWrite()
        do throws(TemoinError) {
            try store.insertAlertKey(
                alert, WrappedAlertKey(wrapped: masterKey.wrap(key, alert: alert), master: masterKey.id))
            try store.commit()
        } catch {
            try? store.rollback()
            throw error
        }
        return key
    }

    /// Completes an erasure whose `data.erased` entry is committed: deletes what is erasable of
    /// the alert if anything is left (a no-op after the entry's own transaction), then drops the
    /// database's older copies of the deleted rows as far as readers allow (best effort).
    public func finishErasure(_ alert: AlertID) throws(TemoinError) {
        guard try store.entryCount(alert: alert, kind: .dataErased) > 0 else {
            throw TemoinError(.ledgerAlertNotOpen, "alert \(alert) has no data.erased entry")
        }
        try store.beginWrite()
        do throws(TemoinError) {
            try store.deleteErasableRows(alert: alert)
            try store.commit()
        } catch {
            try? store.rollback()
            throw error
        }
        try? store.dropDeletedCopies()
    }

    /// Why the last copy of the checkpoint outside the database failed, if it did.
    public private(set) var outsideCheckpointError: TemoinError?

    /// Builds the entry of a draft at the end of the log: chain, time, per-alert rules.
    private func build(_ draft: EntryDraft) throws(TemoinError) -> Entry {
        var fields = draft.fields
        if draft.kind == .genesis, range.size != 0 {
            throw TemoinError(.ledgerGenesisAgain, "only entry 0 is a genesis entry")
        }
        if let alert = draft.alert {
            var head = heads[alert]
            if head == nil { head = try store.alertHead(alert)?.leafHash }
            if draft.kind == .alertOpened {
                guard head == nil else {
                    throw TemoinError(.ledgerAlertAlreadyOpen, "alert \(alert) is already in the ledger")
                }
                guard let device = draft.device, let enrollment = try store.enrollment(device: device)
                else {
                    throw TemoinError(.ledgerUnknownDevice, "the device of alert \(alert) is not enrolled")
                }
                fields.append(("prev", enrollment.leafHash.hex))
            } else {
                guard let head else {
                    throw TemoinError(.ledgerAlertNotOpen, "alert \(alert) has no alert.opened entry")
                }
                fields.append(("prev", head.hex))
                if draft.kind == .exportCreated {
                    // The head is the writer's to name: an entry of the alert (a chunk of a phone
                    // still uploading, a staff access) appended between the exporter's read and
                    // this entry left `head-index` naming an older entry than `prev`, and the
                    // bundle failed verification ("the alert's chain is incomplete").
                    guard let stored = try store.alertHead(alert), stored.leafHash == head else {
                        throw store.corrupt("the head of alert \(alert) differs from the writer's")
                    }
                    fields = fields.map { $0.0 == "head-index" ? ($0.0, String(stored.index)) : $0 }
                }
            }
        } else if draft.kind.belongsToAlert {
            if draft.fields.contains(where: { $0.0 == "alert" }) {
                throw .malformed(.entryBadValue, "field 'alert' is not a valid \(EntryFieldType.id128.rawValue)")
            }
            throw TemoinError(.entryMissingField, "\(draft.kind.rawValue) needs field 'alert'")
        }
        if draft.kind == .deviceEnrolled {
            // Every enrollment passes here (service, command line, init): a key of small order or
            // a non-canonical one would let one fixed signature verify any statement.
            guard let key = fields.first(where: { $0.0 == "device-key" }).flatMap({ Base64.decode($0.1) }),
                Ed25519Encoding.isAcceptablePublicKey(key)
            else {
                throw TemoinError(
                    .enrollBadKey,
                    "the device key is not a canonical Ed25519 public key of large order")
            }
            if let device = draft.device, try store.enrollment(device: device) != nil {
                throw TemoinError(.ledgerDeviceAlreadyEnrolled, "device \(device) is already enrolled")
            }
        }
        try checkNotRevoked(draft)
        if draft.kind == .keyRotated {
            let role = fields.first { $0.0 == "key-role" }?.1
            guard role == "log" || role == "export" || role == "master" else {
                throw TemoinError(.entryBadValue, category: .usage, "key-role is 'log', 'export' or 'master'")
            }
            // A master key is rotated only with the re-wrapping of every key (`rotateMasterKey`),
            // to a key the ledger never had.
            if role == "master" {
                let key = fields.first { $0.0 == "key" }?.1
                guard let key, key == rotatingMasterTo else {
                    throw TemoinError(
                        .transitionInvalid, category: .usage,
                        "a key.rotated entry of the master key is appended only by a rotation (temoin keys "
                            + "rotate-master), in the transaction that re-wraps every key")
                }
                guard try store.rotation(key: key) == nil else {
                    throw TemoinError(
                        .entryBadValue, category: .usage, "the new master key is one the ledger already had")
                }
            }
            // A log key is rotated only with its transition proof (`rotateLogKey`).
            if role == "log", fields.first(where: { $0.0 == "key" })?.1 != rotatingTo?.verifierKey.description {
                throw TemoinError(
                    .transitionInvalid, category: .usage,
                    "a key.rotated entry of the log key is appended only by a rotation (temoin keys rotate-log), "
                        + "with the checkpoint both keys sign")
            }
        }
        if let alert = draft.alert { try checkErasureRules(draft, alert: alert) }
        lastTime = max(lastTime, clock())
        fields.append(("time", lastTime.description))
        return try Entry(kind: draft.kind, fields)
    }

    /// A device's statements stop at its revocation: an open, a chunk, a location or a close it
    /// signed is refused once its `device.revoked` entry is in the log (checked here, in log
    /// order, so a statement verified just before the revocation cannot land after it). A second
    /// revocation of one device, or of a device never enrolled, is refused too.
    private func checkNotRevoked(_ draft: EntryDraft) throws(TemoinError) {
        func field(_ name: String) -> String? { draft.fields.first { $0.0 == name }?.1 }
        if draft.kind == .accountRevoked {
            // As for devices: once, and only an account that exists. Two revocations racing both
            // pass the service's check on a read snapshot; the second must not reach the log
            // (the audit would name it for ever).
            guard let account = field("account"), try store.entry(kind: .accountCreated, subject: account) != nil
            else {
                throw TemoinError(.accountUnknown, "the account to revoke was never created")
            }
            guard try store.entry(kind: .accountRevoked, subject: account) == nil else {
                throw TemoinError(.accountUnknown, "account \(account) is already revoked")
            }
            return
        }
        if draft.kind == .deviceRevoked {
            guard let device = draft.device, try store.enrollment(device: device) != nil else {
                throw TemoinError(.ledgerUnknownDevice, "the device to revoke is not enrolled")
            }
            guard try store.entry(kind: .deviceRevoked, subject: device.rawValue) == nil else {
                throw TemoinError(.deviceAlreadyRevoked, "device \(device) is already revoked")
            }
            return
        }
        guard [.alertOpened, .audioChunk, .location, .alertClosed].contains(draft.kind),
            let signature = field("statement-sig"), signature != "none", let alert = draft.alert
        else { return }
        if revokedDevices == nil {
            var loaded = Set<DeviceID>()
            for e in try store.entries(kind: .deviceRevoked, after: nil, limit: Int.max) {
                if let d = try e.parsed().device { loaded.insert(d) }
            }
            revokedDevices = loaded
        }
        guard let revoked = revokedDevices, !revoked.isEmpty else { return }
        var device = draft.kind == .alertOpened ? draft.device : alertDevices[alert]
        if device == nil { device = try store.firstEntry(alert: alert)?.parsed().device }
        guard let device else { return }
        if draft.kind != .alertClosed { alertDevices[alert] = device }
        if revoked.contains(device) {
            throw TemoinError(.deviceRevoked, "device \(device) is revoked: its statements are refused")
        }
    }

    /// An erased alert takes no more evidence (its key is destroyed): chunks, conflicting bytes,
    /// locations and exports are refused (`alert.erased`, 410). An alert is erased once closed
    /// (`erase.alert-open`: a phone may still be sending).
    private func checkErasureRules(_ draft: EntryDraft, alert: AlertID) throws(TemoinError) {
        switch draft.kind {
        case .audioChunk, .chunkConflict, .location, .exportCreated, .smsSent, .linkViewed:
            if try store.entryCount(alert: alert, kind: .dataErased) > 0 {
                throw TemoinError(
                    .alertErased,
                    "the data of alert \(alert) was erased: it takes no more evidence and has none to give")
            }
        case .holdPlaced, .holdReleased:
            if try store.entryCount(alert: alert, kind: .dataErased) > 0 {
                throw TemoinError(.alertErased, "the data of alert \(alert) was erased: there is nothing left to hold")
            }
            let reference = draft.fields.first { $0.0 == "reference" }?.1 ?? ""
            let held = try LegalHold.active(alert: alert, store)
            if draft.kind == .holdPlaced, held.contains(reference) {
                throw TemoinError(.holdAlreadyPlaced, "alert \(alert) is already held under reference '\(reference)'")
            }
            if draft.kind == .holdReleased, !held.contains(reference) {
                throw TemoinError(
                    .holdNotPlaced,
                    "alert \(alert) has no hold under reference '\(reference)'"
                        + (held.isEmpty ? "" : "; held under: " + held.joined(separator: ", ")))
            }
        case .dataErased:
            let held = try LegalHold.active(alert: alert, store)
            guard held.isEmpty else {
                throw TemoinError(
                    .alertOnHold,
                    "alert \(alert) is on legal hold (\(held.joined(separator: ", "))): "
                        + "release the hold before erasing")
            }
            guard try store.entryCount(alert: alert, kind: .alertClosed) > 0 else {
                throw TemoinError(
                    .eraseAlertOpen,
                    "alert \(alert) is still open: it can be erased once closed (by the phone or the server)")
            }
        default:
            break
        }
    }

    /// Checks the new root against the stored nodes and the previous checkpoint, then signs it.
    private func signCheckpoint(cosigner: Ed25519NoteSigner? = nil) throws(TemoinError) -> SignedCheckpoint {
        let size = range.size
        let root = range.root(hasher: hasher)
        let prover = store.prover
        guard try prover.root(size: size) == root else {
            throw TemoinError(
                .ledgerRootCheckFailed,
                "the stored nodes do not give the root about to be signed; nothing was committed")
        }
        if let previous = latest?.checkpoint, previous.size > 0, previous.size < size {
            let proof = try prover.consistencyProof(first: previous.size, second: size)
            try MerkleVerifier(hasher: hasher).verifyConsistency(
                first: previous.size, second: size, firstRoot: previous.root,
                secondRoot: root, proof: proof)
        }
        let checkpoint = Checkpoint(origin: origin, size: size, root: root)
        let signed = try SignedCheckpoint(signing: checkpoint, with: [signer] + (cosigner.map { [$0] } ?? []))
        try store.insertCheckpoint(size: size, root: root, note: signed.bytes, time: lastTime)
        return signed
    }
}

/// The writer's log key, replaced once by each rotation and read from any thread.
final class SignerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var signer: Ed25519NoteSigner

    init(_ signer: Ed25519NoteSigner) { self.signer = signer }

    var value: Ed25519NoteSigner { lock.withLock { signer } }
    func set(_ new: Ed25519NoteSigner) { lock.withLock { signer = new } }
}
