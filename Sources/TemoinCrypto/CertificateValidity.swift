internal import CTemoinOpenSSL
#if canImport(Glibc)
import Glibc
#endif
public import TemoinCore

/// A certificate's validity period, so keys are never installed outside it and signatures are
/// judged at the time the log recorded (Docs/export.md).
extension Certificate {
    /// notBefore and notAfter, in seconds since 1970 (UTC).
    public var validity: (notBefore: Int64, notAfter: Int64) {
        get throws(TemoinError) {
            let x = try parsed()
            defer { X509_free(x) }
            return (try Certificate.seconds(X509_get0_notBefore(x)), try Certificate.seconds(X509_get0_notAfter(x)))
        }
    }

    /// Whether the certificate is valid at `time` (seconds since 1970).
    public func isValid(atSecondsSinceEpoch time: Int64) throws(TemoinError) -> Bool {
        let v = try validity
        return v.notBefore <= time && time <= v.notAfter
    }

    static func seconds(_ t: UnsafePointer<ASN1_TIME>?) throws(TemoinError) -> Int64 {
        var tm = tm()
        guard let t, ASN1_TIME_to_tm(t, &tm) == 1 else {
            throw OpenSSL.error("read a certificate's validity", category: .unusableInput)
        }
        return Int64(timegm(&tm))
    }

    /// A self-signed export certificate with an explicit validity period (seconds since 1970):
    /// for operators' tests of expiry; `selfSigned(key:commonName:)` is what `temoin init` uses.
    public static func selfSigned(
        key: P256PrivateKey, commonName: String, notBefore: Int64, notAfter: Int64
    ) throws(TemoinError) -> Certificate {
        let base = try selfSigned(key: key, commonName: commonName)
        let x = try base.parsed()
        defer { X509_free(x) }
        guard ASN1_TIME_set(X509_getm_notBefore(x), time_t(notBefore)) != nil,
            ASN1_TIME_set(X509_getm_notAfter(x), time_t(notAfter)) != nil
        else {
            throw OpenSSL.error("set the validity period")
        }
        guard X509_sign(x, key.key.pointer, EVP_sha256()) > 0 else { throw OpenSSL.error("sign the certificate") }
        return try Certificate(der: encodeDER(x))
    }
}
