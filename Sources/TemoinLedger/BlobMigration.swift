public import TemoinCore
import TemoinCrypto

/// `temoin migrate`: seals the blobs of a data folder made before encryption at rest.
///
/// Resumable after a crash at any point, and idempotent: the master key is made once
/// (write-once file); each alert's key is committed before any of its blobs is sealed with it;
/// each blob is sealed by `BlobStore.sealInPlace` (sealed copy fsynced, plaintext zeroed, copy
/// renamed over it). The ledger is not touched: entries, proofs and exports stay the same, and the
/// audit passes before, during and after. Runs with the writer lock held (no service running).
public enum BlobMigration {
    public struct Report: Sendable {
        public var alerts = 0
        public var sealed = 0
        public var alreadySealed = 0
        public var temporaryFilesRemoved = 0
        /// Alerts whose data was erased while blobs remained (an erasure to finish: `temoin erase`).
        public var erasedSkipped: [AlertID] = []
    }

    /// The alert's key (made if it has none), or nil if the ledger has no such alert.
    static func existingAlertKey(_ alert: AlertID, writer: LedgerWriter) async throws -> SymmetricKey? {
        do {
            return try await writer.alertKey(for: alert)
        } catch  where error.id == .ledgerAlertNotOpen {
            return nil
        }
    }

    public static func run(directory: DataDirectory, step: CrashPoints? = nil) async throws -> Report {
        try directory.requireInitialized()
        try directory.createMasterKeyIfMissing()
        try step?.step("master key")
        let writer = try LedgerWriter(directory: directory)
        let reader = try LedgerReader(directory: directory, connections: 1)
        let blobs = directory.blobs
        var report = Report()
        var strangers = [String]()
        let folders = FileSystem.isDirectory(blobs.root) ? try FileSystem.list(blobs.root) : []
        for name in folders {
            guard let alert = AlertID(name), FileSystem.isDirectory(blobs.folder(alert)) else {
                strangers.append(name)
                continue
            }
            if try reader.isErased(alert) {
                report.erasedSkipped.append(alert)
                continue
            }
            guard let key = try await existingAlertKey(alert, writer: writer) else {
                strangers.append(name)
                continue
            }
            try step?.step("key of \(alert)")
            report.alerts += 1
            for file in try FileSystem.list(blobs.folder(alert)) {
                if file.hasPrefix(".tmp-") {
                    // Left by a write cut by a crash; no entry names it.
                    try FileSystem.remove(blobs.folder(alert) + "/" + file)
                    report.temporaryFilesRemoved += 1
                    try step?.step("remove \(file)")
                    continue
                }
                if file.hasPrefix(".") {
                    // `.<name>.sealing` and `.<name>.plain`: resumed with their blob, below.
                    continue
                }
                guard let hash = Hash(hex: file) else {
                    strangers.append("\(name)/\(file)")
                    continue
                }
                if try blobs.sealInPlace(alert: alert, hash: hash, key: key, step: step) {
                    report.sealed += 1
                } else {
                    report.alreadySealed += 1
                }
            }
        }
        guard strangers.isEmpty else {
            throw TemoinError(
                .blobCorrupt,
                "files under blobs/ that belong to no alert of the ledger were left as they are: "
                    + strangers.prefix(10).joined(separator: ", "), context: blobs.root)
        }
        return report
    }
}
