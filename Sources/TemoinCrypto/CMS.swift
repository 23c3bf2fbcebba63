internal import CTemoinOpenSSL
public import TemoinCore

/// CMS (RFC 5652) detached signatures of export manifests: SignedData, binary content, DER,
/// SHA-256, one signer (the export key), its certificate embedded, no S/MIME capabilities.
/// `openssl cms -verify -binary -inform DER -in m.p7s -content m -CAfile export-cert.pem` checks it.
public enum CMS {
    /// Signs `content` (detached): the DER bytes of the `.p7s`.
    public static func sign(
        _ content: [UInt8], key: P256PrivateKey, certificate: Certificate
    ) throws(TemoinError) -> [UInt8] {
        let cert = try certificate.parsed()
        defer { X509_free(cert) }
        return try OpenSSL.withBIO(content) { data throws(TemoinError) in
            let flags = UInt32(CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP)
            guard let cms = CMS_sign(cert, key.key.pointer, nil, data, flags) else {
                throw OpenSSL.error("make the CMS signature")
            }
            defer { CMS_ContentInfo_free(cms) }
            return try OpenSSL.withWriteBIO { out throws(TemoinError) in
                try OpenSSL.check(i2d_CMS_bio(out, cms), "encode the CMS signature")
            }
        }
    }

    /// What a `.p7s` holds, read by OpenSSL.
    public struct Inspection: Sendable {
        public let signerCount: Int
        public let certificates: [Certificate]
        public let isDetached: Bool
        public let contentTypeIsData: Bool
        public let crlCount: Int
    }

    /// Verifies `signature` over `content` with `certificate` as the only trust anchor, and
    /// returns what the blob holds so a verifier can insist on the exact expected structure.
    public static func verify(
        _ signature: [UInt8], content: [UInt8], trusting certificate: Certificate
    ) throws(TemoinError) -> Inspection {
        let cms: OpaquePointer = try OpenSSL.withBIO(signature) { bio throws(TemoinError) in
            guard let c = d2i_CMS_bio(bio, nil) else {
                throw OpenSSL.error("read the CMS signature", category: .invalidEvidence)
            }
            return c
        }
        defer { CMS_ContentInfo_free(cms) }
        guard let store = X509_STORE_new() else { throw OpenSSL.error("create a certificate store") }
        defer { X509_STORE_free(store) }
        let anchor = try certificate.parsed()
        defer { X509_free(anchor) }
        try OpenSSL.check(X509_STORE_add_cert(store, anchor), "trust the export certificate")
        let ok = try OpenSSL.withBIO(content) { data throws(TemoinError) in
            CMS_verify(cms, nil, store, data, nil, UInt32(CMS_BINARY)) == 1
        }
        guard ok else {
            throw OpenSSL.error("verify the CMS signature", category: .invalidEvidence)
        }
        return try inspect(cms)
    }
}
