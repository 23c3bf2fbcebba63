import TemoinCore

/// Pseudonymous device ids: the first 16 bytes of SHA-256 of the raw Ed25519 public key, in hex.
public enum DeviceID {
    public static func derive(publicKey: [UInt8]) -> String {
        Hex.encode(SHA256.hash(publicKey).bytes.prefix(16))
    }
}
