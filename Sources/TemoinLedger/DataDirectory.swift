#if canImport(Glibc)
import Glibc
#endif
import Foundation
public import TemoinCore
public import TemoinCrypto

/// The files of one Témoin deployment on local disk. See Docs/storage.md.
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public var database: String { path + "/ledger.sqlite" }
    /// The embedded default engine: the SQLite database in this folder.
    public var engine: any LedgerEngine { SQLiteLedgerEngine(path: database) }
    /// The last signed checkpoint, kept outside the database files.
    public var checkpointFile: String { path + "/checkpoint" }
    public var keysFolder: String { path + "/keys" }
    public var logKeyFile: String { keysFolder + "/log.key" }
    /// A new log key during a rotation (Docs/storage.md): installed as `log.key` once the log
    /// names it, removed if the log never did.
    public var nextLogKeyFile: String { keysFolder + "/log.key.next" }
    public var exportKeyFile: String { keysFolder + "/export.key" }
    public var exportCertificateFile: String { keysFolder + "/export-cert.pem" }
    public var ingestDeviceKeyFile: String { keysFolder + "/ingest-device.key" }
    /// The log's verifier key in C2SP form (public).
    public var verifierKeyFile: String { path + "/log-key.txt" }
    public var writerLockFile: String { path + "/writer.lock" }
    public var blobs: BlobStore { BlobStore(root: path + "/blobs") }

    /// Throws a clear error unless this looks like an initialized data folder.
    func requireInitialized() throws(TemoinError) {
        guard FileSystem.exists(database) else {
            throw TemoinError(
                .dataNotInitialized,
                "no ledger in this folder: run 'temoin init --data \(path)' first", context: path)
        }
    }

    func loadLogKey(_ file: String? = nil) throws(TemoinError) -> Ed25519PrivateKey {
        try Ed25519PrivateKey(pem: FileSystem.read(file ?? logKeyFile, limit: 1 << 16))
    }

    public func loadExportCertificate() throws(TemoinError) -> Certificate {
        try Certificate(pem: FileSystem.read(exportCertificateFile, limit: 1 << 20))
    }

    public func loadIngestDeviceKey() throws(TemoinError) -> Ed25519PrivateKey {
        try Ed25519PrivateKey(pem: FileSystem.read(ingestDeviceKeyFile, limit: 1 << 16))
    }
}

extension DataDirectory {
    /// The administration token: 32 random bytes in hex in `keys/admin.token` (0600). Commands
    /// run by the service's user read it to reach a running service; the service keeps only its hash.
    public var adminTokenFile: String { keysFolder + "/admin.token" }
    /// Where a running service says it listens (`http://host:port`).
    public var serviceURLFile: String { path + "/service.url" }

