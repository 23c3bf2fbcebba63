internal import CTemoinOpenSSL
public import TemoinCore

/// SHA-256 through OpenSSL's EVP interface.
public struct SHA256: SHA256Function {
    public init() {}

    public func sha256(_ data: [UInt8]) -> Hash {
        SHA256.hash(data)
    }

    public static func hash(_ data: some ContiguousBytes) -> Hash {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) cannot fail on valid input")
        return Hash(out)!
    }

    /// The Merkle hasher of RFC 9162 on OpenSSL's SHA-256.
    public static let merkle = MerkleHasher(SHA256())
}

/// Byte containers hashed without copying.
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}

/// Incremental SHA-256 for data that does not fit in memory (files, streams).
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(SHA-256) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ data: some ContiguousBytes) {
        data.withUnsafeBytes { raw in
            precondition(EVP_DigestUpdate(context, raw.baseAddress, raw.count) == 1, "EVP_DigestUpdate failed")
        }
    }

    public func update(_ raw: UnsafeRawBufferPointer) {
        precondition(EVP_DigestUpdate(context, raw.baseAddress, raw.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The digest of everything given so far; the stream must not be used afterwards.
    public func finalize() -> Hash {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return Hash(out)!
    }
}
