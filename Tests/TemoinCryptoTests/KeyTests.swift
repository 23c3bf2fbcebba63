import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

struct KeyTests {
    @Test func sha256MatchesTheFIPSExamples() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
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

    /// Found while writing the fuzz target `pem` (Docs/fuzzing.md) and confirmed by replaying a
    /// PEM with an ENCRYPTED header through it on a terminal: OpenSSL, given no pass-phrase callback,
    /// prompted "Enter PEM pass phrase:" on the terminal and waited, ignoring SIGTERM — for any PEM
    /// with an ENCRYPTED header, so a bundle's export-cert.pem could stall `temoin-verify`.
    @Test func encryptedPEMIsRefusedWithoutAskingForAPassPhrase() throws {
        let encryptedKey = Array(
            """
            -----BEGIN ENCRYPTED PRIVATE KEY-----
            MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAinr1PznR0EjAICCAAw
            DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEG/jTRRPhPr1b3dGjh4pFtYEQDpS
            Fg+hKzlB+vIuwcxKDIDWmQAnXIZhFA8gCIFm6JTpdUgOfKPx2Hu7lsi7uukgaKEm
            38sFPMBcT82BqbT3hqo=
            -----END ENCRYPTED PRIVATE KEY-----

            """.utf8)
        /// The same PEM with RFC 1421 encryption headers, which OpenSSL honours for every type.
        func encryptedHeader(_ pem: [UInt8]) -> [UInt8] {
            var lines = String(decoding: pem, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
            lines.insert(
                contentsOf: ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF", ""],
                at: 1)
            return Array(lines.joined(separator: "\n").utf8)
        }
        let key = try Ed25519PrivateKey.generate()
        let exportKey = try P256PrivateKey.generate()
        let certificate = try Certificate.selfSigned(key: exportKey, commonName: "export")
        let keyPEM = encryptedHeader(try key.pem), exportKeyPEM = encryptedHeader(try exportKey.pem)
        let publicPEM = encryptedHeader(try key.publicKeyPEM), certificatePEM = encryptedHeader(try certificate.pem)
        let attempts: [() throws -> Void] = [
            { _ = try Ed25519PrivateKey(pem: encryptedKey) },
            { _ = try Ed25519PrivateKey(pem: keyPEM) },
            { _ = try P256PrivateKey(pem: exportKeyPEM) },
            { _ = try Ed25519.publicKey(pem: publicPEM) },
            { _ = try Certificate(pem: certificatePEM) },
        ]
        for attempt in attempts {
            #expect(throws: TemoinError.self) { try attempt() }
            do { try attempt() } catch { #expect((error as? TemoinError)?.code == "pem.encrypted") }
        }
        // Unencrypted PEM still reads.
        #expect(try Certificate(pem: certificate.pem) == certificate)
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
