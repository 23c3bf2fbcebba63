public import TemoinCore
import TemoinCrypto

/// Creating a ledger: `temoin init`.
public enum Ledger {
    /// What `initialize` made.
    public struct Created: Sendable {
        public let origin: String
        public let verifierKey: VerifierKey
        public let ingestDevice: DeviceID
        public let exportCertificateSHA256: Hash
    }

    /// A unique random origin: `temoin.local/` and 16 random bytes in hex.
    public static func randomOrigin() -> String {
        var g = SystemRandomNumberGenerator()
        return "temoin.local/" + Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    /// Origins are C2SP key names: printable ASCII, no spaces, no '+', at most 255 bytes.
    public static func validateOrigin(_ origin: String) throws(TemoinError) {
        guard !origin.isEmpty, origin.utf8.count <= 255, !origin.contains("+"),
            origin.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else {
            throw TemoinError(
                .initBadOrigin,
                "the origin must be 1 to 255 printable ASCII characters without spaces or '+', e.g. example.org/temoin")
        }
    }

    /// Makes a new data folder: keys (files readable by this user only), the database, the
    /// genesis entry, the enrollment of the local ingest device, and the first checkpoints.
    /// Refuses a folder that exists and is not empty.
    public static func initialize(
        directory: DataDirectory, origin: String?, clock: @escaping WallClock = systemClock
    )
        async throws(TemoinError) -> Created
    {
        let origin = origin ?? randomOrigin()
        try validateOrigin(origin)
        if FileSystem.exists(directory.path) {
            guard FileSystem.isDirectory(directory.path) else {
                throw TemoinError(.initNotAFolder, "the data path exists and is not a folder", context: directory.path)
            }
            guard try FileSystem.list(directory.path).isEmpty else {
                throw TemoinError(
                    .initNotEmpty, "the data folder is not empty; choose a new or empty folder",
                    context: directory.path)
            }
        }
        try FileSystem.makeDirectories(directory.keysFolder)
        try FileSystem.makeDirectories(directory.path + "/blobs")

        let logKey = try Ed25519PrivateKey.generate()
        let exportKey = try P256PrivateKey.generate()
        let certificate = try Certificate.selfSigned(key: exportKey, commonName: "Temoin export " + origin)
        let deviceKey = try Ed25519PrivateKey.generate()
        try FileSystem.writeDurably(logKey.pem, to: directory.logKeyFile, replace: false)
        try FileSystem.writeDurably(exportKey.pem, to: directory.exportKeyFile, replace: false)
        try FileSystem.writeDurably(certificate.pem, to: directory.exportCertificateFile, mode: 0o644, replace: false)
        try FileSystem.writeDurably(deviceKey.pem, to: directory.ingestDeviceKeyFile, replace: false)
        try directory.createMasterKeyIfMissing()

        let writer = try await LedgerWriter(
            creating: directory, origin: origin, logKey: logKey,
            exportCertificate: certificate, clock: clock)
        let key = writer.verifierKey
        try FileSystem.writeDurably(
            Array((key.description + "\n").utf8), to: directory.verifierKeyFile, mode: 0o644, replace: false)
        let device = DeviceID.derive(publicKey: deviceKey.publicKey)
        do {
            _ = try await writer.append(EntryDraft(enrolling: device, publicKey: deviceKey.publicKey))
        } catch let e as TemoinError {
            throw e
        } catch {
            throw TemoinError(.initFailed, "could not enroll the ingest device: \(error)")
        }
        return Created(
            origin: origin, verifierKey: key, ingestDevice: device, exportCertificateSHA256: certificate.sha256)
    }
}
