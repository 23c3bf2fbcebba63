import TemoinCore
import TemoinCrypto

/// Fixed keys and a small genuine log, the same in every run, so that committed seeds stay
/// valid and a target can tell a genuine signed input from a forged one. Test keys only: they
/// sign nothing outside the fuzz targets and their seeds.
enum Fixtures {
    static let origin = "fuzz.example/temoin"
    static let alert = AlertID("7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e")!
    static let device = DeviceID("0c6e2b9d8a7f3c1e7f3a9c2e5b8d4f1a")!

    static let logKey = try! Ed25519PrivateKey(seed: Array(1...32))
    static let logSigner = try! Ed25519NoteSigner(name: origin, privateKey: logKey)
    static let deviceKey = try! Ed25519PrivateKey(seed: Array(33...64))

    /// The genuine log: eight entries, and its signed checkpoint at every size.
    static let entries: [Entry] = (0..<8).map { i in
        try! Entry(
            kind: .access,
            [
                ("alert", alert.rawValue), ("prev", String(repeating: "0", count: 63) + String(i)),
                ("actor", device.rawValue), ("role", "fuzz"), ("action", "read-\(i)"), ("reason", "-"),
                ("time", Timestamp(millisecondsSinceEpoch: 1_795_000_000_000 + Int64(i) * 1000).description),
            ])
    }
    static let leaves = entries.map { SHA256.merkle.leafHash($0.bytes) }
    static var prover: MerkleProver<Never> {
        MerkleProver(hasher: SHA256.merkle) { id in
            // A perfect subtree's hash from its leaves: the reference tree, recomputed (eight leaves).
            var level = leaves
            for _ in 0..<id.level {
                level = stride(from: 0, to: level.count, by: 2).map { i in
                    i + 1 < level.count ? SHA256.merkle.nodeHash(level[i], level[i + 1]) : level[i]
                }
            }
            return level[Int(id.index)]
        }
    }
    static let checkpoints: [SignedCheckpoint] = (1...entries.count).map { size in
        try! SignedCheckpoint(
            signing: Checkpoint(origin: origin, size: UInt64(size), root: prover.root(size: UInt64(size))),
            with: logSigner)
    }

    /// Whether `signature` is the one signature `key` makes over `message` (Ed25519 is
    /// deterministic): a verifier that accepts any other is malleable.
    static func isTheSignature(_ signature: [UInt8], of message: [UInt8], by key: Ed25519PrivateKey) -> Bool {
        (try? key.sign(message)) == signature
    }

    /// The export key and its self-signed certificate (valid until 2126).
    static let exportKeyPEM = Array(
        """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyz4veHKtbKDCupmS
        yhqyq9QMMGG6ZyMpEC/ua+01Mc+hRANCAASOEB81mrDnedbetGMSdieEOW/zgsjy
        vZEosU+BlI04OZN1ge26n4fztMrHUCZfeXgHfb1dobZ+Rvdl/AvJvcNx
        -----END PRIVATE KEY-----

        """.utf8)
    static let exportCertificatePEM = Array(
        """
        -----BEGIN CERTIFICATE-----
        MIIB2DCCAX6gAwIBAgIUcCdGsSeOeWraz00Xwz6ldR9TCe0wCgYIKoZIzj0EAwIw
        OjEPMA0GA1UECgwGVGVtb2luMScwJQYDVQQDDB50ZW1vaW4gZnV6eiBleHBvcnQg
        KHRlc3Qgb25seSkwIBcNMjYxMTI5MjE1NTAyWhgPMjEyNjExMDUyMTU1MDJaMDox
        DzANBgNVBAoMBlRlbW9pbjEnMCUGA1UEAwwedGVtb2luIGZ1enogZXhwb3J0ICh0
        ZXN0IG9ubHkpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjhAfNZqw53nW3rRj
        EnYnhDlv84LI8r2RKLFPgZSNODmTdYHtup+H87TKx1AmX3l4B329XaG2fkb3ZfwL
        yb3DcaNgMF4wHQYDVR0OBBYEFMhtdoi51Q8vmGAQl0Y3FHS8W0S+MB8GA1UdIwQY
        MBaAFMhtdoi51Q8vmGAQl0Y3FHS8W0S+MA4GA1UdDwEB/wQEAwIGwDAMBgNVHRMB
        Af8EAjAAMAoGCCqGSM49BAMCA0gAMEUCIGtyJ8ZmfVPXBbr+lAsPcaTSW22WEi/F
        BfxNHYmZvCFfAiEAqoRK+2DwzbjHekTBvWBCUxUpupq5QkZO6VTa59hcSUg=
        -----END CERTIFICATE-----

        """.utf8)
    static let exportKey = try! P256PrivateKey(pem: exportKeyPEM)
    static let exportCertificate = try! Certificate(pem: exportCertificatePEM)
    /// When the export was recorded (2026-11-29), for judging the certificate's validity.
    static let exportTime: Int64 = 1_795_000_000
}
