import Foundation
import TemoinCore
import TemoinCrypto
import TemoinVerify

enum BundleTargets {
    /// manifest.json as `temoin-verify` reads it: decoded, then accepted only if canonical.
    static func manifest(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(bytes)) else { return .refused }
        guard let encoded = try? manifest.encoded() else { throw Broken(invariant: "a decoded manifest encodes") }
        // The canonical encoding is a fixed point: what the exporter writes, the verifier accepts.
        guard let again = try? JSONDecoder().decode(ExportManifest.self, from: Data(encoded)) else {
            throw Broken(invariant: "the canonical encoding of a manifest decodes")
        }
        try check((try? again.encoded()) == encoded, "encode → decode → encode gives the same bytes")
        try check(
            again.origin == manifest.origin && again.alert == manifest.alert && again.requester == manifest.requester
                && again.reference == manifest.reference && again.created == manifest.created
                && again.files == manifest.files
                && again.exportEntry == manifest.exportEntry && again.checkpointSize == manifest.checkpointSize,
            "the canonical encoding keeps every value")
        // A manifest the verifier accepts as canonical has each key once and no other key: other
        // JSON readers see the same values.
        if encoded == bytes {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw Broken(invariant: "a canonical manifest is a JSON object")
            }
            try check(
                object.count == 9 && (object["files"] as? [String: String])?.count == manifest.files.count,
                "a canonical manifest has its nine keys once")
            return .accepted
        }
        return .refused
    }

    /// manifest.json.p7s: the first byte says whether the content is the genuine manifest or the
    /// genuine manifest with one byte changed; the rest is the signature. No CMS signature may
    /// verify over changed content.
    static func cms(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let flag = bytes.first else { return .refused }
        let signature = Array(bytes.dropFirst())
        var content = genuineManifest
        let altered = flag & 1 == 1
        if altered { content[Int(flag >> 1) % content.count] ^= 0x01 }
        let plain = try? CMS.verify(signature, content: content, trusting: Fixtures.exportCertificate)
        let pinned = try? CMS.verify(
            signature, content: content, pinned: Fixtures.exportCertificate, atSecondsSinceEpoch: Fixtures.exportTime)
        try check(!altered || (plain == nil && pinned == nil), "no CMS signature verifies over altered content")
        if let (inspection, structure) = pinned {
            try check(inspection.signerCount >= 1, "a verified CMS has a signer")
            if structure.isCanonicalDER {
                try check(inspection.certificates.allSatisfy { !$0.der.isEmpty }, "certificates are kept as DER")
            }
            return .verified
        }
        return plain == nil ? .refused : .verified
    }

    static let genuineManifest: [UInt8] = try! ExportManifest(
        origin: Fixtures.origin, alert: Fixtures.alert, requester: "Tribunal judiciaire, fuzz",
        reference: "RG 26/00001",
        created: "2026-11-29T17:00:20.412Z", exportEntry: 9, checkpointSize: 10,
        files: ["recording.opus": String(repeating: "ab", count: 32)],
        // The committed CMS seeds sign this very manifest, written before format v2.
        format: ExportManifest.formatV1
    ).encoded()

    /// PEM as the CLI reads it: certificates, Ed25519 public and private keys, the P-256 export key.
    static func pem(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        var outcome = Outcome.refused
        if let certificate = try? Certificate(pem: bytes) {
            try check((try? Certificate(der: certificate.der)) != nil, "a certificate read from PEM is valid DER")
            guard let written = try? certificate.pem, let again = try? Certificate(pem: written) else {
                throw Broken(invariant: "a certificate read from PEM writes back as PEM")
            }
            try check(again.der == certificate.der, "certificate PEM round trip keeps the DER")
            outcome = .accepted
        }
        if let key = try? Ed25519.publicKey(pem: bytes) {
            try check(key.count == 32, "an Ed25519 public key has 32 bytes")
            outcome = .accepted
        }
        if let key = try? Ed25519PrivateKey(pem: bytes) {
            guard let written = try? key.pem, let again = try? Ed25519PrivateKey(pem: written) else {
                throw Broken(invariant: "an Ed25519 key read from PEM writes back as PEM")
            }
            try check(again.publicKey == key.publicKey, "Ed25519 PEM round trip keeps the key")
            guard let publicPEM = try? key.publicKeyPEM else {
                throw Broken(invariant: "an Ed25519 key has a public PEM")
            }
            try check(
                (try? Ed25519.publicKey(pem: publicPEM)) == key.publicKey, "its public PEM reads back the same key")
            outcome = .accepted
        }
        if let key = try? P256PrivateKey(pem: bytes) {
            guard let written = try? key.pem, (try? P256PrivateKey(pem: written)) != nil else {
                throw Broken(invariant: "a P-256 key read from PEM writes back as PEM")
            }
            outcome = .accepted
        }
        return outcome
    }
}
