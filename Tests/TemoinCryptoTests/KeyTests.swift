import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

struct KeyTests {
    @Test func sha256MatchesTheFIPSExamples() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func streamingSHA256EqualsOneShot() {
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = SHA256Stream()
        var i = 0
        while i < data.count {
            stream.update(Array(data[i..<min(data.count, i + 7777)]))
            i += 7777
        }
        #expect(stream.finalize() == SHA256.hash(data))
    }

    @Test func ed25519KeysRoundTripThroughPEMAndSign() throws {
        let key = try Ed25519PrivateKey.generate()
        let pem = try key.pem
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let again = try Ed25519PrivateKey(pem: pem)
        #expect(again.publicKey == key.publicKey)
        let message = Array("statement".utf8)
        let signature = try again.sign(message)
        #expect(Ed25519().isValid(signature: signature, of: message, publicKey: key.publicKey))
        #expect(!Ed25519().isValid(signature: signature, of: message + [0], publicKey: key.publicKey))
        #expect(try Ed25519.publicKey(pem: key.publicKeyPEM) == key.publicKey)
    }

    @Test func aP256KeyIsNotAnEd25519KeyAndGarbageIsNotAKey() throws {
        let p256 = try P256PrivateKey.generate()
        #expect(throws: TemoinError.self) { try Ed25519PrivateKey(pem: p256.pem) }
        #expect(throws: TemoinError.self) { try Ed25519PrivateKey(pem: Array("not a key".utf8)) }
        #expect(throws: TemoinError.self) { try P256PrivateKey(pem: Ed25519PrivateKey.generate().pem) }
        _ = try P256PrivateKey(pem: p256.pem)
    }

    @Test(.tags(.process)) func theExportCertificateHasTheRequiredKeyUsageAndOpenSSLAcceptsIt() throws {
        let key = try P256PrivateKey.generate()
        let cert = try Certificate.selfSigned(key: key, commonName: "Temoin export test")
        let again = try Certificate(pem: cert.pem)
        #expect(again.der == cert.der)
        #expect(cert.sha256 == SHA256.hash(cert.der))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-cert-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("cert.pem")
        try Data(cert.pem).write(to: path)
        let text = try run("/usr/bin/openssl", ["x509", "-in", path.path, "-noout", "-text"])
        #expect(text.contains("Digital Signature, Non Repudiation"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("prime256v1") || text.contains("P-256"))
    }

    func run(_ tool: String, _ arguments: [String]) throws -> String {
        let r = try runProcess(tool, arguments)
        #expect(r.status == 0)
        return r.text
    }
}
