#if canImport(Glibc)
import Glibc
#endif
public import TemoinCore
public import TemoinCrypto

/// A wrapped key as stored: an alert's key (`alert_keys`) or a device's contact key (`device_keys`).
public struct WrappedKeyRow: Sendable, Equatable {
    public let owner: KeyOwner
    public let key: WrappedAlertKey

    public init(owner: KeyOwner, key: WrappedAlertKey) {
        self.owner = owner
        self.key = key
    }
}

/// The reads of the wrapped keys (any reading session): a master-key rotation re-wraps them all,
/// the audit checks that each names the master key in force.
public protocol MasterKeyStoreReading: AnyObject {
    /// Every wrapped key, the alerts' then the devices', each in id order. A row whose id is not
    /// an alert or device id is `ledger.corrupt`.
    func wrappedKeyRows() throws(TemoinError) -> [WrappedKeyRow]
    /// The master id some wrapped key names (one read, whatever the number of rows), if any.
    func anyWrappedKeyMaster() throws(TemoinError) -> String?
}

/// The writes of the wrapped keys, inside the writer's transaction.
public protocol MasterKeyStoreWriting: MasterKeyStoreReading {
    /// Replaces a wrapped key and its master id in place (a master-key rotation); the old bytes
    /// are overwritten (SQLite: `secure_delete`). A row that is not there is `ledger.corrupt`.
    func replaceWrappedKey(_ row: WrappedKeyRow) throws(TemoinError)
}

extension LedgerStore: MasterKeyStoreWriting {
    private func hasTable(_ name: String) throws(TemoinError) -> Bool {
        let s = try db.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").bind(.text(name))
        defer { s.reset() }
        return try s.step()
    }

    func wrappedKeyRows() throws(TemoinError) -> [WrappedKeyRow] {
        var out = [WrappedKeyRow]()
        for (table, column) in [("alert_keys", "alert"), ("device_keys", "device")] where try hasTable(table) {
            let s = try db.statement("SELECT \(column), wrapped, master FROM \(table) ORDER BY \(column)")
            defer { s.reset() }
            while try s.step() {
                let text = s.text(0) ?? ""
                let owner: KeyOwner? =
                    table == "alert_keys" ? AlertID(text).map { .alert($0) } : DeviceID(text).map { .device($0) }
                guard let owner else { throw corrupt("a row of \(table) names '\(text)', which is not an id") }
                out.append(
                    WrappedKeyRow(owner: owner, key: WrappedAlertKey(wrapped: s.blob(1), master: s.text(2) ?? "")))
            }
        }
        return out
    }

    func anyWrappedKeyMaster() throws(TemoinError) -> String? {
        for table in ["alert_keys", "device_keys"] where try hasTable(table) {
            let s = try db.statement("SELECT master FROM \(table) LIMIT 1")
            defer { s.reset() }
            if try s.step() { return s.text(0) ?? "" }
        }
        return nil
    }

    func replaceWrappedKey(_ row: WrappedKeyRow) throws(TemoinError) {
        let (table, column, id): (String, String, String)
        switch row.owner {
        case .alert(let alert): (table, column, id) = ("alert_keys", "alert", alert.rawValue)
        case .device(let device): (table, column, id) = ("device_keys", "device", device.rawValue)
        }
        try db.statement("UPDATE \(table) SET wrapped = ?, master = ? WHERE \(column) = ?")
            .bind(.blob(row.key.wrapped), .text(row.key.master), .text(id)).run()
        guard db.changes == 1 else { throw corrupt("the wrapped key of \(row.owner) vanished during a rotation") }
    }
}

