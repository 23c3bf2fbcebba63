internal import CTemoinOpenSSL

/// SHA-1 through OpenSSL's EVP interface, for a provider's protocol that requires it (the OVHcloud
/// API's request signature) and nothing else: SHA-1 is broken for collisions, so no Témoin format
/// hashes with it.
public enum SHA1 {
    public static let byteCount = 20

    /// The 20-byte digest.
    public static func hash(_ data: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha1(), nil)
        }
        precondition(ok == 1 && length == UInt32(byteCount), "EVP_Digest(SHA-1) cannot fail on valid input")
        return out
    }
}
