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
    /// Unwraps a key stored beside `master`, the id of the master key that wrapped it (a
    /// `MasterKeyRing` picks its key by that id); `keys.unwrap-failed` if none has that id.
    func unwrap(_ wrapped: [UInt8], master: String, for owner: KeyOwner) throws(TemoinError) -> SymmetricKey
    /// Forgets the key's bytes held in memory (a software key overwrites them; every later use
    /// fails). A key held in an HSM has none here.
    func destroy()
}

extension MasterKey {
    public func unwrap(_ wrapped: [UInt8], master: String, for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        guard master == id else {
            throw TemoinError(
                .keysUnwrapFailed,
                "the key of \(owner) was wrapped by master key \(master), not by this one (\(id))")
        }
        return try unwrap(wrapped, for: owner)
    }

    public func destroy() {}
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
/// the owner's (`KeyOwner`), so a wrapped key moved to another alert or device fails.
///
/// Its `id` is `aes256:` and the first 8 bytes, in hex, of SHA-256(`temoin/master-key-id/v1\n` ‖
/// the 32 key bytes): a one-way, domain-separated hash, so the id names a key without revealing
/// anything usable about it (finding the key from it means inverting SHA-256, or trying 2^256
/// keys); 64 bits keep ids of different keys apart. The bytes live in `SecretBytes` and are
/// overwritten by `destroy()` (a master-key rotation destroys the old key).
public struct SoftwareMasterKey: MasterKey {
    private let secret: SecretBytes
    public let id: String

    public init(key: SymmetricKey) {
        // 32 bytes, checked by SymmetricKey: the copy cannot fail.
        self.init(secret: try! SecretBytes(copying: key.bytes))
    }

    /// Holds `secret` (32 bytes) as the master key; `destroy()` overwrites it.
    public init(secret: SecretBytes) {
        precondition(secret.count == SymmetricKey.size, "a master key has 32 bytes")
        self.secret = secret
        id = (try? secret.withBytes { raw throws(TemoinError) in Self.id(of: raw) }) ?? "aes256:destroyed"
    }

    /// The id of a master key's 32 bytes (see the type's documentation).
    public static func id(of key: UnsafeRawBufferPointer) -> String {
        let hash = SHA256Stream()
        hash.update(Array("temoin/master-key-id/v1\n".utf8))
        hash.update(key)
        return "aes256:" + Hex.encode(hash.finalize().bytes.prefix(8))
    }

    public func wrap(_ ownKey: SymmetricKey, for owner: KeyOwner) throws(TemoinError) -> [UInt8] {
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let cipher = try secret.withBytes { raw throws(TemoinError) in try AESGCM(keyBytes: raw, encrypting: true) }
        let sealed = try cipher.seal(nonce: nonce, aad: owner.additionalData, ownKey.bytes)
        return [1] + nonce + sealed
    }

    public func unwrap(_ wrapped: [UInt8], for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        let cipher = try secret.withBytes { raw throws(TemoinError) in try AESGCM(keyBytes: raw, encrypting: false) }
        guard wrapped.count == 1 + AESGCM.nonceSize + SymmetricKey.size + AESGCM.tagSize, wrapped[0] == 1,
            let bytes = try cipher.open(
                nonce: Array(wrapped[1...AESGCM.nonceSize]), aad: owner.additionalData,
                Array(wrapped[(1 + AESGCM.nonceSize)...]))
        else {
            throw TemoinError(
                .keysUnwrapFailed,
                "the master key (\(id)) does not open the key of \(owner): another master key, or a changed row")
        }
        return try SymmetricKey(bytes)
    }

    /// Runs `body` with the key's bytes (to write them to a file: a rotation's new key, `--keep-old`).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(TemoinError) -> R) throws(TemoinError) -> R {
        try secret.withBytes(body)
    }

    public func destroy() { secret.destroy() }
}

/// The master keys of a data folder (Docs/storage.md, "Rotating the master key"): the current one
/// (`keys/master.key`) and, while a rotation is under way, the next (`keys/master.key.next`). Each
/// wrapped key is stored beside the id of the master key that wrapped it, and is unwrapped by the
/// key of that id, so a folder left between the two steps of a rotation opens whichever key its
/// rows name. New keys are wrapped by the key the ledger names: the next one once the rotation's
/// transaction is committed (its `key.rotated` entry names it), else the current one.
public struct MasterKeyRing: MasterKey {
    public let current: any MasterKey
    public let next: (any MasterKey)?
    /// The key that wraps new keys.
    public let wrapper: any MasterKey

    /// `committed`: the id of the master key the ledger names (its latest `key.rotated … master`),
    /// if any; the next key wraps only if it is that one.
    public init(current: any MasterKey, next: (any MasterKey)? = nil, committed: String? = nil) {
        self.current = current
        self.next = next
        if let next, next.id == committed, current.id != committed {
            wrapper = next
        } else {
            wrapper = current
        }
    }

    public var id: String { wrapper.id }
    /// The ids of the keys held, current first.
    public var ids: [String] { [current.id] + (next.map { [$0.id] } ?? []) }

    /// The key of this id, if the ring holds it.
    public func key(id: String) -> (any MasterKey)? {
        if current.id == id { return current }
        if let next, next.id == id { return next }
        return nil
    }

    public func wrap(_ key: SymmetricKey, for owner: KeyOwner) throws(TemoinError) -> [UInt8] {
        try wrapper.wrap(key, for: owner)
    }

    /// Without the row's master id: the wrapping key, then the other (AES-GCM tells them apart).
    public func unwrap(_ wrapped: [UInt8], for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        do throws(TemoinError) {
            return try wrapper.unwrap(wrapped, for: owner)
        } catch {
            guard let other = wrapper.id == current.id ? next : Optional(current) else { throw error }
            return try other.unwrap(wrapped, for: owner)
        }
    }

    public func unwrap(_ wrapped: [UInt8], master: String, for owner: KeyOwner) throws(TemoinError) -> SymmetricKey {
        guard let key = key(id: master) else {
            throw TemoinError(
                .keysUnwrapFailed,
                "the key of \(owner) was wrapped by master key \(master), which this folder does not hold "
                    + "(it holds \(ids.joined(separator: " and ")))")
        }
        return try key.unwrap(wrapped, for: owner)
    }

    public func destroy() {
        current.destroy()
        next?.destroy()
    }
}
