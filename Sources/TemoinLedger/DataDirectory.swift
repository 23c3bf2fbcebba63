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
            throw TemoinError(.usage, code: "data.not-initialized",
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
