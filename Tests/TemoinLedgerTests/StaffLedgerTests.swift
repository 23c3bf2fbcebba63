import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

/// Staff accounts and device revocations as the ledger keeps them: the writer's rules and what the
/// audit sees when a root operator edits the tables by hand.
struct StaffLedgerTests {
    static func account(_ id: String, name: String, role: StaffRole, token: String) -> EntryDraft {
        var draft = EntryDraft(
            kind: .accountCreated,
            [
                ("account", id), ("role", role.rawValue), ("name-sha256", SHA256.hash(Array(name.utf8)).hex),
                ("token-sha256", SHA256.hash(Array(token.utf8)).hex),
            ])
        draft.sideRow = .account(id: id, name: name, role: role, tokenHash: SHA256.hash(Array(token.utf8)))
        return draft
    }

    @Test func aStatementSignedAfterItsDeviceIsRevokedIsRefusedByTheWriter() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let alert = LedgerFixture.alert(1)
        _ = try await f.open(alert, on: w)
        _ = try await w.append(LedgerFixture.location(alert, fix: "geo:1,1"))
        let revoked = try await w.append(
            EntryDraft(kind: .deviceRevoked, [("device", f.created.ingestDevice.rawValue), ("reason", "revoked")]))
        await #expect(throws: TemoinError.self) {
            _ = try await w.append(LedgerFixture.location(alert, fix: "geo:2,2"))
        }
        do {
            _ = try await w.append(LedgerFixture.location(alert, fix: "geo:3,3"))
        } catch let e as TemoinError {
            #expect(e.id == .deviceRevoked)
        }
        // What the server itself records (unsigned) still goes in: the alert can be closed.
        _ = try await f.chunk(alert, seq: 0, on: w)
        // A second revocation, or one of a device never enrolled, is refused.
        await #expect(throws: TemoinError.self) {
            _ = try await w.append(
                EntryDraft(kind: .deviceRevoked, [("device", f.created.ingestDevice.rawValue), ("reason", "revoked")]))
        }
        await #expect(throws: TemoinError.self) {
            _ = try await w.append(
                EntryDraft(
                    kind: .deviceRevoked, [("device", String(repeating: "0", count: 32)), ("reason", "revoked")]))
        }
        #expect(revoked.index > 0)
        let audit = try f.audit()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    @Test func aRestartedWriterStillRefusesTheRevokedDevice() async throws {
        let f = try await LedgerFixture()
        let alert = LedgerFixture.alert(2)
        do {
            let w = try f.writer()
            _ = try await f.open(alert, on: w)
            _ = try await w.append(
                EntryDraft(kind: .deviceRevoked, [("device", f.created.ingestDevice.rawValue), ("reason", "revoked")]))
        }
        let w = try f.writer()
        do {
            _ = try await w.append(LedgerFixture.location(alert, fix: "geo:4,4"))
            Issue.record("a statement of a revoked device was appended after a restart")
        } catch let e as TemoinError {
            #expect(e.id == .deviceRevoked)
        }
    }

    @Test func aStaffAccountAddedOrChangedByHandIsNamedByTheAudit() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let id = String(repeating: "a1", count: 16)
        _ = try await w.append(Self.account(id, name: "Claire", role: .legal, token: "tmn_one"))
        var revoke = EntryDraft(kind: .accountRevoked, [("account", id)])
        revoke.sideRow = .accountRevocation(id: id)
        _ = try await w.append(revoke)
        let other = String(repeating: "b2", count: 16)
        _ = try await w.append(Self.account(other, name: "Paul", role: .caseworker, token: "tmn_two"))
        #expect(try f.audit().problems.isEmpty)
        let db = try f.rawDatabase()

        // A role raised in the table.
        try db.execute("UPDATE accounts SET role = 'legal' WHERE id = '\(other)'")
        #expect(try f.audit().names("account \(other)"))
        try db.execute("UPDATE accounts SET role = 'caseworker' WHERE id = '\(other)'")
        // A revocation undone in the table.
        try db.execute("UPDATE accounts SET revoked_entry = NULL WHERE id = '\(id)'")
        #expect(try f.audit().names("account \(id)"))
        try db.execute("UPDATE accounts SET revoked_entry = (SELECT MAX(idx) - 1 FROM entries) WHERE id = '\(id)'")
        #expect(try f.audit().problems.isEmpty)
        // An account added by hand, with no entry.
        let forged = String(repeating: "c3", count: 16)
        try db.execute(
            "INSERT INTO accounts (id, name, role, token_hash, created_entry) VALUES ('\(forged)', 'Root', 'legal', "
                + "x'\(SHA256.hash(Array("tmn_forged".utf8)).hex)', 1)")
        #expect(try f.audit().names("account \(forged)"))
        try db.execute("DELETE FROM accounts WHERE id = '\(forged)'")
        // An account deleted from the table.
        try db.execute("DELETE FROM accounts WHERE id = '\(other)'")
        #expect(try f.audit().names("account \(other)"))
    }

    @Test func aTokenIsFoundByItsHashOnlyAndItsNameIsUniqueAmongActiveAccounts() async throws {
        let f = try await LedgerFixture()
        let w = try f.writer()
        let id = String(repeating: "d4", count: 16)
        _ = try await w.append(Self.account(id, name: "Léa", role: .police, token: "tmn_lea"))
        let reader = try LedgerReader(directory: f.directory)
        #expect(try reader.account(tokenHash: SHA256.hash(Array("tmn_lea".utf8)))?.id == id)
        #expect(try reader.account(tokenHash: SHA256.hash(Array("tmn_other".utf8))) == nil)
        // Two active accounts cannot share a name: the second group is refused whole.
        await #expect(throws: TemoinError.self) {
            _ = try await w.append(
                Self.account(String(repeating: "e5", count: 16), name: "Léa", role: .legal, token: "tmn_x"))
        }
        #expect(try reader.accounts().count == 1)
        #expect(try f.audit().problems.isEmpty)
    }
}
