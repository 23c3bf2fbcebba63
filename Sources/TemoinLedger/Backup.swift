internal import CTemoinSQLite
import Foundation
public import TemoinCore
import TemoinCrypto

/// Backups of a data folder while the service runs, and their restore into an empty folder
/// (Docs/storage.md, "Backup and restore").
///
/// A backup is one consistent state of the ledger: SQLite's online backup copies the database as
/// of one read transaction (WAL: the writer goes on meanwhile); the checkpoint kept outside the
/// database is re-derived from that copy (the live file may already be ahead of it); blobs are
/// write-once files, so every blob named by the copied entries is copied as stored (encrypted
/// under its alert's key, when encryption at rest is on: the wrapped keys are in the database).
/// Keys are copied, **never the master key**: the operator keeps it apart, and `restore` asks for
/// it. The folder is written under a temporary name and renamed at the end: whole or absent.
public enum Backup {
    /// What a backup holds, as written to its `backup.json`.
    public struct Summary: Codable, Sendable, Equatable {
        public let format: String
        public let origin: String
        /// The size and root of the latest checkpoint in the copied database.
        public let size: UInt64
        public let root: String
        public let created: String
        public let blobs: Int
        public let files: [String: String]

        public static let currentFormat = "temoin-backup/v1"
    }

    /// The master key's file name in `keys/`: never copied into a backup, nor the next key of a
    /// rotation under way (`master.key.next`).
    public static let masterKeyName = "master.key"

    /// Whether a file of `keys/` is copied into a backup: not the master keys, nor the temporary
    /// files of a write under way (one may be a master key being written).
    static func copiesKey(_ name: String) -> Bool {
        !name.hasPrefix(masterKeyName) && !name.hasPrefix(".tmp-")
    }
    /// Files of the data folder that are state of a running process, not of the ledger.
    static let transient: Set<String> = ["service.url", "writer.lock", "checkpoint"]

    /// Copies `directory` into `folder` (which must not exist), consistently, while it may be in use.
    @discardableResult
    public static func make(
        of directory: DataDirectory, to folder: String, clock: () -> Timestamp = systemClock
    ) throws(TemoinError) -> Summary {
        try directory.requireInitialized()
        guard !FileSystem.exists(folder) else {
            throw TemoinError(.backupExists, "the backup folder already exists; choose a new one", context: folder)
        }
        let staging = folder + ".partial-" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        try FileSystem.makeDirectories(staging, mode: 0o700)
        do throws(TemoinError) {
            let summary = try write(directory, into: staging, clock: clock)
            guard rename(staging, folder) == 0 else { throw FileSystem.fail("move the backup into place", folder) }
            try FileSystem.syncDirectory(FileSystem.parent(folder))
            return summary
        } catch {
            removeTree(staging)
            throw error
        }
    }

    private static func write(
        _ directory: DataDirectory, into staging: String, clock: () -> Timestamp
    ) throws(TemoinError) -> Summary {
        let copy = DataDirectory(staging)
        try onlineCopy(from: directory.database, to: copy.database)
        guard chmod(copy.database, 0o600) == 0 else { throw FileSystem.fail("restrict", copy.database) }
        let summary = try copyTheRest(directory, copy, clock: clock)
        // The read-only session above left SQLite's shared-memory files behind (the WAL is empty:
        // the copy was checkpointed): the backup is the database file alone.
        for suffix in ["-wal", "-shm"] { _ = unlink(copy.database + suffix) }
        try FileSystem.syncDirectory(staging)
        return summary
    }

