internal import CTemoinOpenSSL
public import TemoinCore

/// An ECDSA P-256 private key: the export key, which signs CMS manifests.
public struct P256PrivateKey: Sendable {
    let key: PKey

    public static func generate() throws(TemoinError) -> P256PrivateKey {
        P256PrivateKey(key: try PKey.generate(type: EVP_PKEY_EC, curve: NID_X9_62_prime256v1))
    }

    init(key: PKey) {
        self.key = key
    }

    public init(pem: [UInt8]) throws(TemoinError) {
        key = try PKey.privateKey(pem: pem, type: EVP_PKEY_EC, what: "ECDSA")
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key.pointer, &name, name.count, &length) == 1,
            String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "prime256v1"
        else {
            OpenSSL.clearErrors()
            throw TemoinError(.keyWrongCurve, "the export key must be on the P-256 curve")
        }
    }

    public var pem: [UInt8] { get throws(TemoinError) { try key.privatePEM } }
}

/// An X.509 certificate, kept as its exact DER bytes.
public struct Certificate: Sendable, Hashable {
    public let der: [UInt8]

    public init(der: [UInt8]) throws(TemoinError) {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        guard let parsed else { throw OpenSSL.error("read a certificate", category: .unusableInput) }
        X509_free(parsed)
        self.der = der
    }

    /// From PEM text holding exactly one certificate.
    public init(pem: [UInt8]) throws(TemoinError) {
        let x = try OpenSSL.readPEM(pem, "read a PEM certificate") { bio, argument in
            PEM_read_bio_X509(bio, nil, refusePassphrase, argument)
        }
        defer { X509_free(x) }
        let der = try Certificate.encodeDER(x)
        try self.init(der: der)
    }

    public var pem: [UInt8] {
        get throws(TemoinError) {
            let x = try parsed()
            defer { X509_free(x) }
            return try OpenSSL.withWriteBIO { bio throws(TemoinError) in
                try OpenSSL.check(PEM_write_bio_X509(bio, x), "write a PEM certificate")
            }
        }
    }

    /// Whether `key` is the private key of this certificate's public key.
    public func matches(_ key: P256PrivateKey) throws(TemoinError) -> Bool {
        let x = try parsed()
        defer { X509_free(x) }
        guard let pub = X509_get0_pubkey(x) else { return false }
        return EVP_PKEY_eq(pub, key.key.pointer) == 1
    }

    /// Whether keyUsage allows digital signatures (or the extension is absent).
    public var allowsDigitalSignature: Bool {
        get throws(TemoinError) {
            let x = try parsed()
            defer { X509_free(x) }
            return X509_get_key_usage(x) & UInt32(KU_DIGITAL_SIGNATURE) != 0
        }
    }

    /// SHA-256 of the DER encoding: the fingerprint the ledger records.
    public var sha256: Hash { SHA256.hash(der) }

    /// A self-signed certificate for an export key: keyUsage digitalSignature + nonRepudiation
    /// (critical), CA:FALSE, SHA-256 ECDSA signature.
    public static func selfSigned(
        key: P256PrivateKey, commonName: String, organization: String = "Temoin",
        validityDays: Int = 3650
    ) throws(TemoinError) -> Certificate {
        guard let x = X509_new() else { throw OpenSSL.error("create a certificate") }
        defer { X509_free(x) }
        try OpenSSL.check(X509_set_version(x, 2), "set the certificate version")
        var serial = [UInt8](repeating: 0, count: 8)
        try OpenSSL.check(RAND_bytes(&serial, 8), "draw a serial number")
        let serialValue = serial.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & 0x7fff_ffff_ffff_ffff
        try OpenSSL.check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serialValue), "set the serial number")
        guard X509_gmtime_adj(X509_getm_notBefore(x), 0) != nil,
            X509_time_adj_ex(X509_getm_notAfter(x), Int32(validityDays), 0, nil) != nil
        else {
            throw OpenSSL.error("set the validity period")
        }
        try OpenSSL.check(X509_set_pubkey(x, key.key.pointer), "set the public key")
        let name = X509_get_subject_name(x)
        for (field, value) in [("O", organization), ("CN", commonName)] {
            try OpenSSL.check(
                X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, value, -1, -1, 0), "set the subject")
        }
        try OpenSSL.check(X509_set_issuer_name(x, name), "set the issuer")
        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, x, x, nil, nil, 0)
        for (nid, value) in [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature,nonRepudiation"),
            (NID_subject_key_identifier, "hash"),
        ] {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else {
                throw OpenSSL.error("make a certificate extension")
            }
            defer { X509_EXTENSION_free(ext) }
            try OpenSSL.check(X509_add_ext(x, ext, -1), "add a certificate extension")
        }
        guard X509_sign(x, key.key.pointer, EVP_sha256()) > 0 else { throw OpenSSL.error("sign the certificate") }
        return try Certificate(der: encodeDER(x))
    }

    func parsed() throws(TemoinError) -> OpaquePointer {
        let x: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        guard let x else { throw OpenSSL.error("read a certificate", category: .unusableInput) }
        return x
    }

    static func encodeDER(_ x: OpaquePointer) throws(TemoinError) -> [UInt8] {
        let length = i2d_X509(x, nil)
        guard length > 0 else { throw OpenSSL.error("encode a certificate") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buf -> Int32 in
            var p = buf.baseAddress
            return i2d_X509(x, &p)
        }
        guard written == length else { throw OpenSSL.error("encode a certificate") }
        return der
    }
}