/// `temoin keys rotate-master` (Docs/storage.md, "Rotating the master key"): a new master key,
/// every alert's and device's key re-wrapped under it with a `key.rotated … master` entry in one
/// transaction, then the new key installed and the old one destroyed. Once the old key is gone,
/// no copy of the database made before the rotation (a backup) can be opened any more: that is
/// how an erasure reaches old backups.
///
/// Steps, each durable before the next, so that a crash anywhere leaves a folder that opens and
/// audits clean, and the same command finishes the job:
/// 1. the new key, 32 random bytes, written to `keys/master.key.next` (0600, fsynced);
/// 2. (`--keep-old FILE`) the old key written to FILE, outside the data folder;
/// 3. one transaction: every row of `alert_keys` and `device_keys` unwrapped with the key its
///    `master` column names and wrapped under the new key (`master` = the new id), and the
///    `key.rotated` entry (`key-role master`, `key` the new id), with its checkpoint;
/// 4. `master.key.next` renamed over `master.key` (fsync of `keys/`), then the old key's file,
///    still open, overwritten with zeros (if no other name links it) and its bytes in memory
///    overwritten (`SecretBytes`).
/// Between 1 and 3 the rows name the old key and it wraps new keys; between 3 and 4 they name the
/// new one (in `master.key.next`), which then wraps: `MasterKeyRing` opens both. A second run
/// re-uses a `master.key.next` the ledger does not name yet (step 3 again) and only installs
/// one it names (step 4).
public enum MasterKeyRotation {
    /// What a rotation (or the run that finished one) did.
    public struct Report: Sendable {
        public enum Resumed: Sendable, Equatable {
            /// A fresh rotation.
            case no
            /// A `master.key.next` from a run cut before its transaction: its key was used.
            case beforeCommit
            /// A run cut after its transaction: the new key only had to be installed.
            case afterCommit
        }

        public var oldID: String
        public var newID: String
        public var resumed = Resumed.no
        /// Keys re-wrapped (zero when only the installation was left).
        public var alertKeys = 0
        public var deviceKeys = 0
        /// The `key.rotated` entry (nil when only the installation was left).
        public var entry: UInt64?
        /// Where `--keep-old` wrote the old key.
        public var keptOld: String?
        /// False when the old key's file had another name on this disk (a hard link the operator
        /// made): that copy was left as it is.
        public var oldFileOverwritten = false
    }

    /// The latest master-key rotation of the ledger: its entry and the id it names.
    public static func latest(_ store: any LedgerStoreReading) throws(TemoinError) -> (index: UInt64, id: String)? {
        var last: (index: UInt64, id: String)?
        for stored in try store.entries(kind: .keyRotated, after: nil, limit: Int.max) {
            let entry = try stored.parsed()
            if entry["key-role"] == "master", let id = entry["key"] { last = (stored.index, id) }
        }
        return last
    }

    /// Rotates the master key of `directory`, whose writer this opens (the service stopped).
    /// `keepOld`: where to keep the old key (outside the data folder). `step`: tests only.
    public static func run(
        directory: DataDirectory, keepOld: String? = nil, step: CrashPoints? = nil
    ) async throws -> Report {
        try checkKeepOld(keepOld, directory: directory)
        let writer = try LedgerWriter(directory: directory)
        return try await run(writer: writer, keepOld: keepOld, step: step)
    }

    /// Rotates the master key through `writer` (which holds the writer lock: no service runs).
    public static func run(
        writer: LedgerWriter, keepOld: String? = nil, step: CrashPoints? = nil
    ) async throws -> Report {
        let directory = writer.directory
        try checkKeepOld(keepOld, directory: directory)
        guard let ring = await writer.masterKeyRing else {
            throw TemoinError(
                .keysNoMasterKey,
                "this data folder has no master key to rotate: it was made before encryption at rest; run "
                    + "'temoin migrate --data \(directory.path)' first")
        }
        // The writer resolved which key the ledger names: it wraps (`MasterKeyRing`).
        let inForce = ring.wrapper
        var report = Report(oldID: ring.current.id, newID: inForce.id)
        if let next = ring.next, next.id == inForce.id, ring.current.id != inForce.id {
            // Cut after the transaction: the rows and the ledger name the new key already.
            report.resumed = .afterCommit
            report.keptOld = try keep(ring.current, at: keepOld)
            report.oldFileOverwritten = try install(directory, step: step)
            await writer.forgetOldMasterKey()
            return report
        }
        let next: any MasterKey
        if let pending = ring.next, pending.id != inForce.id {
            // Cut before the transaction: nothing names this key yet; it is as good as a new one.
            next = pending
            report.resumed = .beforeCommit
        } else {
            let secret = try SecretBytes.random(count: SymmetricKey.size)
            try secret.withBytes { raw throws(TemoinError) in
                try FileSystem.writeDurably(raw: raw, to: directory.nextMasterKeyFile, replace: true)
            }
            next = SoftwareMasterKey(secret: secret)
        }
        report.newID = next.id
        try step?.step("new master key written to keys/master.key.next")
        if let kept = try keep(ring.current, at: keepOld) {
            report.keptOld = kept
            try step?.step("old master key kept")
        }
        let rewrapped = try await writer.rotateMasterKey(to: next, step: step)
        report.alertKeys = rewrapped.alertKeys
        report.deviceKeys = rewrapped.deviceKeys
        report.entry = rewrapped.entry.index
        try step?.step("keys re-wrapped and key.rotated committed")
        report.oldFileOverwritten = try install(directory, step: step)
        await writer.forgetOldMasterKey()
        return report
    }