    private static func copyTheRest(
        _ directory: DataDirectory, _ copy: DataDirectory, clock: () -> Timestamp
    ) throws(TemoinError) -> Summary {
        let staging = copy.path
        // The copy's own latest checkpoint is the outside checkpoint of the backup.
        let store = try SQLiteLedgerEngine(path: copy.database).openReadingStore()
        guard let checkpoint = try store.latestCheckpoint(), let genesis = try store.entry(at: 0) else {
            throw TemoinError(.backupFailed, "the copied database holds no checkpoint", context: copy.database)
        }
        try FileSystem.writeDurably(checkpoint.bytes, to: copy.checkpointFile, mode: 0o644, replace: false)
        var files = [String: String]()
        // Keys and public files, except the master key and what belongs to a running process.
        try FileSystem.makeDirectories(copy.keysFolder, mode: 0o700)
        for name in try FileSystem.list(directory.keysFolder).sorted() where copiesKey(name) {
            let bytes = try FileSystem.read(directory.keysFolder + "/" + name, limit: 1 << 20)
            let mode: mode_t = name.hasSuffix(".pem") ? 0o644 : 0o600
            try FileSystem.writeDurably(bytes, to: copy.keysFolder + "/" + name, mode: mode, replace: false)
            files["keys/" + name] = SHA256.hash(bytes).hex
        }
        for name in try FileSystem.list(directory.path).sorted()
        where !transient.contains(name) && !FileSystem.isDirectory(directory.path + "/" + name)
            && !name.hasPrefix("ledger.sqlite")
        {
            let bytes = try FileSystem.read(directory.path + "/" + name, limit: 1 << 20)
            try FileSystem.writeDurably(bytes, to: staging + "/" + name, mode: 0o644, replace: false)
            files[name] = SHA256.hash(bytes).hex
        }
        // Every blob the copied entries name, as stored.
        var blobs = 0
        try store.forEachEntryRow { row throws(TemoinError) in
            guard let entry = try? Entry(parsing: row.bytes), let alert = entry.alert else { return }
            for field in ["original-sha256", "opus-sha256"] {
                guard let hash = entry.hash(field) else { continue }
                let source = directory.blobs.path(alert: alert, hash: hash)
                let target = copy.blobs.path(alert: alert, hash: hash)
                // An erased alert's blobs are gone on purpose; anything else missing is damage
                // the audit of the restored copy will name, as it would have here.
                guard FileSystem.exists(source), !FileSystem.exists(target) else { continue }
                try FileSystem.makeDirectories(FileSystem.parent(target), mode: 0o700)
                try copyFile(source, to: target)
                blobs += 1
            }
        }
        files["ledger.sqlite"] = try sha256(of: copy.database)
        let summary = Summary(
            format: Summary.currentFormat,
            origin: (try? Entry(parsing: genesis.bytes))?["origin"] ?? "",
            size: checkpoint.checkpoint.size, root: checkpoint.checkpoint.root.hex, created: clock().description,
            blobs: blobs, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let json = try? encoder.encode(summary) else {
            throw TemoinError(.backupFailed, "cannot encode backup.json")
        }
        try FileSystem.writeDurably(Array(json) + [0x0a], to: staging + "/backup.json", mode: 0o644, replace: false)
        return summary
    }

    /// Restores `backup` into `target` (absent or empty), with the operator's master key.
    /// Returns the backup's summary; the caller audits the result.
    @discardableResult
    public static func restore(
        from backup: String, masterKey: String?, into target: String
    ) throws(TemoinError) -> Summary {
        let summary = try readSummary(backup)
        if FileSystem.exists(target) {
            let existing = try FileSystem.list(target)
            guard existing.isEmpty else {
                let ledger = DataDirectory(target)
                if FileSystem.exists(ledger.database),
                    let size = try? SQLiteLedgerEngine(path: ledger.database).openReadingStore().latestCheckpoint()?
                        .checkpoint.size
                {
                    throw TemoinError(
                        .backupTargetNotEmpty,
                        size > summary.size
                            ? "the folder holds a newer ledger (\(size) entries; the backup has \(summary.size)): "
                                + "restoring an older backup over it is refused"
                            : "the folder holds a ledger (\(size) entries): restore into an empty folder only",
                        context: target)
                }
                throw TemoinError(.backupTargetNotEmpty, "restore into an empty folder only", context: target)
            }
        }
        // Every file against backup.json before anything is written.
        for (name, hash) in summary.files {
            guard !name.contains(".."), !name.hasPrefix("/") else {
                throw TemoinError(.backupCorrupt, "backup.json names a path outside the backup: \(name)")
            }
            guard try sha256(of: backup + "/" + name) == hash else {
                throw TemoinError(.backupCorrupt, "\(name) differs from backup.json", context: backup)
            }
        }
        let staging = target + ".partial-" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        try FileSystem.makeDirectories(staging, mode: 0o700)
        do throws(TemoinError) {
            try copyTree(backup, to: staging, skipping: ["backup.json", "ledger.sqlite-wal", "ledger.sqlite-shm"])
            // Read from the staged copy: the backup itself may sit on read-only media.
            if let masterKey { try checkMasterKey(masterKey, for: staging, backup: backup) }
            if let masterKey {
                let bytes = try FileSystem.read(masterKey, limit: 1 << 16)
                try FileSystem.writeDurably(
                    bytes, to: staging + "/keys/" + masterKeyName, mode: 0o600, replace: false)
            }
            try FileSystem.syncDirectory(staging)
            if FileSystem.exists(target) { _ = rmdir(target) }
            guard rename(staging, target) == 0 else { throw FileSystem.fail("move the restore into place", target) }
            try FileSystem.syncDirectory(FileSystem.parent(target))
        } catch {
            removeTree(staging)
            throw error
        }
        return summary
    }

    /// The master key ids a backup's database needs: those its wrapped keys name, and the one its
    /// latest master-key rotation names (a ledger with no key yet still names one).
    public static func masterKeyIDs(of backup: String) throws(TemoinError) -> Set<String> {
        let store = try SQLiteLedgerEngine(path: DataDirectory(backup).database).openReadingStore()
        var ids = Set(try store.wrappedKeyRows().map(\.key.master))
        if let latest = try MasterKeyRotation.latest(store) { ids.insert(latest.id) }
        return ids
    }

    /// Refuses a master key that is not the one the backup's keys are wrapped by (a key made by a
    /// later rotation, or another folder's), naming the key the backup needs.
    static func checkMasterKey(_ file: String, for copy: String, backup: String) throws(TemoinError) {
        let given = try FileMasterKey(path: file)
        defer { given.destroy() }
        let needed = try masterKeyIDs(of: copy)
        guard needed.isEmpty || needed == [given.id] else {
            throw TemoinError(
                .keysWrongMasterKey,
                "this backup's keys are wrapped by master key \(needed.sorted().joined(separator: " and ")), the one "
                    + "in force when it was taken; \(file) is master key \(given.id). A backup made before a "
                    + "master-key rotation needs the key that rotation replaced (kept with --keep-old); once that key "
                    + "is destroyed, the backup cannot be opened",
                context: backup)
        }
    }

    public static func readSummary(_ backup: String) throws(TemoinError) -> Summary {
        let path = backup + "/backup.json"
        guard FileSystem.exists(path) else {
            throw TemoinError(.backupCorrupt, "not a Témoin backup (no backup.json)", context: backup)
        }
        let bytes = try FileSystem.read(path, limit: 16 << 20)
        guard let summary = try? JSONDecoder().decode(Summary.self, from: Data(bytes)),
            summary.format == Summary.currentFormat
        else {
            throw TemoinError(.backupCorrupt, "backup.json is not a \(Summary.currentFormat) summary", context: path)
        }
        return summary
    }

    /// SQLite's online backup: one read transaction of the source, copied page by page into a
    /// new file, then checked with `PRAGMA quick_check`.
    static func onlineCopy(from source: String, to target: String) throws(TemoinError) {
        let from = try SQLiteConnection(path: source, readOnly: true)
        let to = try SQLiteConnection(path: target, create: true)
        guard let backup = sqlite3_backup_init(to.handle, "main", from.handle, "main") else {
            throw to.error(sqlite3_errcode(to.handle), "start the online backup")
        }
        let step = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard step == SQLITE_DONE, finish == SQLITE_OK else {
            throw to.error(step == SQLITE_DONE ? finish : step, "copy the database (online backup)")
        }
        try to.execute("PRAGMA journal_mode=WAL")
        guard try to.pragma("quick_check") == "ok" else {
            throw TemoinError(.backupFailed, "the copied database fails quick_check", context: target)
        }
        try to.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    static func copyFile(_ source: String, to target: String) throws(TemoinError) {
        // Blobs are at most a chunk's size (or an alert's quarantined bytes): read whole.
        let bytes = try FileSystem.read(source, limit: 1 << 30)
        try FileSystem.writeDurably(bytes, to: target, mode: 0o600, replace: false)
    }

    static func copyTree(_ source: String, to target: String, skipping: Set<String>) throws(TemoinError) {
        for name in try FileSystem.list(source).sorted() where !skipping.contains(name) {
            let from = source + "/" + name, to = target + "/" + name
            if FileSystem.isDirectory(from) {
                try FileSystem.makeDirectories(to, mode: 0o700)
                try copyTree(from, to: to, skipping: [])
                try FileSystem.syncDirectory(to)
            } else {
                var st = stat()
                let mode: mode_t = stat(from, &st) == 0 ? st.st_mode & 0o777 : 0o600
                try FileSystem.writeDurably(
                    try FileSystem.read(from, limit: 1 << 30), to: to, mode: mode, replace: false)
            }
        }
    }

    static func sha256(of path: String) throws(TemoinError) -> String {
        let stream = SHA256Stream()
        _ = try FileSystem.stream(path) { stream.update($0) }
        return stream.finalize().hex
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension SQLiteLedgerEngine {
    /// A read-only session on this database, as the concrete store (for the backup's own reads).
    func openReadingStore() throws(TemoinError) -> LedgerStore {
        let db = try SQLiteConnection(path: path, readOnly: true)
        try LedgerSchema.configure(db, readOnly: true)
        return LedgerStore(db: db)
    }
}
