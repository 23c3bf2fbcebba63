public import TemoinCore

/// A staff account as stored (only its token's SHA-256: the token itself is shown once, at
/// creation). `createdEntry` and `revokedEntry` are its `account.created` and `account.revoked`
/// entries.
public struct StaffAccount: Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: StaffRole
    public let tokenHash: Hash
    public let createdEntry: UInt64
    public let revokedEntry: UInt64?

    public var isRevoked: Bool { revokedEntry != nil }
}

extension LedgerStore {
    func entries(kind: EntryKind, after: UInt64?, limit: Int) throws(TemoinError) -> [StoredEntry] {
        let s = try db.statement(
            "SELECT idx, leaf_hash, bytes FROM entries WHERE kind = ? AND idx > ? ORDER BY idx LIMIT ?"
        )
        .bind(.text(kind.rawValue), .int(after.map { Int64($0) } ?? -1), .int(Int64(limit)))
        defer { s.reset() }
        var out = [StoredEntry]()
        while let e = try storedEntry(s) { out.append(e) }
        return out
    }

    func entry(kind: EntryKind, subject: String) throws(TemoinError) -> StoredEntry? {
        let s = try db.statement(
            "SELECT idx, leaf_hash, bytes FROM entries WHERE subject = ? AND kind = ? ORDER BY idx LIMIT 1"
        )
        .bind(.text(subject), .text(kind.rawValue))
        defer { s.reset() }
        return try storedEntry(s)
    }

    func entryCount(alert: AlertID, kind: EntryKind) throws(TemoinError) -> UInt64 {
        let s = try db.statement("SELECT COUNT(*) FROM entries WHERE alert = ? AND kind = ?")
            .bind(.text(alert.rawValue), .text(kind.rawValue))
        defer { s.reset() }
        return try s.step() ? s.count(0) : 0
    }

    func account(tokenHash: Hash) throws(TemoinError) -> StaffAccount? {
        let s = try db.statement(
            "SELECT id, name, role, token_hash, created_entry, revoked_entry FROM accounts WHERE token_hash = ?"
        ).bind(.blob(tokenHash.bytes))
        defer { s.reset() }
        return try s.step() ? account(row: s) : nil
    }

    func accounts() throws(TemoinError) -> [StaffAccount] {
        // A ledger below schema 7 opened read-only has no account table, hence no account.
        let exists = try db.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'")
        defer { exists.reset() }
        guard try exists.step() else {
            guard let version = try db.pragma("user_version").flatMap({ Int($0) }), version < 7 else {
                throw corrupt("the account table is missing from a schema that has it")
            }
            return []
        }
        let s = try db.statement(
            "SELECT id, name, role, token_hash, created_entry, revoked_entry FROM accounts ORDER BY created_entry")
        defer { s.reset() }
        var out = [StaffAccount]()
        while try s.step() { out.append(try account(row: s)) }
        return out
    }

    func deviceLabel(device: DeviceID) throws(TemoinError) -> String? {
        let s = try db.statement("SELECT label FROM devices WHERE device = ?").bind(.text(device.rawValue))
        defer { s.reset() }
        return try s.step() ? s.text(0) : nil
    }

    private func account(row s: Statement) throws(TemoinError) -> StaffAccount {
        guard let id = s.text(0), let name = s.text(1), let role = s.text(2).flatMap(StaffRole.init(rawValue:)),
            let hash = Hash(s.blob(3))
        else { throw corrupt("an account row is malformed") }
        return StaffAccount(
            id: id, name: name, role: role, tokenHash: hash, createdEntry: try s.count(4),
            revokedEntry: s.isNull(5) ? nil : try s.count(5))
    }
}
