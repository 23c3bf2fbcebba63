public import TemoinCore

extension DeviceID {
    /// A device's pseudonymous id: the first 16 bytes of SHA-256 of its raw Ed25519 public key.
    public static func derive(publicKey: [UInt8]) -> DeviceID {
        DeviceID(bytes: SHA256.hash(publicKey).bytes.prefix(16))!
    }
}
