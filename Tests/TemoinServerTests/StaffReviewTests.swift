import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import TemoinServer
import TemoinAPI
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinVerify
@testable import TemoinLedger
import Testing

/// Findings of the adversarial review of staff access (issue 10), against a live service.
@Suite(.serialized) struct StaffReviewTests {
    /// A caseworker's replacement whose new key is refused (already enrolled, or of small order)
    /// fails as a whole and records nothing, but the writer kept the old phone as revoked in its
    /// memory: the victim's phone was refused (`device.revoked`) until the service restarted,
    /// while the ledger, the audit and the device list said it was not revoked.
    @Test func aFailedReplacementLeavesTheOldPhoneWorking() async throws {
        let f = try await StaffFixture()
        let old = DeviceID.derive(publicKey: f.s.phone.publicKey)
        var identity = [UInt8](repeating: 0, count: 32)
        identity[0] = 1
        let before = try f.s.size()
        let bad = try await f.call(
            "POST", "v1/staff/devices", token: f.tokens[.caseworker]!,
            body: #"{"publicKey":"\#(Base64.encode(identity))","replaces":"\#(old)"}"#)
        #expect((400..<500).contains(bad.status), "\(bad.status) \(String(decoding: bad.body, as: UTF8.self))")
        #expect(try f.s.size() == before)
        #expect(try f.s.reader().revocation(device: old) == nil)
        // The same with a key that is already enrolled (the phone's own, a typo in the console).
        let again = try await f.call(
            "POST", "v1/staff/devices", token: f.tokens[.caseworker]!,
            body: #"{"publicKey":"\#(Base64.encode(f.s.phone.publicKey))","replaces":"\#(old)"}"#)
        #expect((400..<500).contains(again.status))
        // The phone still records.
        let open = LiveServer.alert(60)
        let opened = try? await f.s.client().openAlert(open, openedAt: LiveServer.t0)
        #expect(opened != nil, "the phone was refused although it is not revoked")
        await f.s.stop()
    }

    /// The police must export under a legal reference; `-` is the ledger's spelling of "none".
    @Test func policeCannotExportWithTheReferenceDash() async throws {
        let f = try await StaffFixture()
        let before = try f.s.size()
        let r = try await f.call(
            "POST", "v1/staff/alerts/\(f.alert)/exports", token: f.tokens[.police]!,
            body: #"{"requester":"BPF","reference":" - "}"#)
        #expect(r.status == 400, "\(r.status)")
        #expect(String(decoding: r.body, as: UTF8.self).contains("export.bad-reference"))
        #expect(try f.s.size() == before)
        await f.s.stop()
    }

    /// An export of an alert whose phone is still uploading: entries of the alert committed after
    /// `export.created` must not reach the bundle (their proofs do not fit its checkpoint, and a
    /// recording with more chunks than the chain does not verify).
    @Test func anExportOfAnAlertStillStreamingVerifies() async throws {
        let f = try await StaffFixture()
        let alert = LiveServer.alert(70)
        let c = f.s.client()
        _ = try await c.openAlert(alert, openedAt: LiveServer.t0)
        let chunks = (0..<40).map { LiveServer.chunk($0 % 4, variant: $0 / 4) }
        _ = try await c.putChunk(alert, seq: 0, wav: chunks[0], capturedAt: LiveServer.at(0), isFinal: false)
        let uploads = Task {
            for seq in 1..<40 {
                _ = try await c.putChunk(
                    alert, seq: UInt64(seq), wav: chunks[seq], capturedAt: LiveServer.at(seq), isFinal: false)
            }
        }
        var failures = [String]()
        for n in 0..<6 {
            let r = try await f.call(
                "POST", "v1/staff/alerts/\(alert)/exports", token: f.tokens[.legal]!,
                body: #"{"requester":"Cour \#(n)"}"#)
            guard r.status == 201 else {
                failures.append("export \(n): \(r.status) \(String(decoding: r.body, as: UTF8.self))")
                continue
            }
            let zip = f.s.root.appendingPathComponent("streaming-\(n).zip").path
            try r.body.write(to: URL(fileURLWithPath: zip))
            var verifier = BundleVerifier(folder: zip, trustedKey: f.s.created.verifierKey)
            let report = try verifier.run()
            if !report.passed { failures.append("export \(n): \(report.checks.filter { !$0.passed })") }
        }
        _ = try await uploads.value
        #expect(failures.isEmpty, "\(failures)")
        await f.s.stop()
    }

    /// An export that cannot be made (an alert with no audio yet) must not leave an
    /// `export.created` in the log: the log would say a bundle exists that nobody received.
    @Test func anExportThatCannotBeMadeRecordsNoExport() async throws {
        let f = try await StaffFixture()
        let alert = LiveServer.alert(80)
        _ = try await f.s.client().openAlert(alert, openedAt: LiveServer.t0)
        let r = try await f.call(
            "POST", "v1/staff/alerts/\(alert)/exports", token: f.tokens[.legal]!, body: #"{"requester":"Cour"}"#)
        #expect(r.status == 422, "\(r.status)")
        let kinds = try f.s.reader().entries(alert: alert).map(\.entry.kind)
        #expect(!kinds.contains(.exportCreated), "\(kinds)")
        await f.s.stop()
    }

    /// Attacker C (the export key, not the log key): a bundle of a revoked device with its
    /// `device.revoked` entry taken out and the manifest signed again still passes, and the court
    /// never learns the phone was revoked (reported stolen, replaced) before the export. Nothing in
    /// the chain or in `export.created` commits to the revocation.
    @Test func aRevocationTakenOutOfABundleIsNoticed() async throws {
        let f = try await StaffFixture()
        let device = DeviceID.derive(publicKey: f.s.phone.publicKey)
        let revoke = try await f.call("POST", "v1/staff/devices/\(device)/revoke", token: f.tokens[.caseworker]!)
        let revoked = try JSONDecoder().decode(DeviceRevokedResponse.self, from: revoke.body).index
        let r = try await f.call(
            "POST", "v1/staff/alerts/\(f.alert)/exports", token: f.tokens[.legal]!, body: #"{"requester":"Cour"}"#)
        #expect(r.status == 201)
        let zip = f.s.root.appendingPathComponent("c.zip").path
        try r.body.write(to: URL(fileURLWithPath: zip))
        let out = f.s.root.appendingPathComponent("c").path
        _ = try runProcessOutput("/usr/bin/unzip", ["-q", zip, "-d", out])
        let folder = out + "/\(f.alert)"
        for name in ["entries/\(revoked).entry", "entries/\(revoked).entry.tlog-proof"] {
            try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        let old = try JSONDecoder().decode(
            ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        let manifest = ExportManifest(
            origin: old.origin, alert: old.alert, requester: old.requester, reference: old.reference,
            created: old.created, exportEntry: old.exportEntry, checkpointSize: old.checkpointSize,
            files: old.files.filter { !$0.key.hasPrefix("entries/\(revoked).") }, format: old.format)
        let bytes = try manifest.encoded()
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        let key = try P256PrivateKey(pem: Array(Data(contentsOf: URL(fileURLWithPath: f.s.directory.exportKeyFile))))
        let p7s = try CMS.sign(bytes, key: key, certificate: try f.s.directory.loadExportCertificate())
        try Data(p7s).write(to: URL(fileURLWithPath: folder + "/manifest.json.p7s"))
        var verifier = BundleVerifier(folder: folder, trustedKey: f.s.created.verifierKey)
        let report = try verifier.run()
        withKnownIssue("review finding: nothing the log signs tells the verifier a revocation is missing") {
            #expect(!report.passed, "the bundle without its revocation passes")
        }
        await f.s.stop()
    }

    /// Range edge cases, on the parser alone.
    @Test func rangeEdgeCases() {
        #expect(RangeReply.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(RangeReply.parse("bytes=-1000", size: 100) == .range(0...99))
        #expect(RangeReply.parse("bytes=0-9223372036854775807", size: 100) == .range(0...99))
        #expect(RangeReply.parse("bytes=0-18446744073709551615", size: 100) == .whole)
        #expect(RangeReply.parse("bytes=9223372036854775807-", size: 100) == .unsatisfiable)
        #expect(RangeReply.parse("bytes=-9223372036854775807", size: 100) == .range(0...99))
        #expect(RangeReply.parse("bytes=5-4", size: 100) == .whole)
        #expect(RangeReply.parse("bytes=-", size: 100) == .whole)
        #expect(RangeReply.parse("bytes=+1-2", size: 100) == .whole)
        #expect(RangeReply.parse("bytes=0-0", size: 0) == .unsatisfiable)
        #expect(RangeReply.parse("bytes=-5", size: 0) == .unsatisfiable)
        #expect(RangeReply.parse("items=0-5", size: 100) == .whole)
    }
}
