import Foundation
@testable import TemoinLedger
import TemoinAudio
import TemoinCore
import TemoinCrypto
import TemoinVerify
import Testing

struct OperatorCertificateTests {
    /// An ECDSA P-256 key and certificate made by the operator with stock openssl.
    static func openssl(_ dir: URL, usage: String = "critical,digitalSignature,nonRepudiation") throws -> (key: [UInt8], cert: [UInt8]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "365",
                       "-subj", "/O=Association/CN=Exports", "-addext", "keyUsage=\(usage)",
                       "-keyout", dir.appendingPathComponent("k.pem").path, "-out", dir.appendingPathComponent("c.pem").path]
        p.standardError = Pipe()
        try p.run()
        p.waitUntilExit()
        return try ([UInt8](Data(contentsOf: dir.appendingPathComponent("k.pem"))), [UInt8](Data(contentsOf: dir.appendingPathComponent("c.pem"))))
    }

    @Test func anOperatorsOwnCertificateIsRecordedAndExportsSignedWithItVerify() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        try FileManager.default.createDirectory(at: f.root.appendingPathComponent("own"), withIntermediateDirectories: true)
        let own = try Self.openssl(f.root.appendingPathComponent("own"))
        let other = try Self.openssl({ let d = f.root.appendingPathComponent("other"); try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true); return d }())
        let exporter = Exporter(directory: f.directory)
        await #expect { _ = try await exporter.useExportCertificate(keyPEM: own.key, certificatePEM: other.cert, writer: w) } throws: {
            ($0 as? TemoinError)?.code == "keys.mismatch"
        }
        let rotation = try await exporter.useExportCertificate(keyPEM: own.key, certificatePEM: own.cert, writer: w)
        #expect(try Certificate(pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.directory.exportCertificateFile)))) == Certificate(pem: own.cert))

        _ = try await f.open(AudioIngestTests.alert, on: w)
        _ = try await AudioIngestor(writer: w).ingest(AudioIngestTests().upload(0))
        let folder = f.root.appendingPathComponent("bundle").path
        let e = try await exporter.export(alert: AudioIngestTests.alert, to: folder, requester: "OPJ", reference: "PV 1", writer: w)
        #expect(e.files["entries/\(rotation).entry"] != nil, "the rotation that installed the certificate travels with the bundle")
        var verifier = BundleVerifier(folder: folder, trustedKey: f.created.verifierKey)
        let report = try verifier.run()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(report.checks.contains { $0.check == "certificate" && $0.passed && $0.en.contains("entry \(rotation)") })

        // Without the rotation entry (an insider re-signs the manifest), the certificate is unknown to the log.
        try FileManager.default.removeItem(atPath: folder + "/entries/\(rotation).entry")
        try FileManager.default.removeItem(atPath: folder + "/entries/\(rotation).entry.tlog-proof")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))) as! [String: Any]
        var files = manifest["files"] as! [String: String]
        files["entries/\(rotation).entry"] = nil
        files["entries/\(rotation).entry.tlog-proof"] = nil
        manifest["files"] = files
        let bytes = try [UInt8](JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        try Data(CMS.sign(bytes, key: P256PrivateKey(pem: own.key), certificate: Certificate(pem: own.cert)))
            .write(to: URL(fileURLWithPath: folder + "/manifest.json.p7s"))
        var again = BundleVerifier(folder: folder, trustedKey: f.created.verifierKey)
        let stripped = try again.run()
        #expect(!stripped.passed)
        #expect(stripped.checks.contains { $0.check == "certificate" && !$0.passed })
        #expect(try f.audit().passed)
    }

    @Test func aCertificateThatDoesNotAllowSignaturesIsRefused() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let own = try Self.openssl(f.root, usage: "critical,keyEncipherment")
        await #expect { _ = try await Exporter(directory: f.directory).useExportCertificate(keyPEM: own.key, certificatePEM: own.cert, writer: w) } throws: {
            ($0 as? TemoinError)?.code == "keys.no-signature-usage"
        }
        #expect(await w.size == 2)
    }
}
