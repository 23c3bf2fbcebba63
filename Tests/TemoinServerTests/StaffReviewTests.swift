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
}
