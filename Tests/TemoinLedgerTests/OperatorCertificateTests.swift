import Foundation
@testable import TemoinLedger
@testable import TemoinIngest
@testable import TemoinExport
import TemoinAudio
import TemoinCore
import TemoinCrypto
import TemoinVerify
import TemoinTestSupport
import Testing

struct OperatorCertificateTests {
    /// An ECDSA P-256 key and certificate made by the operator with stock openssl.
    static func openssl(
        _ dir: URL, usage: String = "critical,digitalSignature,nonRepudiation"
    ) throws -> (key: [UInt8], cert: [UInt8]) {
        _ = try runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "365",
                "-subj", "/O=Association/CN=Exports", "-addext", "keyUsage=\(usage)",
                "-keyout", dir.appendingPathComponent("k.pem").path, "-out", dir.appendingPathComponent("c.pem").path,
            ])
        return try (
            [UInt8](Data(contentsOf: dir.appendingPathComponent("k.pem"))),
            [UInt8](Data(contentsOf: dir.appendingPathComponent("c.pem")))
        )
    }

    @Test(.tags(.process)) func anOperatorsOwnCertificateIsRecordedAndExportsSignedWithItVerify() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        try FileManager.default.createDirectory(
            at: f.root.appendingPathComponent("own"), withIntermediateDirectories: true)
        let own = try Self.openssl(f.root.appendingPathComponent("own"))
        let other = try Self.openssl(
            {
                let d = f.root.appendingPathComponent("other");
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true); return d
            }())
        let exporter = Exporter(directory: f.directory)
        await #expect {
            _ = try await exporter.useExportCertificate(keyPEM: own.key, certificatePEM: other.cert, writer: w)
        } throws: {
            ($0 as? TemoinError)?.code == "keys.mismatch"
        }
        let rotation = try await exporter.useExportCertificate(keyPEM: own.key, certificatePEM: own.cert, writer: w)
        #expect(
            try Certificate(pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.directory.exportCertificateFile))))
                == Certificate(pem: own.cert))

        _ = try await f.open(AudioIngestTests.alert, on: w)
        _ = try await AudioIngestor(writer: w).ingest(AudioIngestTests().upload(0))
        let folder = f.root.appendingPathComponent("bundle").path
        let e = try await exporter.export(
            alert: AudioIngestTests.alert, to: folder, requester: "OPJ", reference: "PV 1", writer: w)
        #expect(
            e.files["entries/\(rotation).entry"] != nil,
            "the rotation that installed the certificate travels with the bundle")
        var verifier = BundleVerifier(folder: folder, trustedKey: f.created.verifierKey)
        let report = try verifier.run()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(
            report.checks.contains { $0.check == "certificate" && $0.passed && $0.en.contains("entry \(rotation)") })

        // Without the rotation entry (an insider re-signs the manifest), the certificate is unknown to the log.
        try FileManager.default.removeItem(atPath: folder + "/entries/\(rotation).entry")
        try FileManager.default.removeItem(atPath: folder + "/entries/\(rotation).entry.tlog-proof")
        var manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
            as! [String: Any]
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

    @Test(.tags(.process)) func aCertificateThatDoesNotAllowSignaturesIsRefused() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let own = try Self.openssl(f.root, usage: "critical,keyEncipherment")
        await #expect {
            _ = try await Exporter(directory: f.directory).useExportCertificate(
                keyPEM: own.key, certificatePEM: own.cert, writer: w)
        } throws: {
            ($0 as? TemoinError)?.code == "keys.no-signature-usage"
        }
        #expect(await w.size == 2)
    }

    static func run(_ arguments: [String], in dir: URL) throws -> Int32 {
        try runProcess("/usr/bin/openssl", arguments, directory: dir.path).status
    }

    /// One alert with one chunk, exported with whatever export certificate is installed.
    static func export(_ f: LedgerFixture, _ w: LedgerWriter) async throws -> String {
        _ = try await f.open(AudioIngestTests.alert, on: w)
        _ = try await AudioIngestor(writer: w).ingest(AudioIngestTests().upload(0))
        let folder = f.root.appendingPathComponent("bundle").path
        _ = try await Exporter(directory: f.directory).export(
            alert: AudioIngestTests.alert, to: folder, requester: "OPJ", reference: "PV 1", writer: w)
        return folder
    }

    /// Signatures are judged when the log recorded the export: a certificate that has since
    /// expired still proves the bundle (DESIGN §4), though OpenSSL at today's date refuses it.
    @Test(.tags(.process, .slow), .notInFastRuns) func aBundleStillVerifiesAfterItsCertificateHasExpired() async throws
    {
        let f = try await LedgerFixture()
        let now = Int64(Date().timeIntervalSince1970)
        // The log's clock stands still at `now`, so the export is recorded inside the validity period however slow the
        // machine.
        let w = try LedgerWriter(directory: f.directory, clock: { Timestamp(millisecondsSinceEpoch: now * 1000) })
        let key = try P256PrivateKey.generate()
        let certificate = try Certificate.selfSigned(
            key: key, commonName: "Short-lived exports", notBefore: now - 3600, notAfter: now + 5)
        _ = try await Exporter(directory: f.directory).useExportCertificate(
            keyPEM: key.pem, certificatePEM: certificate.pem, writer: w)
        let folder = try await Self.export(f, w)
        while Int64(Date().timeIntervalSince1970) <= now + 6 { try await Task.sleep(for: .milliseconds(200)) }
        #expect(try !certificate.isValid(atSecondsSinceEpoch: Int64(Date().timeIntervalSince1970)))
        let report = try verify(folder, f)
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        let dir = URL(fileURLWithPath: folder)
        let command = [
            "cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest.json.p7s", "-content", "manifest.json",
            "-CAfile", "export-cert.pem", "-out", "/dev/null",
        ]
        #expect(try Self.run(command, in: dir) != 0, "today's clock refuses the expired certificate")
        #expect(try Self.run(command + ["-attime", String(now)], in: dir) == 0, "the export's time accepts it")
    }

    /// A certificate issued by the operator's CA is trusted by the fingerprint the log pins, with no CA store.
    @Test(.tags(.process)) func aCertificateIssuedByACAVerifiesByItsPinnedFingerprint() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let dir = f.root.appendingPathComponent("ca")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=critical,CA:FALSE\n".utf8).write(
            to: dir.appendingPathComponent("ext"))
        for command in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650",
                "-subj", "/O=Association/CN=Root CA",
                "-keyout", "ca.key", "-out", "ca.pem",
            ],
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                "/O=Association/CN=Exports",
                "-keyout", "k.pem", "-out", "c.csr",
            ],
            [
                "x509", "-req", "-in", "c.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "365",
                "-extfile", "ext", "-out", "c.pem",
            ],
        ] {
            #expect(try Self.run(command, in: dir) == 0, "\(command)")
        }
        let keyPEM = try [UInt8](Data(contentsOf: dir.appendingPathComponent("k.pem")))
        let certPEM = try [UInt8](Data(contentsOf: dir.appendingPathComponent("c.pem")))
        _ = try await Exporter(directory: f.directory).useExportCertificate(
            keyPEM: keyPEM, certificatePEM: certPEM, writer: w)
        let folder = try await Self.export(f, w)
        let report = try verify(folder, f)
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
    }

    @Test func anExpiredOrNotYetValidCertificateIsNotInstalled() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let key = try P256PrivateKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        for (notBefore, notAfter, code) in [
            (now - 7200, now - 3600, "keys.expired"), (now + 3600, now + 7200, "keys.not-yet-valid"),
        ] {
            let certificate = try Certificate.selfSigned(
                key: key, commonName: "Exports", notBefore: notBefore, notAfter: notAfter)
            await #expect {
                _ = try await Exporter(directory: f.directory).useExportCertificate(
                    keyPEM: key.pem, certificatePEM: certificate.pem, writer: w)
            } throws: {
                ($0 as? TemoinError)?.code == code
            }
        }
        #expect(await w.size == 2, "nothing was recorded")
    }
}
