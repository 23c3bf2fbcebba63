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

    func loadLogKey() throws(TemoinError) -> Ed25519PrivateKey {
        try Ed25519PrivateKey(pem: FileSystem.read(logKeyFile, limit: 1 << 16))
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
