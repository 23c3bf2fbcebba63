import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The reverse-proxy setup of Docs/deployment.md, run as written (paths and ports replaced).
@Suite(.tags(.process, .slow), .notInFastRuns)
struct TLSProxyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The ```nginx block of Docs/deployment.md.
    static func documentedConfiguration() throws -> String {
        let doc = try String(contentsOf: repository.appendingPathComponent("Docs/deployment.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```nginx\n"))
        let end = try #require(doc.range(of: "\n```", range: start.upperBound..<doc.endIndex))
        return String(doc[start.upperBound..<end.lowerBound])
    }

    @Test func aPhonesSignedUploadsGoThroughTheDocumentedTLSProxyAndReceiptsVerify() async throws {
        let nginx = "/usr/sbin/nginx"
        #expect(FileManager.default.isExecutableFile(atPath: nginx), "Scripts/install-packages installs nginx-light")
        let t = TempFolder()
        let dir = t.url.path
        try FileManager.default.createDirectory(
            at: t.url.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        chmod(t.url.path, 0o755)
        chmod(t.url.appendingPathComponent("tmp").path, 0o777)

        // A test CA and a certificate for 127.0.0.1, with stock openssl.
        _ = try system(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=Temoin test CA", "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            ])
        _ = try system(
            "openssl",
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", "\(dir)/server.key", "-out", "\(dir)/server.csr",
            ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: "\(dir)/san.ext", atomically: true, encoding: .utf8)
        _ = try system(
            "openssl",
            [
                "x509", "-req", "-in", "\(dir)/server.csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "\(dir)/san.ext", "-out", "\(dir)/server.pem",
            ])

        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let key = "\(dir)/phone.key"
        #expect(try Tool.run("temoin-device", ["keygen", "--out", key]).status == 0)
        #expect(try Tool.run("temoin", ["enroll", "--data", t.data, "--public-key", key + ".pub"]).status == 0)
        let servicePort = freeLoopbackPort(), tlsPort = freeLoopbackPort()
        let server = try await startService(t.data, port: servicePort)

        var config = try Self.documentedConfiguration()
        for (from, to) in [
            ("/var/log/temoin/nginx-error.log", "\(dir)/nginx-error.log"),
            ("/run/temoin-nginx.pid", "\(dir)/nginx.pid"),
            ("/var/lib/temoin-nginx", "\(dir)/tmp"), ("/etc/temoin/tls/fullchain.pem", "\(dir)/server.pem"),
            ("/etc/temoin/tls/privkey.pem", "\(dir)/server.key"), ("listen 443 ssl", "listen 127.0.0.1:\(tlsPort) ssl"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:\(servicePort)"),
        ] {
            #expect(config.contains(from), "the documented configuration names \(from)")
            config = config.replacingOccurrences(of: from, with: to)
        }
        try config.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
        let proxy = try ChildProcess(nginx, ["-p", dir, "-c", "\(dir)/nginx.conf", "-g", "daemon off;"])
        defer { proxy.signal(SIGTERM) }
        var up = false
        for _ in 0..<100 where !up {
            up =
                (try? system("curl", ["-fsS", "--cacert", "\(dir)/ca.pem", "https://127.0.0.1:\(tlsPort)/healthz"]))?
                .contains("ok") ?? false
            if !up { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(up, "nginx answers over TLS")

        // A phone's signed requests over HTTPS (curl with the test CA: URLSession on Linux trusts only
        // the system store, see Docs/deployment.md).
        let phone = try Ed25519PrivateKey(pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: key))))
        let origin = try VerifierKey(
            parsing: String(contentsOfFile: t.data + "/log-key.txt", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        ).name
        let alert = AlertID(String(repeating: "5e", count: 16))!
        let openedAt = "2026-11-29T17:00:00.000Z"
        let opened = try DeviceStatement(
            kind: .alertOpened, origin: origin, alert: alert, capturedAt: Timestamp(rfc3339: openedAt)!)
        let openBody =
            #"{"device":"\#(DeviceID.derive(publicKey: phone.publicKey))","openedAt":"\#(openedAt)","signature":"\#(Base64.encode(try phone.sign(opened.bytes)))"}"#
        let base = "https://127.0.0.1:\(tlsPort)/v1/alerts/\(alert)"
        let openAnswer = try system(
            "curl",
            [
                "-fsS", "--cacert", "\(dir)/ca.pem", "-X", "PUT", "-H", "Content-Type: application/json",
                "--data-binary", openBody, base,
            ])
        #expect(openAnswer.contains("\"status\":\"appended\""))
        let wav = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ServiceProcessTests.sample)))
        try Data(wav).write(to: URL(fileURLWithPath: "\(dir)/chunk.wav"))
        let chunk = try DeviceStatement(
            kind: .audioChunk, origin: origin, alert: alert, seq: 0, capturedAt: Timestamp(rfc3339: openedAt)!,
            sha256: SHA256.hash(wav))
        let chunkAnswer = try system(
            "curl",
            [
                "-fsS", "--cacert", "\(dir)/ca.pem", "-X", "PUT", "-H", "Content-Type: audio/wav",
                "-H", "Temoin-Captured-At: \(openedAt)", "-H",
                "Temoin-Signature: \(Base64.encode(try phone.sign(chunk.bytes)))",
                "-H", "Temoin-Final: true", "--data-binary", "@\(dir)/chunk.wav", base + "/chunks/0",
            ])
        #expect(chunkAnswer.contains("\"status\":\"appended\""))
        struct Answer: Decodable { let receipt: String }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(chunkAnswer.utf8))
        let receipt = try SignedReceipt(parsing: Array(answer.receipt.utf8))
        try receipt.verify(
            key: VerifierKey(
                parsing: String(contentsOfFile: t.data + "/log-key.txt", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)), using: Ed25519())
        #expect(receipt.receipt.origin == origin)
        // Plain HTTP to the TLS port is refused.
        #expect((try? system("curl", ["-fsS", "http://127.0.0.1:\(tlsPort)/healthz"])) == nil)
        await server.stop(SIGTERM)
    }
}