    public func loadOrCreateAdminToken() throws(TemoinError) -> String {
        if FileSystem.exists(adminTokenFile) {
            return String(decoding: try FileSystem.read(adminTokenFile, limit: 1024), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var g = SystemRandomNumberGenerator()
        let token = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
        try FileSystem.writeDurably(Array((token + "\n").utf8), to: adminTokenFile, replace: false)
        return token
    }

    public func writeServiceURL(_ url: String) throws(TemoinError) {
        try FileSystem.writeDurably(Array((url + "\n").utf8), to: serviceURLFile, mode: 0o644, replace: true)
    }

    public func readServiceURL() -> String? {
        (try? FileSystem.read(serviceURLFile, limit: 1024)).map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

extension DataDirectory {
    /// The files whose contents are secrets: private keys and the administration token.
    public var secretFiles: [String] {
        [
            logKeyFile, nextLogKeyFile, exportKeyFile, ingestDeviceKeyFile, adminTokenFile, masterKeyFile,
            nextMasterKeyFile,
        ]
    }

    /// Refuses secrets that other users could read or change: each existing secret file must be a
    /// regular file with no permission for group or others (0600 or stricter), and the keys
    /// folder must not be writable by them (they could swap a key). The service checks this before
    /// it starts; a copy restored with the wrong umask is named, with the command that fixes it.
    public func checkSecretPermissions() throws(TemoinError) {
        var folder = stat()
        if stat(keysFolder, &folder) == 0, folder.st_mode & 0o022 != 0 {
            throw TemoinError(
                .keysTooOpen,
                "the keys folder is writable by group or others (mode \(String(folder.st_mode & 0o777, radix: 8))); "
                    + "run: chmod 700 \(keysFolder)", context: keysFolder)
        }
        for file in secretFiles {
            var st = stat()
            guard lstat(file, &st) == 0 else { continue }
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw TemoinError(.keysTooOpen, "a secret file is not a regular file (a link?)", context: file)
            }
            guard st.st_mode & 0o077 == 0 else {
                throw TemoinError(
                    .keysTooOpen,
                    "readable or writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))): "
                        + "refusing to start with exposed secrets; run: chmod 600 \(file)", context: file)
            }
        }
    }
}

extension DataDirectory {
    /// The master key that wraps every alert's key: 32 random bytes, 0600 (Docs/storage.md, "Keys").
    public var masterKeyFile: String { keysFolder + "/master.key" }
    /// A new master key during `temoin keys rotate-master` (Docs/storage.md, "Rotating the master
    /// key"): renamed over `master.key` once every wrapped key names it.
    public var nextMasterKeyFile: String { keysFolder + "/master.key.next" }

    public var hasMasterKey: Bool { FileSystem.exists(masterKeyFile) }

    /// The master keys of this folder (the files; an HSM would be another `MasterKey`): the
    /// current one and, if a rotation was cut short, the next one; each wrapped key is opened by
    /// the key its row names. `committed`: the master key id the ledger names (its latest
    /// `key.rotated … master`), which wraps new keys (`LedgerWriter` passes it; readers only unwrap).
    public func loadMasterKey(committed: String? = nil) throws(TemoinError) -> MasterKeyRing {
        let current = try FileMasterKey(path: masterKeyFile)
        let next = FileSystem.exists(nextMasterKeyFile) ? try FileMasterKey(path: nextMasterKeyFile) : nil
        return MasterKeyRing(current: current, next: next, committed: committed)
    }

    /// Makes `keys/master.key` if there is none (`temoin init`, `temoin migrate`); write-once.
    public func createMasterKeyIfMissing() throws(TemoinError) {
        guard !hasMasterKey else { return }
        try FileSystem.makeDirectories(keysFolder)
        let key = try SecretBytes.random(count: SymmetricKey.size)
        defer { key.destroy() }
        do {
            try key.withBytes { raw throws(TemoinError) in
                try FileSystem.writeDurably(raw: raw, to: masterKeyFile, replace: false)
            }
        } catch  where error.code == "fs.exists" {
            return
        }
    }
}

/// The master key in a file of 32 raw bytes, readable by the service's user alone. Whoever holds
/// the file and a copy of the database can open every alert not erased: keep it out of the
/// database's backups (Docs/security.md). The bytes are read straight into `SecretBytes`.
public struct FileMasterKey: MasterKey {
    private let key: SoftwareMasterKey
    public var id: String { key.id }

    public init(path: String) throws(TemoinError) {
        guard FileSystem.exists(path) else {
            throw TemoinError(
                .keysNoMasterKey,
                "there is no master key (\(path)): a data folder made before encryption at rest is converted by "
                    + "'temoin migrate --data \(FileSystem.parent(FileSystem.parent(path)))'",
                context: path)
        }
        key = SoftwareMasterKey(secret: try Self.read(path))
    }

    /// Exactly 32 bytes, read into a buffer of their own.
    static func read(_ path: String) throws(TemoinError) -> SecretBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystem.fail("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystem.fail("stat", path) }
        guard st.st_size == SymmetricKey.size else {
            throw TemoinError(
                .keysBadSymmetricKey, "a master key file holds 32 bytes, not \(st.st_size)", context: path)
        }
        return try SecretBytes(count: SymmetricKey.size) { buffer throws(TemoinError) in
            var filled = 0
            while filled < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw FileSystem.fail("read", path) }
                guard n > 0 else {
                    throw TemoinError(.keysBadSymmetricKey, "the master key file was cut short", context: path)
                }
                filled += n
            }
        }
    }

    public func wrap(_ ownKey: SymmetricKey, for owner: KeyOwner) throws(TemoinError) -> [UInt8] {
        try key.wrap(ownKey, for: owner)
    }

    public func unwrap(_ wrapped: [UInt8], for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        try key.unwrap(wrapped, for: owner)
    }

    /// Runs `body` with the key's bytes (to write them elsewhere: `--keep-old`).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(TemoinError) -> R) throws(TemoinError) -> R {
        try key.withBytes(body)
    }

    public func destroy() { key.destroy() }
}
