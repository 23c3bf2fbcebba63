internal import CTemoinOpenSSL
public import TemoinCore

/// CMS checked as evidence (Docs/export.md): the signer's certificate is pinned (trusted by itself,
/// no CA store, partial chains allowed) and its validity is judged at a given time — the time the
/// log recorded the export — never at today's clock; and every part of the blob that no signature
/// covers is reported, so a verifier can insist on the exact expected structure.
extension CMS {
    /// What a `.p7s` holds beyond `Inspection`: the parts no signature covers.
    public struct Structure: Sendable {
        /// OIDs (dotted) of the signer's signed attributes, in order.
        public let signedAttributes: [String]
        /// Whether every signed attribute holds exactly one value.
        public let signedAttributesSingleValued: Bool
        /// Number of unsigned attributes (none expected).
        public let unsignedAttributeCount: Int
        /// Whether decoding and re-encoding gives back the exact bytes (DER, nothing after it).
        public let isCanonicalDER: Bool
        /// Digest and signature algorithms of the signer (short names, e.g. `SHA256`, `ecdsa-with-SHA256`).
        public let digestAlgorithm: String
        public let signatureAlgorithm: String
        /// The signingTime attribute, in seconds since 1970 (nil if absent or unreadable).
        public let signingTime: Int64?
    }

