package import TemoinAPI
import TemoinCore
import TemoinCrypto
package import TemoinLedger

/// Creating and revoking accounts, for the staff API (an admin account) and the admin API (the
/// operator's command line).
package struct Accounts {
    let writer: LedgerWriter
    let reader: LedgerReader

    package init(writer: LedgerWriter, reader: LedgerReader) {
        self.writer = writer
        self.reader = reader
    }

    package func create(
        name rawName: String, role rawRole: String,
        record: (String) -> EntryDraft? = { _ in nil }
    ) async throws -> AccountCreatedResponse {
        let name = try StaffText.parse(rawName, field: "name")
        guard let role = StaffRole(rawValue: rawRole) else {
            throw TemoinError(
                .accountBadRole, "role is one of \(StaffRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard try !reader.accounts().contains(where: { $0.name == name && !$0.isRevoked }) else {
            throw TemoinError(
                .accountExists, "an account named '\(name)' exists; revoke it first or choose another name")
        }
        let id = StaffToken.newID()
        let token = StaffToken.generate()
        var draft = EntryDraft(
            kind: .accountCreated,
            [
                ("account", id), ("role", role.rawValue), ("name-sha256", SHA256.hash(Array(name.utf8)).hex),
                ("token-sha256", StaffToken.hash(token).hex),
            ])
        draft.sideRow = .account(id: id, name: name, role: role, tokenHash: StaffToken.hash(token))
        let appended = try await writer.append(group: [draft] + [record(id)].compactMap { $0 })
        return AccountCreatedResponse(id: id, name: name, role: role.rawValue, token: token, index: appended[0].index)
    }

    package func revoke(
        _ account: StaffAccount, record: (String) -> EntryDraft? = { _ in nil }
    ) async throws
        -> AccountRevokedResponse
    {
        guard !account.isRevoked else {
            throw TemoinError(.accountUnknown, "account '\(account.name)' is already revoked")
        }
        var draft = EntryDraft(kind: .accountRevoked, [("account", account.id)])
        draft.sideRow = .accountRevocation(id: account.id)
        let appended = try await writer.append(group: [draft] + [record(account.id)].compactMap { $0 })
        return AccountRevokedResponse(id: account.id, name: account.name, index: appended[0].index)
    }
}
