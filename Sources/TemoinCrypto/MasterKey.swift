public import TemoinCore

/// What wraps and unwraps alert keys: the master key, kept outside the database (Docs/storage.md,
/// "Keys"). The default is a file (`keys/master.key`, `FileMasterKey`); a PKCS#11 token (an HSM)
/// fits behind the same two calls — `C_WrapKey`/`C_UnwrapKey`, or `C_Encrypt`/`C_Decrypt` with
/// CKM_AES_GCM and the same additional data — so the master key never leaves it.
public protocol MasterKey: Sendable {
    /// Names the master key (stored beside every key it wraps, so a wrong one is named).
    var id: String { get }
    /// Wraps a key, bound to what it protects (an alert's audio, a device's contacts).
    func wrap(_ key: SymmetricKey, for owner: KeyOwner) throws(TemoinError) -> [UInt8]
    /// Unwraps a key; `keys.unwrap-failed` if it was not wrapped by this master key for this
    /// owner, or was changed.
    func unwrap(_ wrapped: [UInt8], for owner: KeyOwner) throws(TemoinError) -> SymmetricKey
}

/// What a wrapped key protects, bound into its wrapping (a wrapped key moved to another owner
/// does not open).
public enum KeyOwner: Sendable, Equatable, CustomStringConvertible {
    /// An alert's blobs and fan-out messages: additional data `temoin/alert-key/v1\n` and the id.
    case alert(AlertID)
    /// A device's trusted contacts: additional data `temoin/device-key/v1\n` and the id.
    case device(DeviceID)

    var additionalData: [UInt8] {
        switch self {
        case .alert(let id): return Array("temoin/alert-key/v1\n\(id)".utf8)
        case .device(let id): return Array("temoin/device-key/v1\n\(id)".utf8)
        }
    }

    public var description: String {
        switch self {
        case .alert(let id): return "alert \(id)"
        case .device(let id): return "device \(id)"
        }
    }
}

extension MasterKey {
    /// Wraps an alert's key, bound to that alert.
    public func wrap(_ key: SymmetricKey, alert: AlertID) throws(TemoinError) -> [UInt8] {
        try wrap(key, for: .alert(alert))
    }

    /// Unwraps an alert's key.
    public func unwrap(_ wrapped: [UInt8], alert: AlertID) throws(TemoinError) -> SymmetricKey {
        try unwrap(wrapped, for: .alert(alert))
    }
}

/// A master key held in memory: AES-256-GCM key wrapping. A wrapped key is 61 bytes: version
/// 0x01, a random 96-bit nonce, the 32 encrypted key bytes, the 16-byte tag; the additional data is
/// `temoin/alert-key/v1\n` and the alert id, so a wrapped key moved to another alert fails.
public struct SoftwareMasterKey: MasterKey {
    private let key: SymmetricKey
    public let id: String

    public init(key: SymmetricKey) {
        self.key = key
        id = "aes256:" + Hex.encode(SHA256.hash(Array("temoin/master-key-id/v1\n".utf8) + key.bytes).bytes.prefix(8))
    }

    public func wrap(_ ownKey: SymmetricKey, for owner: KeyOwner) throws(TemoinError) -> [UInt8] {
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let sealed = try AESGCM(key: key, encrypting: true).seal(
            nonce: nonce, aad: owner.additionalData, ownKey.bytes)
        return [1] + nonce + sealed
    }

    public func unwrap(_ wrapped: [UInt8], for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        guard wrapped.count == 1 + AESGCM.nonceSize + SymmetricKey.size + AESGCM.tagSize, wrapped[0] == 1,
            let bytes = try AESGCM(key: key, encrypting: false).open(
                nonce: Array(wrapped[1...AESGCM.nonceSize]), aad: owner.additionalData,
                Array(wrapped[(1 + AESGCM.nonceSize)...]))
        else {
            throw TemoinError(
                .keysUnwrapFailed,
                "the master key (\(id)) does not open the key of \(owner): another master key, or a changed row")
        }
        return try SymmetricKey(bytes)
    }
}
