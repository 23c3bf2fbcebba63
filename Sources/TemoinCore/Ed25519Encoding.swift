/// Strict Ed25519 encodings (RFC 8032 §5.1.7 with the checks libraries disagree on made explicit).
///
/// OpenSSL verifies RFC 8032 signatures but accepts public keys of small order: with the identity
/// point as its key, one fixed signature (R = identity, S = 0) verifies *every* message. Témoin
/// therefore refuses, before OpenSSL ever sees them:
/// - a public key or a signature's R that is not a canonical encoding (its y coordinate ≥ p);
/// - a public key or R of small order (one of the 8 points of the 8-torsion subgroup, in any
///   encoding, canonical or not);
/// - a signature whose S is not reduced (S ≥ L).
public enum Ed25519Encoding {
    /// y coordinates (little-endian, sign bit cleared) of the 8 small-order points, and the
    /// non-canonical encodings p and p + 1 of 0 and 1. Derived from the curve equation: y = 1
    /// (identity), y = p − 1 (order 2), y = 0 (order 4) and the two y of order 8, the roots of
    /// d·y⁴ + 2·y² − 1 = 0 (see Docs/security.md); they match the lists of libsodium and others.
    static let smallOrderY: [[UInt8]] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ].map { Hex.decode($0)! }

    /// p = 2^255 − 19, little-endian.
    static let p: [UInt8] = Hex.decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")!
    /// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    static let l: [UInt8] = Hex.decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")!

    /// `a < b` for 32-byte little-endian integers.
    static func lessThan(_ a: some Collection<UInt8>, _ b: [UInt8]) -> Bool {
        let x = Array(a)
        for i in stride(from: 31, through: 0, by: -1) where x[i] != b[i] {
            return x[i] < b[i]
        }
        return false
    }

    /// The y coordinate of a point encoding (sign bit of x cleared).
    static func y(_ point: [UInt8]) -> [UInt8] {
        var y = point
        y[31] &= 0x7f
        return y
    }

    /// A point encoding whose y is reduced (< p).
    public static func isCanonicalPoint(_ point: [UInt8]) -> Bool {
        point.count == 32 && lessThan(y(point), p)
    }

    /// One of the 8 points of small order, in any of its encodings.
    public static func hasSmallOrder(_ point: [UInt8]) -> Bool {
        point.count == 32 && smallOrderY.contains(y(point))
    }

    /// A public key Témoin accepts: 32 bytes, canonical, not of small order.
    public static func isAcceptablePublicKey(_ key: [UInt8]) -> Bool {
        isCanonicalPoint(key) && !hasSmallOrder(key)
    }

    /// A signature Témoin accepts before verifying it: 64 bytes, R canonical and not of small
    /// order, S reduced modulo L.
    public static func isAcceptableSignature(_ signature: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        let r = Array(signature[0..<32])
        return isCanonicalPoint(r) && !hasSmallOrder(r) && lessThan(signature[32..<64], l)
    }
}
