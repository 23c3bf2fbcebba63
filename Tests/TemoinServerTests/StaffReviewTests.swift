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
}