    /// Verifies `signature` over `content` with `certificate` as the only trust anchor, judging the
    /// certificate's validity at `time` (seconds since 1970), and reports the blob's structure.
    public static func verify(
        _ signature: [UInt8], content: [UInt8], pinned certificate: Certificate,
        atSecondsSinceEpoch time: Int64
    ) throws(TemoinError) -> (Inspection, Structure) {
        let cms: OpaquePointer = try OpenSSL.withBIO(signature) { bio throws(TemoinError) in
            guard let c = d2i_CMS_bio(bio, nil) else {
                throw OpenSSL.error("read the CMS signature", category: .invalidEvidence)
            }
            return c
        }
        defer { CMS_ContentInfo_free(cms) }
        let reencoded = try OpenSSL.withWriteBIO { out throws(TemoinError) in
            try OpenSSL.check(i2d_CMS_bio(out, cms), "encode the CMS signature")
        }
        guard let store = X509_STORE_new() else { throw OpenSSL.error("create a certificate store") }
        defer { X509_STORE_free(store) }
        let anchor = try certificate.parsed()
        defer { X509_free(anchor) }
        try OpenSSL.check(X509_STORE_add_cert(store, anchor), "trust the export certificate")
        let param = X509_STORE_get0_param(store)
        X509_VERIFY_PARAM_set_time(param, time_t(time))
        try OpenSSL.check(
            X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_PARTIAL_CHAIN)), "allow a pinned certificate")
        let ok = try OpenSSL.withBIO(content) { data throws(TemoinError) in
            CMS_verify(cms, nil, store, data, nil, UInt32(CMS_BINARY)) == 1
        }
        guard ok else { throw OpenSSL.error("verify the CMS signature", category: .invalidEvidence) }
        let inspection = try inspect(cms)

        var signed = [String](), single = true, unsigned = 0, digest = "", algorithm = ""
        var signingTime: Int64?
        if let infos = CMS_get0_SignerInfos(cms), OPENSSL_sk_num(infos) == 1, let raw = OPENSSL_sk_value(infos, 0) {
            let si = OpaquePointer(raw)
            for i in 0..<CMS_signed_get_attr_count(si) {
                guard let attribute = CMS_signed_get_attr(si, i) else { continue }
                let oid = objectText(X509_ATTRIBUTE_get0_object(attribute))
                signed.append(oid)
                if X509_ATTRIBUTE_count(attribute) != 1 { single = false }
                if oid == exportSignedAttributes[1], let value = X509_ATTRIBUTE_get0_type(attribute, 0),
                    [V_ASN1_UTCTIME, V_ASN1_GENERALIZEDTIME].contains(ASN1_TYPE_get(value))
                {
                    signingTime = try? Certificate.seconds(UnsafePointer(value.pointee.value.utctime))
                }
            }
            unsigned = Int(max(0, CMS_unsigned_get_attr_count(si)))
            var pdig: UnsafeMutablePointer<X509_ALGOR>?, psig: UnsafeMutablePointer<X509_ALGOR>?
            CMS_SignerInfo_get0_algs(si, nil, nil, &pdig, &psig)
            digest = algorithmName(pdig)
            algorithm = algorithmName(psig)
        }
        return (
            inspection,
            Structure(
                signedAttributes: signed, signedAttributesSingleValued: single, unsignedAttributeCount: unsigned,
                isCanonicalDER: reencoded == signature, digestAlgorithm: digest, signatureAlgorithm: algorithm,
                signingTime: signingTime)
        )
    }

    /// `sign(_:key:certificate:)` with a chosen signingTime (seconds since 1970): what an
    /// insider re-signing a manifest later would make; used to test that the verifier bounds it.
    public static func sign(
        _ content: [UInt8], key: P256PrivateKey, certificate: Certificate, signingTime: Int64
    ) throws(TemoinError) -> [UInt8] {
        let cert = try certificate.parsed()
        defer { X509_free(cert) }
        let flags = UInt32(CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL)
        guard let cms = CMS_sign(nil, nil, nil, nil, flags) else { throw OpenSSL.error("make the CMS signature") }
        defer { CMS_ContentInfo_free(cms) }
        guard let si = CMS_add1_signer(cms, cert, key.key.pointer, EVP_sha256(), flags) else {
            throw OpenSSL.error("add the CMS signer")
        }
        guard let time = ASN1_TIME_set(nil, time_t(signingTime)) else { throw OpenSSL.error("set the signing time") }
        defer { ASN1_TIME_free(time) }
        try OpenSSL.check(
            CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, time.pointee.type, time, -1), "set the signing time")
        return try OpenSSL.withBIO(content) { data throws(TemoinError) in
            try OpenSSL.check(CMS_final(cms, data, nil, flags), "make the CMS signature")
            return try OpenSSL.withWriteBIO { out throws(TemoinError) in
                try OpenSSL.check(i2d_CMS_bio(out, cms), "encode the CMS signature")
            }
        }
    }

    static func inspect(_ cms: OpaquePointer) throws(TemoinError) -> Inspection {
        var certificates = [Certificate]()
        if let stack = CMS_get1_certs(cms) {
            for i in 0..<OPENSSL_sk_num(stack) {
                if let x = OPENSSL_sk_value(stack, i) {
                    certificates.append(try Certificate(der: Certificate.encodeDER(OpaquePointer(x))))
                }
            }
            OPENSSL_sk_pop_free(stack) { X509_free(OpaquePointer($0)) }
        }
        let signers = CMS_get0_SignerInfos(cms).map { Int(OPENSSL_sk_num($0)) } ?? 0
        let crls =
            CMS_get1_crls(cms).map { stack -> Int in
                let n = Int(OPENSSL_sk_num(stack))
                OPENSSL_sk_pop_free(stack) { X509_CRL_free(OpaquePointer($0)) }
                return n
            } ?? 0
        return Inspection(
            signerCount: signers, certificates: certificates, isDetached: CMS_is_detached(cms) == 1,
            contentTypeIsData: OBJ_obj2nid(CMS_get0_eContentType(cms)) == NID_pkcs7_data, crlCount: crls)
    }

    static func objectText(_ object: OpaquePointer?) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let n = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
        guard n > 0, Int(n) < buffer.count else { return "?" }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func algorithmName(_ algorithm: UnsafeMutablePointer<X509_ALGOR>?) -> String {
        guard let algorithm else { return "" }
        var object: OpaquePointer?
        X509_ALGOR_get0(&object, nil, nil, algorithm)
        let nid = OBJ_obj2nid(object)
        guard nid != NID_undef, let name = OBJ_nid2sn(nid) else { return objectText(object) }
        return String(cString: name)
    }

    /// The signed attributes an export signature carries (OpenSSL 3 with `CMS_NOSMIMECAP`):
    /// contentType, signingTime, messageDigest; OpenSSL 3.2 and later also add
    /// cmsAlgorithmProtection, accepted in last place.
    public static let exportSignedAttributes = ["1.2.840.113549.1.9.3", "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.4"]
    public static let algorithmProtectionAttribute = "1.2.840.113549.1.9.52"
}
