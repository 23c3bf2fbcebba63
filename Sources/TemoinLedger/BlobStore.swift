public import TemoinCore
import TemoinCrypto

/// Write-once files addressed by (alert, SHA-256): `blobs/<alert>/<sha256 hex>` (an `AlertID`
/// is 32 lowercase hex digits: it can only name a folder of its own).
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

    /// Stores `bytes` for `alert`, returning their SHA-256. Storing the same bytes again is a no-op.
    @discardableResult
    public func put(alert: AlertID, bytes: [UInt8]) throws(TemoinError) -> Hash {
        let hash = SHA256.hash(bytes)
        let folder = root + "/" + alert.rawValue
        try FileSystem.makeDirectories(folder)
        let target = path(alert: alert, hash: hash)
        try faults?.check(target)
        do {
            try FileSystem.writeDurably(bytes, to: target, replace: false)
        } catch  where error.code == "fs.exists" {
            // Write-once: the name is the content hash; make sure what is there is really it.
            guard try digest(alert: alert, hash: hash) == hash else {
                throw TemoinError(.blobCorrupt, "a stored blob does not match its name", context: target)
            }
        }
        return hash
    }

    public func read(alert: AlertID, hash: Hash) throws(TemoinError) -> [UInt8] {
        try FileSystem.read(path(alert: alert, hash: hash), limit: 1 << 30)
    }

    /// SHA-256 of the stored file, streamed.
    public func digest(alert: AlertID, hash: Hash) throws(TemoinError) -> Hash {
        let stream = SHA256Stream()
        _ = try FileSystem.stream(path(alert: alert, hash: hash)) { stream.update($0) }
        return stream.finalize()
    }

    public func exists(alert: AlertID, hash: Hash) -> Bool {
        FileSystem.exists(path(alert: alert, hash: hash))
    }
}
