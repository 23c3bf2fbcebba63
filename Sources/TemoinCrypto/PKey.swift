internal import CTemoinOpenSSL
import TemoinCore

/// Owns one EVP_PKEY. A key is never modified after it is made, and OpenSSL lets several
/// threads sign and verify with one EVP_PKEY at once (each operation has its own context),
/// hence `@unchecked Sendable`.
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// Generates a key of the given type (EVP_PKEY_ED25519, or EVP_PKEY_EC with a curve).
    static func generate(type: Int32, curve: Int32? = nil) throws(TemoinError) -> PKey {
        guard let ctx = EVP_PKEY_CTX_new_id(type, nil) else { throw OpenSSL.error("create a key context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try OpenSSL.check(EVP_PKEY_keygen_init(ctx), "start key generation")
        if let curve {
            try OpenSSL.check(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, curve), "select the elliptic curve")
        }
        var key: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_keygen(ctx, &key), "generate a key")
        guard let key else { throw OpenSSL.error("generate a key") }
        return PKey(key)
    }

    /// Reads a PEM private key (PKCS#8 or traditional) of the expected type.
    static func privateKey(pem: [UInt8], type: Int32, what: String) throws(TemoinError) -> PKey {
        let key = try OpenSSL.readPEM(pem, "read the \(what) private key") { bio, argument in
            PEM_read_bio_PrivateKey(bio, nil, refusePassphrase, argument).map(PKey.init)
        }
        guard EVP_PKEY_get_base_id(key.pointer) == type else {
            throw TemoinError(.keyWrongType, "the file does not hold an \(what) private key")
        }
        return key
    }

    /// PKCS#8 PEM, unencrypted (the file is protected by its permissions).
    var privatePEM: [UInt8] {
        get throws(TemoinError) {
            try OpenSSL.withWriteBIO { bio throws(TemoinError) in
                try OpenSSL.check(
                    PEM_write_bio_PKCS8PrivateKey(bio, pointer, nil, nil, 0, nil, nil), "write a private key")
            }
        }
    }

    /// SubjectPublicKeyInfo PEM.
    var publicPEM: [UInt8] {
        get throws(TemoinError) {
            try OpenSSL.withWriteBIO { bio throws(TemoinError) in
                try OpenSSL.check(PEM_write_bio_PUBKEY(bio, pointer), "write a public key")
            }
        }
    }

    /// One-shot signature (Ed25519 takes no digest; ECDSA uses `digest`).
    func sign(_ message: [UInt8], digest: OpaquePointer? = nil) throws(TemoinError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSL.error("create a signing context") }
        defer { EVP_MD_CTX_free(ctx) }
        try OpenSSL.check(EVP_DigestSignInit(ctx, nil, digest, nil, pointer), "start signing")
        var length = 0
        try OpenSSL.check(EVP_DigestSign(ctx, nil, &length, message, message.count), "size a signature")
        var signature = [UInt8](repeating: 0, count: length)
        try OpenSSL.check(EVP_DigestSign(ctx, &signature, &length, message, message.count), "sign")
        return Array(signature.prefix(length))
    }

    func verify(_ signature: [UInt8], of message: [UInt8], digest: OpaquePointer? = nil) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, digest, nil, pointer) == 1 else {
            OpenSSL.clearErrors()
            return false
        }
        let ok = EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
        if !ok { OpenSSL.clearErrors() }
        return ok
    }
}
