#if canImport(Glibc)
import Glibc
#endif
public import TemoinCore
public import TemoinCrypto

/// Write-once files addressed by (alert, SHA-256): `blobs/<alert>/<sha256 hex>` (an `AlertID`
/// is 32 lowercase hex digits: it can only name a folder of its own), each sealed with its
/// alert's key (`EncryptedBlob`, Docs/storage.md "Blob files").
///
/// Durability contract: `put` returns only once the file, its name and any folder it created
/// are fsynced, so a ledger entry committed after `put` never names a blob a crash can lose.
/// Erasing one alert's folder never touches another alert's evidence.
public struct BlobStore: BlobStoring {
    public let root: String
    /// Tests only: injected write failures.
    public let faults: StorageFaults?

    public init(root: String, faults: StorageFaults? = nil) {
        self.root = root
        self.faults = faults
    }

    public func path(alert: AlertID, hash: Hash) -> String {
        root + "/" + alert.rawValue + "/" + hash.hex
    }

    func folder(_ alert: AlertID) -> String { root + "/" + alert.rawValue }

    /// Seals `bytes` with the alert's key and stores them, returning their SHA-256. Storing the
    /// same bytes again is a no-op that checks what is stored.
    @discardableResult
    public func put(alert: AlertID, bytes: [UInt8], key: SymmetricKey) throws(TemoinError) -> Hash {
        try put(alert: alert, blobs: [bytes], key: key)[0]
    }

    /// `put` of several blobs of one alert at once, with one fsync of the alert's folder for all
    /// their names (a chunk's original and Opus stream: three fsyncs instead of four).
    public func put(alert: AlertID, blobs: [[UInt8]], key: SymmetricKey) throws(TemoinError) -> [Hash] {
        try FileSystem.makeDirectories(folder(alert))
        var files = [(bytes: [UInt8], path: String)]()
        var hashes = [Hash]()
        for bytes in blobs {
            let hash = SHA256.hash(bytes)
            let target = path(alert: alert, hash: hash)
            try faults?.check(target)
            hashes.append(hash)
            files.append((try EncryptedBlob.seal(bytes, name: hash, alert: alert, key: key), target))
        }
        let created = try FileSystem.writeOnceDurably(files)
        for (hash, isNew) in zip(hashes, created) where !isNew {
            // Write-once: the name is the content hash; make sure what is there is really it.
            guard try digest(alert: alert, hash: hash, key: key) == hash else {
                throw TemoinError(
                    .blobCorrupt, "a stored blob does not match its name", context: path(alert: alert, hash: hash))
            }
        }
        return hashes
    }

    /// The plaintext of a blob: authenticated with the alert's key, or, for a blob stored before
    /// encryption, checked against its name.
    public func read(alert: AlertID, hash: Hash, key: SymmetricKey?) throws(TemoinError) -> [UInt8] {
        let target = path(alert: alert, hash: hash)
        let bytes = try FileSystem.read(target, limit: 1 << 30)
        if EncryptedBlob.hasHeader(bytes) {
            do throws(TemoinError) {
                guard let key else { throw noKey(alert, target) }
                return try EncryptedBlob.open(bytes, name: hash, alert: alert, key: key)
            } catch {
                // A blob stored in plaintext before encryption may start like a header by chance.
                if SHA256.hash(bytes) == hash { return bytes }
                throw TemoinError(error.id, category: error.category, error.reason, context: target)
            }
        }
        guard SHA256.hash(bytes) == hash else {
            throw TemoinError(.blobCorrupt, "a stored blob does not match its name", context: target)
        }
        return bytes
    }

    func noKey(_ alert: AlertID, _ target: String) -> TemoinError {
        TemoinError(.blobNoKey, "alert \(alert) has no key to open its encrypted blobs", context: target)
    }

    /// SHA-256 of the blob's plaintext, streamed in bounded memory (a sealed blob is opened
    /// segment by segment).
    public func digest(alert: AlertID, hash: Hash, key: SymmetricKey?) throws(TemoinError) -> Hash {
        try inspect(alert: alert, hash: hash, key: key).digest
    }

    /// The plaintext's SHA-256, streamed, and whether the file is sealed (false for a blob stored
    /// in plaintext before encryption, which `temoin migrate` seals).
    public func inspect(
        alert: AlertID, hash: Hash, key: SymmetricKey?
    ) throws(TemoinError) -> (digest: Hash, sealed: Bool) {
        let target = path(alert: alert, hash: hash)
        let prefix = try FileSystem.readPrefix(target, count: EncryptedBlob.headerSize)
        guard EncryptedBlob.hasHeader(prefix) else { return (try plainDigest(target), false) }
        do throws(TemoinError) {
            guard let key else { throw noKey(alert, target) }
            return (try sealedDigest(target, header: prefix, alert: alert, name: hash, key: key), true)
        } catch {
            if let plain = try? plainDigest(target), plain == hash { return (plain, false) }
            throw TemoinError(error.id, category: error.category, error.reason, context: target)
        }
    }

    func plainDigest(_ path: String) throws(TemoinError) -> Hash {
        let stream = SHA256Stream()
        _ = try FileSystem.stream(path) { stream.update($0) }
        return stream.finalize()
    }

