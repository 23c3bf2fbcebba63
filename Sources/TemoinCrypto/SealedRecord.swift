public import TemoinCore

/// A small record sealed with AES-256-GCM (contacts, the person's name, outbox messages):
/// version 0x01, a random 96-bit nonce, the ciphertext, the 16-byte tag. The additional data
/// binds it to what it is (a record moved to another row does not open).
public enum SealedRecord {
    public static func seal(_ plain: [UInt8], key: SymmetricKey, aad: [UInt8]) throws(TemoinError) -> [UInt8] {
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        return [1] + nonce + (try AESGCM(key: key, encrypting: true).seal(nonce: nonce, aad: aad, plain))
    }

    /// `keys.unwrap-failed` naming `what` if it does not open (another key, a changed row).
    public static func open(
        _ sealed: [UInt8], key: SymmetricKey, aad: [UInt8], what: String
    ) throws(TemoinError)
        -> [UInt8]
    {
        guard sealed.count >= 1 + AESGCM.nonceSize + AESGCM.tagSize, sealed[0] == 1,
            let plain = try AESGCM(key: key, encrypting: false).open(
                nonce: Array(sealed[1...AESGCM.nonceSize]), aad: aad, Array(sealed[(1 + AESGCM.nonceSize)...]))
        else {
            throw TemoinError(.keysUnwrapFailed, "\(what) does not open with its key: another key, or a changed row")
        }
        return plain
    }
}
