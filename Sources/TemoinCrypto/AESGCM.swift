internal import CTemoinOpenSSL
public import TemoinCore

/// A 256-bit AES key, held in memory only (an alert key unwrapped, or the master key).
public struct SymmetricKey: Sendable, Equatable {
    public static let size = 32
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) throws(TemoinError) {
        guard bytes.count == SymmetricKey.size else {
            throw TemoinError(.keysBadSymmetricKey, "an AES-256 key has 32 bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// 32 bytes from OpenSSL's CSPRNG.
    public static func random() throws(TemoinError) -> SymmetricKey {
        try SymmetricKey(SecureRandom.bytes(SymmetricKey.size))
    }
}

/// OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    public static func bytes(_ count: Int) throws(TemoinError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count == 0 || RAND_bytes(&out, Int32(count)) == 1 else { throw OpenSSL.error("draw random bytes") }
        return out
    }
}

/// AES-256-GCM through OpenSSL's EVP interface, 96-bit nonces, 128-bit tags. One value keeps one
/// expanded key for many messages (each with its own nonce); one thread at a time.
public final class AESGCM {
    public static let nonceSize = 12
    public static let tagSize = 16

    private let context: OpaquePointer
    private let encrypting: Bool

    public convenience init(key: SymmetricKey, encrypting: Bool) throws(TemoinError) {
        try self.init(keyBytes: key.bytes, encrypting: encrypting)
    }

    /// From the key's 32 bytes wherever they are (a master key's `SecretBytes`): OpenSSL copies
    /// them into the context, which it clears when freed.
    public convenience init(keyBytes: some ContiguousBytes, encrypting: Bool) throws(TemoinError) {
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.error("allocate a cipher context") }
        self.init(context: context, encrypting: encrypting)
        let status = keyBytes.withUnsafeBytes { k in
            guard k.count == SymmetricKey.size else { return Int32(0) }
            let pointer = k.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return encrypting
                ? EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, pointer, nil)
                : EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, pointer, nil)
        }
        try OpenSSL.check(status, "set up AES-256-GCM")
    }

    private init(context: OpaquePointer, encrypting: Bool) {
        self.context = context
        self.encrypting = encrypting
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `input` into `output` (the same size) and returns the tag.
    public func seal(
        nonce: [UInt8], aad: [UInt8], _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(TemoinError) -> [UInt8] {
        precondition(encrypting && nonce.count == AESGCM.nonceSize && output.count >= input.count)
        try OpenSSL.check(EVP_EncryptInit_ex(context, nil, nil, nil, nonce), "set an AES-GCM nonce")
        var length: Int32 = 0
        if !aad.isEmpty {
            try OpenSSL.check(EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)), "add AES-GCM data")
        }
        if input.count > 0 {
            let status = EVP_EncryptUpdate(
                context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count))
            try OpenSSL.check(status, "encrypt with AES-GCM")
        }
        var tail = [UInt8](repeating: 0, count: 16)
        try OpenSSL.check(EVP_EncryptFinal_ex(context, &tail, &length), "finish AES-GCM")
        var tag = [UInt8](repeating: 0, count: AESGCM.tagSize)
        try OpenSSL.check(
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(AESGCM.tagSize), &tag), "read the AES-GCM tag")
        return tag
    }

    /// Decrypts `input` into `output` (the same size); false if the tag does not match (the key,
    /// nonce, data or ciphertext differ from what was sealed): nothing written may then be used.
    public func open(
        nonce: [UInt8], aad: [UInt8], _ input: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(TemoinError) -> Bool {
        precondition(!encrypting && nonce.count == AESGCM.nonceSize && output.count >= input.count)
        guard tag.count == AESGCM.tagSize else { return false }
        try OpenSSL.check(EVP_DecryptInit_ex(context, nil, nil, nil, nonce), "set an AES-GCM nonce")
        var length: Int32 = 0
        if !aad.isEmpty {
            try OpenSSL.check(EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count)), "add AES-GCM data")
        }
        if input.count > 0 {
            let status = EVP_DecryptUpdate(
                context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count))
            try OpenSSL.check(status, "decrypt with AES-GCM")
        }
        var expected = Array(tag)
        try OpenSSL.check(
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(AESGCM.tagSize), &expected),
            "set the AES-GCM tag")
        var tail = [UInt8](repeating: 0, count: 16)
        guard EVP_DecryptFinal_ex(context, &tail, &length) > 0 else {
            OpenSSL.clearErrors()
            return false
        }
        return true
    }

    /// One message sealed: ciphertext ‖ tag.
    public func seal(nonce: [UInt8], aad: [UInt8], _ plaintext: [UInt8]) throws(TemoinError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + AESGCM.tagSize)
        let count = plaintext.count
        let tag = try TypedBytes.read(plaintext) { input throws(TemoinError) in
            try TypedBytes.write(&out) { output throws(TemoinError) in
                try seal(nonce: nonce, aad: aad, input, into: UnsafeMutableRawBufferPointer(rebasing: output[..<count]))
            }
        }
        out.replaceSubrange(count..., with: tag)
        return out
    }

    /// One message opened (ciphertext ‖ tag), or nil if it does not authenticate.
    public func open(nonce: [UInt8], aad: [UInt8], _ sealed: [UInt8]) throws(TemoinError) -> [UInt8]? {
        guard sealed.count >= AESGCM.tagSize else { return nil }
        let count = sealed.count - AESGCM.tagSize
        var out = [UInt8](repeating: 0, count: count)
        let ok = try TypedBytes.read(sealed) { all throws(TemoinError) in
            try TypedBytes.write(&out) { output throws(TemoinError) in
                try open(
                    nonce: nonce, aad: aad, UnsafeRawBufferPointer(rebasing: all[..<count]),
                    tag: UnsafeRawBufferPointer(rebasing: all[count...]), into: output)
            }
        }
        return ok ? out : nil
    }
}

/// `Array.withUnsafeBytes` and its mutable twin rethrow untyped errors; these keep `TemoinError`.
package enum TypedBytes {
    package static func read<R>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(TemoinError) -> R
    ) throws(TemoinError) -> R {
        let result: Result<R, TemoinError> = bytes.withUnsafeBytes { raw in
            Result { () throws(TemoinError) in try body(raw) }
        }
        return try result.get()
    }

    package static func write<R>(
        _ bytes: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(TemoinError) -> R
    ) throws(TemoinError) -> R {
        let result: Result<R, TemoinError> = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(TemoinError) in try body(raw) }
        }
        return try result.get()
    }
}