    /// Refuses a `--keep-old` path inside the data folder (backups copy its files), or a file that
    /// exists and holds anything but the key about to be replaced (a run cut short wrote it already).
    public static func checkKeepOld(_ path: String?, directory: DataDirectory) throws(TemoinError) {
        guard let path else { return }
        if FileSystem.exists(path), try !holdsCurrentKey(path, directory: directory) {
            throw TemoinError(
                .keysUnsafeKeepOld, "the file for the old master key exists already: choose a new name", context: path)
        }
        let folder = realPath(FileSystem.parent(path))
        let data = realPath(directory.path)
        guard let folder, let data, folder != data, !folder.hasPrefix(data + "/") else {
            throw TemoinError(
                .keysUnsafeKeepOld,
                "the old master key must be kept outside the data folder (backups copy its files), in a folder "
                    + "that exists",
                context: path)
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether the file at `path` is a copy of `keys/master.key`.
    static func holdsCurrentKey(_ path: String, directory: DataDirectory) throws(TemoinError) -> Bool {
        guard FileSystem.exists(directory.masterKeyFile),
            let kept = try? FileMasterKey(path: path)
        else { return false }
        defer { kept.destroy() }
        let current = try FileMasterKey(path: directory.masterKeyFile)
        defer { current.destroy() }
        return kept.id == current.id
    }

    /// Writes the old key to `path` (0600, write-once) if asked; returns the path. A file holding
    /// that key already (written by a run cut short) is kept as it is.
    static func keep(_ old: any MasterKey, at path: String?) throws(TemoinError) -> String? {
        guard let path else { return nil }
        if FileSystem.exists(path), let kept = try? FileMasterKey(path: path), kept.id == old.id {
            kept.destroy()
            return path
        }
        guard let file = old as? FileMasterKey else {
            throw TemoinError(.keysUnsafeKeepOld, "this master key is not a file: it cannot be written out")
        }
        try file.withBytes { raw throws(TemoinError) in
            try FileSystem.writeDurably(raw: raw, to: path, mode: 0o600, replace: false)
        }
        return path
    }

    /// Renames `master.key.next` over `master.key` (durable), then overwrites the old key's file,
    /// kept open, with zeros and fsyncs it, unless another name still links it (a copy the
    /// operator made on this disk). Returns whether it was overwritten.
    static func install(_ directory: DataDirectory, step: CrashPoints?) throws(TemoinError) -> Bool {
        let old = open(directory.masterKeyFile, O_WRONLY | O_CLOEXEC)
        guard old >= 0 else { throw FileSystem.fail("open the old master key", directory.masterKeyFile) }
        defer { close(old) }
        try FileSystem.renameDurably(directory.nextMasterKeyFile, to: directory.masterKeyFile)
        try step?.step("new master key installed as keys/master.key")
        var st = stat()
        guard fstat(old, &st) == 0 else { throw FileSystem.fail("stat the old master key", directory.masterKeyFile) }
        guard st.st_nlink == 0 else { return false }
        let zeros = [UInt8](repeating: 0, count: Int(st.st_size))
        guard pwrite(old, zeros, zeros.count, 0) == zeros.count, fsync(old) == 0 else {
            throw FileSystem.fail("overwrite the old master key", directory.masterKeyFile)
        }
        try step?.step("old master key file overwritten")
        return true
    }
}
