import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

struct CMSTests {
    let key: P256PrivateKey
    let certificate: Certificate
    let manifest = Array(#"{"files":{"recording.opus":"abc"}}"#.utf8)

    init() throws {
        key = try P256PrivateKey.generate()
        certificate = try Certificate.selfSigned(key: key, commonName: "Temoin export test")
    }

    @Test func aDetachedSignatureVerifiesAndHasTheExpectedStructure() throws {
        let p7s = try CMS.sign(manifest, key: key, certificate: certificate)
        let inspection = try CMS.verify(p7s, content: manifest, trusting: certificate)
        #expect(inspection.signerCount == 1)
        #expect(inspection.certificates == [certificate])
        #expect(inspection.isDetached)
        #expect(inspection.contentTypeIsData)
        #expect(inspection.crlCount == 0)
    }

    @Test func anyChangedByteOrAnotherCertificateIsRefused() throws {
        let p7s = try CMS.sign(manifest, key: key, certificate: certificate)
        var altered = manifest
        altered[5] ^= 1
        #expect(throws: TemoinError.self) { try CMS.verify(p7s, content: altered, trusting: certificate) }
        let other = try Certificate.selfSigned(key: P256PrivateKey.generate(), commonName: "other")
        #expect(throws: TemoinError.self) { try CMS.verify(p7s, content: manifest, trusting: other) }
        var broken = p7s
        broken[broken.count - 10] ^= 1
        #expect(throws: TemoinError.self) { try CMS.verify(broken, content: manifest, trusting: certificate) }
        #expect(throws: TemoinError.self) {
            try CMS.verify(Array("not DER".utf8), content: manifest, trusting: certificate)
        }
    }

    @Test(.tags(.process)) func stockOpenSSLVerifiesItAsTheVerificationGuideSays() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-cms-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(manifest).write(to: dir.appendingPathComponent("manifest.json"))
        try Data(CMS.sign(manifest, key: key, certificate: certificate)).write(
            to: dir.appendingPathComponent("manifest.json.p7s"))
        try Data(certificate.pem).write(to: dir.appendingPathComponent("export-cert.pem"))
        let r = try runProcess(
            "/usr/bin/openssl",
            [
                "cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest.json.p7s", "-content", "manifest.json",
                "-CAfile", "export-cert.pem", "-out", "/dev/null",
            ], directory: dir.path)
        #expect(r.status == 0)
        #expect(r.errorText.contains("Verification successful"))
    }
}