    func sealedDigest(
        _ path: String, header: [UInt8], alert: AlertID, name: Hash, key: SymmetricKey
    ) throws(TemoinError) -> Hash {
        let stream = SHA256Stream()
        try openSealed(path, header: header, alert: alert, name: name, key: key) { stream.update($0) }
        return stream.finalize()
    }

    /// Opens a sealed file record by record: one read buffer and one record in memory at most.
    func openSealed(
        _ path: String, header: [UInt8], alert: AlertID, name: Hash, key: SymmetricKey,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(TemoinError) {
        let opener = try EncryptedBlob.Opener(header: header, alert: alert, name: name, key: key)
        let file = try FileSystem.ReadingFile(path)
        try file.skip(EncryptedBlob.headerSize)
        // A record is the last one when no byte follows it: read one record ahead.
        var current = try file.read(EncryptedBlob.recordSize)
        while true {
            let next = current.count == EncryptedBlob.recordSize ? try file.read(EncryptedBlob.recordSize) : []
            let final = next.isEmpty
            try TypedBytes.read(current) { record throws(TemoinError) in try opener.open(record, final: final, body) }
            if final { return }
            current = next
        }
    }

    public func exists(alert: AlertID, hash: Hash) -> Bool {
        FileSystem.exists(path(alert: alert, hash: hash))
    }

    /// The names (hex) of an alert's blobs on disk, without temporary files.
    public func names(alert: AlertID) throws(TemoinError) -> [String] {
        guard FileSystem.isDirectory(folder(alert)) else { return [] }
        return try FileSystem.list(folder(alert)).filter { !$0.hasPrefix(".") }
    }

    /// Deletes the alert's folder and every file in it (blobs, temporary files); each deletion is
    /// a `step`. Durable when it returns (the folders are fsynced); a second call is a no-op.
    public func removeAll(alert: AlertID, step: CrashPoints?) throws(TemoinError) {
        let folder = folder(alert)
        guard FileSystem.isDirectory(folder) else { return }
        for name in try FileSystem.list(folder) {
            try FileSystem.remove(folder + "/" + name)
            try step?.step("delete blob \(name)")
        }
        try FileSystem.syncDirectory(folder)
        try FileSystem.removeDirectory(folder)
        try FileSystem.syncDirectory(root)
        try step?.step("delete the alert's folder")
    }

    /// Seals a blob stored in plaintext before encryption (`temoin migrate`). At every moment the
    /// blob's name holds either the intact plaintext or the complete sealed file, so a crash at any
    /// point leaves a readable blob, and a second run finishes: (1) a second name `.<name>.plain`
    /// is linked to the plaintext; (2) the sealed copy is written and fsynced as `.<name>.sealing`;
    /// (3) it is renamed over the name (folder fsynced); (4) the plaintext, still reachable through
    /// `.<name>.plain`, is overwritten with zeros and fsynced; (5) that name is removed. A run that
    /// finds a `.sealing` copy that opens goes to (3); one that does not open was cut in (2). A
    /// `.plain` name is zeroed only once the blob's name is verified sealed (before, it is the same
    /// file). Returns false if the blob was already sealed.
    public func sealInPlace(
        alert: AlertID, hash: Hash, key: SymmetricKey, step: CrashPoints? = nil
    ) throws(TemoinError) -> Bool {
        let target = path(alert: alert, hash: hash)
        let sealing = folder(alert) + "/." + hash.hex + ".sealing"
        let plain = folder(alert) + "/." + hash.hex + ".plain"
        func opens(_ bytes: [UInt8]) -> Bool {
            EncryptedBlob.hasHeader(bytes)
                && (try? EncryptedBlob.open(bytes, name: hash, alert: alert, key: key)).map(SHA256.hash) == hash
        }
        if FileSystem.exists(sealing) {
            if opens(try FileSystem.read(sealing, limit: 1 << 30)) {
                try FileSystem.renameDurably(sealing, to: target)
                try step?.step("rename \(hash.hex)")
            } else {
                try FileSystem.remove(sealing)
            }
        }
        let bytes = try FileSystem.read(target, limit: 1 << 30)
        guard SHA256.hash(bytes) == hash else {
            guard opens(bytes) else {
                throw TemoinError(
                    .blobCorrupt, "neither sealed with its alert's key nor plaintext matching its name", context: target
                )
            }
            if FileSystem.exists(plain) {
                try FileSystem.overwriteWithZeros(plain)
                try FileSystem.remove(plain)
                try FileSystem.syncDirectory(folder(alert))
                try step?.step("scrub \(hash.hex)")
            }
            return false
        }
        // The blob is the plaintext: a `.plain` name left by a cut run is the same file (unlinked only).
        try FileSystem.remove(plain)
        try FileSystem.linkDurably(target, to: plain)
        try step?.step("link \(hash.hex)")
        let sealed = try EncryptedBlob.seal(bytes, name: hash, alert: alert, key: key)
        try FileSystem.writeDurably(sealed, to: sealing, replace: true)
        try step?.step("seal \(hash.hex)")
        try FileSystem.renameDurably(sealing, to: target)
        try step?.step("rename \(hash.hex)")
        try FileSystem.overwriteWithZeros(plain)
        try step?.step("zero \(hash.hex)")
        try FileSystem.remove(plain)
        try FileSystem.syncDirectory(folder(alert))
        try step?.step("unlink \(hash.hex)")
        return true
    }
}
