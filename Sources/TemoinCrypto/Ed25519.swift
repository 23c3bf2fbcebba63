internal import CTemoinOpenSSL
public import TemoinCore

/// An Ed25519 private key (the log key, a device key).
public struct Ed25519PrivateKey: Sendable {
    let key: PKey

    public static func generate() throws(TemoinError) -> Ed25519PrivateKey {
        Ed25519PrivateKey(key: try PKey.generate(type: EVP_PKEY_ED25519))
    }

    init(key: PKey) {
        self.key = key
    }

    /// From the 32-byte RFC 8032 seed.
    public init(seed: [UInt8]) throws(TemoinError) {
        guard seed.count == 32 else { throw TemoinError(.keyBadSeed, "an Ed25519 seed has 32 bytes") }
        guard let k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else {
            throw OpenSSL.error("load an Ed25519 seed")
        }
        key = PKey(k)
    }

    /// From a PEM private key file's contents.
    public init(pem: [UInt8]) throws(TemoinError) {
        key = try PKey.privateKey(pem: pem, type: EVP_PKEY_ED25519, what: "Ed25519")
    }

    public var pem: [UInt8] { get throws(TemoinError) { try key.privatePEM } }
    public var publicKeyPEM: [UInt8] { get throws(TemoinError) { try key.publicPEM } }

    /// The raw 32-byte public key.
    public var publicKey: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        precondition(
            EVP_PKEY_get_raw_public_key(key.pointer, &out, &length) == 1 && length == 32,
            "an Ed25519 key always has a raw public key")
        return out
    }

    public func sign(_ message: [UInt8]) throws(TemoinError) -> [UInt8] {
        try key.sign(message)
    }
}

/// Ed25519 verification through OpenSSL, strict: keys and signatures that are not canonical or
/// whose points have small order are refused before OpenSSL sees them (`Ed25519Encoding`).
public struct Ed25519: Ed25519Verifying {
    public init() {}

    public func isValid(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard Ed25519Encoding.isAcceptablePublicKey(publicKey), Ed25519Encoding.isAcceptableSignature(signature),
            let k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, 32)
        else {
            OpenSSL.clearErrors()
            return false
        }
        return PKey(k).verify(signature, of: message)
    }

    /// Reads a PEM public key (SubjectPublicKeyInfo) and returns its raw 32 bytes.
    public static func publicKey(pem: [UInt8]) throws(TemoinError) -> [UInt8] {
        let key = try OpenSSL.readPEM(pem, "read an Ed25519 public key") { bio, argument in
            PEM_read_bio_PUBKEY(bio, nil, refusePassphrase, argument).map(PKey.init)
        }
        guard EVP_PKEY_get_base_id(key.pointer) == EVP_PKEY_ED25519 else {
            throw TemoinError(.keyWrongType, "the file does not hold an Ed25519 public key")
        }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key.pointer, &out, &length) == 1, length == 32 else {
            throw OpenSSL.error("read an Ed25519 public key", category: .unusableInput)
        }
        return out
    }
}

/// The log's note signer: an Ed25519 key under the log's origin as key name.
public struct Ed25519NoteSigner: NoteSigner {
    public let verifierKey: VerifierKey
    let privateKey: Ed25519PrivateKey

    public init(name: String, privateKey: Ed25519PrivateKey) throws(TemoinError) {
        self.privateKey = privateKey
        verifierKey = try VerifierKey(name: name, publicKey: privateKey.publicKey, hash: SHA256())
    }

    public func sign(_ message: [UInt8]) throws(TemoinError) -> [UInt8] {
        try privateKey.sign(message)
    }
}

extension VerifierKey {
    /// Parses `name+keyid+base64` with OpenSSL's SHA-256 for the key-id rule.
    public init(parsing text: some StringProtocol) throws(TemoinError) {
        try self.init(parsing: text, hash: SHA256())
    }
}
