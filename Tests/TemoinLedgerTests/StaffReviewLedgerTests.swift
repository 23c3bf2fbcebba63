import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// Findings of the adversarial review of staff access (issue 10), at the ledger's level.
struct StaffReviewLedgerTests {
    /// A group that revokes a device and then fails (a replacement whose new key is refused, a
    /// full disk) is rolled back in the database; the writer's memory of revoked devices must be
    /// rolled back with it, or the phone is refused until the service restarts while the ledger
    /// shows no revocation.
    @Test func aRevocationRolledBackWithItsGroupDoesNotSilenceThePhone() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = LedgerFixture.alert(1)
        _ = try await f.open(alert, on: w)
        // A signed statement: the writer loads its set of revoked devices.
        _ = try await w.append(LedgerFixture.location(alert, fix: "geo:1,1"))
        // A replacement whose new key is refused (the identity point: small order).
        var identity = [UInt8](repeating: 0, count: 32)
        identity[0] = 1
        let device = f.created.ingestDevice.rawValue
        await #expect(throws: TemoinError.self) {
            _ = try await w.append(group: [
                EntryDraft(kind: .deviceRevoked, [("device", device), ("reason", "replaced")]),
                EntryDraft(enrolling: DeviceID.derive(publicKey: identity), publicKey: identity),
            ])
        }
        #expect(try LedgerReader(directory: f.directory).revocation(device: f.created.ingestDevice) == nil)
        // The phone is not revoked: its next statement is appended.
        _ = try await w.append(LedgerFixture.location(alert, fix: "geo:2,2"))
        #expect(try f.audit().problems.isEmpty)
    }

    /// Two revocations of one account racing (two admins, the shell and the console, a double
    /// click) both pass the service's check on a read snapshot; the writer must refuse the second
    /// (as it does for devices), or the log holds two `account.revoked` entries and the audit
    /// fails for ever.
    @Test func aSecondRevocationOfAnAccountIsRefusedByTheWriter() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let id = String(repeating: "a1", count: 16)
        _ = try await w.append(StaffLedgerTests.account(id, name: "Claire", role: .legal, token: "tmn_one"))
        var revoke = EntryDraft(kind: .accountRevoked, [("account", id)])
        revoke.sideRow = .accountRevocation(id: id)
        _ = try await w.append(revoke)
        await #expect(throws: TemoinError.self) { _ = try await w.append(revoke) }
        // Nor an account that was never created.
        var unknown = EntryDraft(kind: .accountRevoked, [("account", String(repeating: "0", count: 32))])
        unknown.sideRow = .accountRevocation(id: String(repeating: "0", count: 32))
        await #expect(throws: TemoinError.self) { _ = try await w.append(unknown) }
        let audit = try f.audit()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    /// Attacker D: a root operator who swaps an account's token hash for one of a token they know
    /// acts as that person (every access then names the victim's account id and role) and the
    /// audit does not see it: `account.created` holds no commitment to the token.
    @Test func aTokenSwappedByHandIsNamedByTheAudit() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let id = String(repeating: "b2", count: 16)
        _ = try await w.append(StaffLedgerTests.account(id, name: "Maître Durand", role: .legal, token: "tmn_real"))
        #expect(try f.audit().problems.isEmpty)
        let db = try f.rawDatabase()
        try db.execute(
            "UPDATE accounts SET token_hash = x'\(SHA256.hash(Array("tmn_root".utf8)).hex)' WHERE id = '\(id)'")
        let reader = try LedgerReader(directory: f.directory)
        #expect(try reader.account(tokenHash: SHA256.hash(Array("tmn_root".utf8)))?.id == id)
        let audit = try f.audit()
        #expect(audit.names("account \(id)"))
    }
}
