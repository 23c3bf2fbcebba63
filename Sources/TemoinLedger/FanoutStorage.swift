public import TemoinCore
import TemoinCrypto

// The fan-out's rows (Docs/fanout.md): trusted contacts, each device's contact key, the outbox of
// texts and the capability links of the live-location page. None of them is evidence: the ledger
// holds `contacts.changed`, `sms.*` and `link.*` entries with hashes only. Contacts are third
// parties' personal data, sealed under their device's key (wrapped by the master key) and
// destroyed with the device; an outbox message is sealed under its alert's key and wiped once
// delivered or given up.

/// One trusted contact as stored: its id, place in the list (1…5), its sealed details (name,
/// number, salt: opaque here) and the salted hash of its number (`number-sha256` of the entries).
public struct ContactRow: Sendable, Equatable {
    public let id: ContactID
    public let device: DeviceID
    public let position: Int
    public let sealed: [UInt8]
    public let numberHash: Hash

    public init(id: ContactID, device: DeviceID, position: Int, sealed: [UInt8], numberHash: Hash) {
        self.id = id
        self.device = device
        self.position = position
        self.sealed = sealed
        self.numberHash = numberHash
    }
}

/// A device's contact list as the writer stores it with a `contacts.changed` entry: every row
/// of the device is replaced, and the person's name as the contacts know her (sealed) with them.
public struct ContactList: Sendable, Equatable {
    public let device: DeviceID
    public let contacts: [ContactRow]
    /// The sealed name the contacts know the person by, or nil.
    public let person: [UInt8]?

    public init(device: DeviceID, contacts: [ContactRow], person: [UInt8]?) {
        self.device = device
        self.contacts = contacts
        self.person = person
    }
}

/// Where one text of the outbox stands.
public enum OutboxState: String, Sendable, CaseIterable {
    /// Not tried yet, or to be tried again at `nextAttempt`.
    case pending
    /// Handed to the gateway, outcome not recorded: after a crash the same message goes again
    /// with the same idempotency key (the provider drops the repeat).
    case sending
    /// Accepted by the provider (`sms.sent`).
    case sent
    /// Given up (`sms.failed` with outcome `given-up`).
    case failed
}

/// One text of the outbox: one per alert and contact, made in the transaction of `alert.opened`.
public struct OutboxRow: Sendable, Equatable {
    public let alert: AlertID
    public let contact: ContactID
    public let device: DeviceID
    public let state: OutboxState
    public let attempts: UInt64
    /// Milliseconds since the epoch before which it is not tried.
    public let nextAttempt: Int64
    /// The message as first composed (recipient, text, link), sealed under the alert's key; nil
    /// before the first attempt and once the message is sent or given up.
    public let sealed: [UInt8]?
    public let messageHash: Hash?
    public let numberHash: Hash?
    public let lastError: String?
    /// When the alert's opening was committed (milliseconds since the epoch).
    public let created: Int64
}

/// What the first attempt of a message stores before it goes out: the composed message, sealed,
/// its hashes, and the capability link the text carries.
public struct PreparedMessage: Sendable {
    public let sealed: [UInt8]
    public let messageHash: Hash
    public let numberHash: Hash
    public let linkHash: Hash

    public init(sealed: [UInt8], messageHash: Hash, numberHash: Hash, linkHash: Hash) {
        self.sealed = sealed
        self.messageHash = messageHash
        self.numberHash = numberHash
        self.linkHash = linkHash
    }
}

/// A capability link of the live-location page, found by the SHA-256 of its token.
public struct LinkRow: Sendable, Equatable {
    public let alert: AlertID
    public let contact: ContactID
    /// Milliseconds since the epoch.
    public let created: Int64
    public let revoked: Bool
    public let views: UInt64
    public let firstViewed: Int64?
    public let lastViewed: Int64?
}

/// A location fix of an alert, for the live-location page.
public struct StoredFix: Sendable, Equatable {
    public let index: UInt64
    public let fix: String

    public init(index: UInt64, fix: String) {
        self.index = index
        self.fix = fix
    }
}

/// `contacts-sha256` of `contacts.changed` (Docs/ledger-format.md): SHA-256 of
/// `temoin/contacts/v1\n` then, per contact in list order, `position SP contact-id SP
/// number-sha256-hex LF`.
public enum ContactListHash {
    public static func of(_ rows: [(position: Int, id: ContactID, numberHash: Hash)]) -> Hash {
        var text = "temoin/contacts/v1\n"
        for r in rows { text += "\(r.position) \(r.id.rawValue) \(r.numberHash.hex)\n" }
        return SHA256.hash(Array(text.utf8))
    }
}

/// What bounds the texts one device can cause.
public enum FanoutLimits {
    /// Alerts of one device whose opening texts its contacts, per rolling hour; later openings in
    /// that hour queue no text. A phone in an abuser's hands, pressed again and again, must not
    /// flood the contacts (nor spend the association's SMS credit); the victim's contacts were
    /// told by the first alerts, and the alerts themselves are all recorded.
    public static let alertsPerDevicePerHour = 6
}

/// The reads of the fan-out's rows (any reading session).
public protocol FanoutStoreReading: AnyObject {
    /// Every device that has contact rows.
    func contactDevices() throws(TemoinError) -> [DeviceID]
    /// The device's contacts in list order.
    func contacts(device: DeviceID) throws(TemoinError) -> [ContactRow]
    /// The device's wrapped contact key and sealed person name, if it has a key.
    func deviceKeyRow(_ device: DeviceID) throws(TemoinError) -> (key: WrappedAlertKey, person: [UInt8]?)?
    /// Outbox rows to try now: `pending` or `sending` with `nextAttempt` ≤ `now`, oldest first.
    func dueOutbox(now: Int64, limit: Int) throws(TemoinError) -> [OutboxRow]
    /// The earliest `nextAttempt` of a row still to try, if any.
    func nextOutboxAttempt() throws(TemoinError) -> Int64?
    /// An alert's outbox rows (for staff), in contact order.
    func outbox(alert: AlertID) throws(TemoinError) -> [OutboxRow]
    func link(tokenHash: Hash) throws(TemoinError) -> LinkRow?
    /// An alert's links, one per contact texted.
    func links(alert: AlertID) throws(TemoinError) -> [(hash: Hash, row: LinkRow)]
    /// The alert's latest `limit` location fixes still stored, newest first.
    func latestFixes(alert: AlertID, limit: Int) throws(TemoinError) -> [StoredFix]
}

/// The writes of the fan-out's rows, inside the writer's transaction (`LedgerStoreWriting`).
public protocol FanoutStoreWriting: FanoutStoreReading {
    /// Stores a device's contact key (one per device; a second is `sqlite.constraint`).
    func insertDeviceKey(_ device: DeviceID, _ key: WrappedAlertKey) throws(TemoinError)
    /// Replaces every contact row of the device, and its sealed person name.
    func replaceContacts(_ list: ContactList) throws(TemoinError)
    /// Deletes a device's contacts and key (crypto-shredding: the key row is overwritten).
    func deleteContacts(device: DeviceID) throws(TemoinError)
    /// After the device's list changed (or it was revoked): its texts to contacts no longer in the
    /// list are given up unsent (`failed`, `contact-removed`, sealed copy wiped) and their links
    /// closed by `entry`.
    func cancelTexts(device: DeviceID, entry: UInt64) throws(TemoinError)
    /// One `pending` row per contact of the device, due at `now`.
    func insertOutbox(alert: AlertID, device: DeviceID, now: Int64) throws(TemoinError)
    /// Before an attempt: `sending`, one more attempt, and on the first the message and its link.
    func markSending(
        alert: AlertID, contact: ContactID, prepared: PreparedMessage?, now: Int64)
        throws(TemoinError)
    /// After an attempt: the new state (`pending` with its next time, `sent`, `failed`); a final
    /// state wipes the sealed message.
    func recordOutcome(
        alert: AlertID, contact: ContactID, state: OutboxState, nextAttempt: Int64, error: String?)
        throws(TemoinError)
    func revokeLink(alert: AlertID, contact: ContactID, entry: UInt64) throws(TemoinError)
    /// Counts a view of a link (`views`, `first_viewed`, `last_viewed`).
    func recordLinkView(tokenHash: Hash, now: Int64) throws(TemoinError)
}

extension LedgerStore {
    private static let outboxColumns =
        "alert, contact, device, state, attempts, next_attempt, sealed, message_sha256, number_sha256, last_error, created"

    private func outboxRow(_ s: Statement) throws(TemoinError) -> OutboxRow {
        guard let alert = s.text(0).flatMap({ AlertID($0) }), let contact = s.text(1).flatMap({ ContactID($0) }),
            let device = s.text(2).flatMap({ DeviceID($0) }),
            let state = s.text(3).flatMap({ OutboxState(rawValue: $0) })
        else { throw corrupt("an outbox row has a malformed alert, contact, device or state") }
        return OutboxRow(
            alert: alert, contact: contact, device: device, state: state, attempts: try s.count(4),
            nextAttempt: s.int(5), sealed: s.isNull(6) ? nil : s.blob(6),
            messageHash: s.isNull(7) ? nil : Hash(s.blob(7)), numberHash: s.isNull(8) ? nil : Hash(s.blob(8)),
            lastError: s.text(9), created: s.int(10))
    }

    private func linkRow(_ s: Statement, from c: Int32) throws(TemoinError) -> LinkRow {
        guard let alert = s.text(c).flatMap({ AlertID($0) }), let contact = s.text(c + 1).flatMap({ ContactID($0) })
        else { throw corrupt("a link row has a malformed alert or contact") }
        return LinkRow(
            alert: alert, contact: contact, created: s.int(c + 2), revoked: !s.isNull(c + 3),
            views: try s.count(c + 4), firstViewed: s.isNull(c + 5) ? nil : s.int(c + 5),
            lastViewed: s.isNull(c + 6) ? nil : s.int(c + 6))
    }

    func contactDevices() throws(TemoinError) -> [DeviceID] {
        guard try hasFanoutTables() else { return [] }
        let s = try db.statement("SELECT DISTINCT device FROM contacts ORDER BY device")
        defer { s.reset() }
        var out = [DeviceID]()
        while try s.step() {
            guard let d = s.text(0).flatMap({ DeviceID($0) }) else {
                throw corrupt("a contact row has a malformed device")
            }
            out.append(d)
        }
        return out
    }

    func contacts(device: DeviceID) throws(TemoinError) -> [ContactRow] {
        guard try hasFanoutTables() else { return [] }
        let s = try db.statement(
            "SELECT id, position, sealed, number_sha256 FROM contacts WHERE device = ? ORDER BY position"
        ).bind(.text(device.rawValue))
        defer { s.reset() }
        var out = [ContactRow]()
        while try s.step() {
            guard let id = s.text(0).flatMap({ ContactID($0) }), let hash = Hash(s.blob(3)) else {
                throw corrupt("a contact row of device \(device) has a malformed id or hash")
            }
            out.append(
                ContactRow(id: id, device: device, position: Int(s.int(1)), sealed: s.blob(2), numberHash: hash))
        }
        return out
    }

    func deviceKeyRow(_ device: DeviceID) throws(TemoinError) -> (key: WrappedAlertKey, person: [UInt8]?)? {
        guard try hasFanoutTables() else { return nil }
        let s = try db.statement("SELECT wrapped, master, person FROM device_keys WHERE device = ?")
            .bind(.text(device.rawValue))
        defer { s.reset() }
        guard try s.step() else { return nil }
        return (WrappedAlertKey(wrapped: s.blob(0), master: s.text(1) ?? ""), s.isNull(2) ? nil : s.blob(2))
    }

    func dueOutbox(now: Int64, limit: Int) throws(TemoinError) -> [OutboxRow] {
        guard try hasFanoutTables() else { return [] }
        let s = try db.statement(
            "SELECT \(Self.outboxColumns) FROM outbox WHERE state IN ('pending', 'sending') AND next_attempt <= ? "
                + "ORDER BY next_attempt, created LIMIT ?"
        ).bind(.int(now), .int(Int64(limit)))
        defer { s.reset() }
        var out = [OutboxRow]()
        while try s.step() { out.append(try outboxRow(s)) }
        return out
    }

    func nextOutboxAttempt() throws(TemoinError) -> Int64? {
        guard try hasFanoutTables() else { return nil }
        let s = try db.statement(
            "SELECT MIN(next_attempt) FROM outbox WHERE state IN ('pending', 'sending')")
        defer { s.reset() }
        guard try s.step(), !s.isNull(0) else { return nil }
        return s.int(0)
    }

    func outbox(alert: AlertID) throws(TemoinError) -> [OutboxRow] {
        guard try hasFanoutTables() else { return [] }
        let s = try db.statement(
            """
            SELECT o.alert, o.contact, o.device, o.state, o.attempts, o.next_attempt, o.sealed, o.message_sha256,
            o.number_sha256, o.last_error, o.created FROM outbox o LEFT JOIN contacts c ON c.id = o.contact
            WHERE o.alert = ? ORDER BY c.position, o.contact
            """
        ).bind(.text(alert.rawValue))
        defer { s.reset() }
        var out = [OutboxRow]()
        while try s.step() { out.append(try outboxRow(s)) }
        return out
    }

    func link(tokenHash: Hash) throws(TemoinError) -> LinkRow? {
        guard try hasFanoutTables() else { return nil }
        let s = try db.statement(
            "SELECT alert, contact, created, revoked_entry, views, first_viewed, last_viewed FROM links "
                + "WHERE token_sha256 = ?"
        ).bind(.blob(tokenHash.bytes))
        defer { s.reset() }
        guard try s.step() else { return nil }
        return try linkRow(s, from: 0)
    }

    func links(alert: AlertID) throws(TemoinError) -> [(hash: Hash, row: LinkRow)] {
        guard try hasFanoutTables() else { return [] }
        let s = try db.statement(
            "SELECT token_sha256, alert, contact, created, revoked_entry, views, first_viewed, last_viewed "
                + "FROM links WHERE alert = ? ORDER BY created, contact"
        ).bind(.text(alert.rawValue))
        defer { s.reset() }
        var out = [(hash: Hash, row: LinkRow)]()
        while try s.step() {
            guard let hash = Hash(s.blob(0)) else { throw corrupt("a link row has a malformed hash") }
            out.append((hash, try linkRow(s, from: 1)))
        }
        return out
    }

    func latestFixes(alert: AlertID, limit: Int) throws(TemoinError) -> [StoredFix] {
        let s = try db.statement("SELECT entry, fix FROM locations WHERE alert = ? ORDER BY entry DESC LIMIT ?")
            .bind(.text(alert.rawValue), .int(Int64(limit)))
        defer { s.reset() }
        var out = [StoredFix]()
        while try s.step() { out.append(StoredFix(index: try s.count(0), fix: s.text(1) ?? "")) }
        return out
    }

    func insertDeviceKey(_ device: DeviceID, _ key: WrappedAlertKey) throws(TemoinError) {
        try db.statement("INSERT INTO device_keys (device, wrapped, master) VALUES (?, ?, ?)")
            .bind(.text(device.rawValue), .blob(key.wrapped), .text(key.master)).run()
    }

    func replaceContacts(_ list: ContactList) throws(TemoinError) {
        try db.statement("DELETE FROM contacts WHERE device = ?").bind(.text(list.device.rawValue)).run()
        for c in list.contacts {
            try db.statement(
                "INSERT INTO contacts (id, device, position, sealed, number_sha256) VALUES (?, ?, ?, ?, ?)"
            ).bind(
                .text(c.id.rawValue), .text(list.device.rawValue), .int(Int64(c.position)), .blob(c.sealed),
                .blob(c.numberHash.bytes)
            ).run()
        }
        try db.statement("UPDATE device_keys SET person = ? WHERE device = ?")
            .bind(list.person.map { .blob($0) } ?? .null, .text(list.device.rawValue)).run()
    }

    func deleteContacts(device: DeviceID) throws(TemoinError) {
        guard try hasFanoutTables() else { return }
        try db.statement("DELETE FROM contacts WHERE device = ?").bind(.text(device.rawValue)).run()
        try db.statement("DELETE FROM device_keys WHERE device = ?").bind(.text(device.rawValue)).run()
    }

    func insertOutbox(alert: AlertID, device: DeviceID, now: Int64) throws(TemoinError) {
        guard try hasFanoutTables() else { return }
        try db.statement(
            """
            INSERT OR IGNORE INTO outbox (
                alert, contact, device, state, attempts, next_attempt, created, number_sha256, last_error)
            SELECT ?, id, device, CASE WHEN capped THEN 'failed' ELSE 'pending' END, 0, ?, ?, number_sha256,
                CASE WHEN capped THEN 'rate-limited' END
            FROM contacts, (SELECT (SELECT COUNT(DISTINCT alert) FROM outbox WHERE device = ? AND created > ?) >= ?
                AS capped)
            WHERE device = ?
            """
        ).bind(
            .text(alert.rawValue), .int(now), .int(now), .text(device.rawValue), .int(now - 3_600_000),
            .int(Int64(FanoutLimits.alertsPerDevicePerHour)), .text(device.rawValue)
        ).run()
    }

    func cancelTexts(device: DeviceID, entry: UInt64) throws(TemoinError) {
        guard try hasFanoutTables() else { return }
        try db.statement(
            """
            UPDATE links SET revoked_entry = ? WHERE revoked_entry IS NULL
            AND contact IN (SELECT contact FROM outbox WHERE device = ?)
            AND contact NOT IN (SELECT id FROM contacts WHERE device = ?)
            """
        ).bind(.int(Int64(entry)), .text(device.rawValue), .text(device.rawValue)).run()
        try db.statement(
            """
            UPDATE outbox SET state = 'failed', sealed = NULL, last_error = 'contact-removed'
            WHERE device = ? AND state IN ('pending', 'sending')
            AND contact NOT IN (SELECT id FROM contacts WHERE device = ?)
            """
        ).bind(.text(device.rawValue), .text(device.rawValue)).run()
    }

    func markSending(alert: AlertID, contact: ContactID, prepared: PreparedMessage?, now: Int64) throws(TemoinError) {
        if let p = prepared {
            try db.statement(
                """
                UPDATE outbox SET state = 'sending', attempts = attempts + 1, sealed = ?, message_sha256 = ?,
                number_sha256 = ? WHERE alert = ? AND contact = ? AND sealed IS NULL
                """
            ).bind(
                .blob(p.sealed), .blob(p.messageHash.bytes), .blob(p.numberHash.bytes), .text(alert.rawValue),
                .text(contact.rawValue)
            ).run()
            guard db.changes == 1 else {
                throw TemoinError(.fanoutOutboxState, "the text of alert \(alert) to contact \(contact) is not new")
            }
            try db.statement(
                "INSERT INTO links (token_sha256, alert, contact, created) VALUES (?, ?, ?, ?)"
            ).bind(.blob(p.linkHash.bytes), .text(alert.rawValue), .text(contact.rawValue), .int(now)).run()
        } else {
            try db.statement(
                """
                UPDATE outbox SET state = 'sending', attempts = attempts + 1
                WHERE alert = ? AND contact = ? AND sealed IS NOT NULL AND state IN ('pending', 'sending')
                """
            ).bind(.text(alert.rawValue), .text(contact.rawValue)).run()
            guard db.changes == 1 else {
                throw TemoinError(.fanoutOutboxState, "the text of alert \(alert) to contact \(contact) is not due")
            }
        }
    }

    func recordOutcome(
        alert: AlertID, contact: ContactID, state: OutboxState, nextAttempt: Int64, error: String?
    ) throws(TemoinError) {
        let final = state == .sent || state == .failed
        try db.statement(
            "UPDATE outbox SET state = ?, next_attempt = ?, last_error = ?"
                + (final ? ", sealed = NULL" : "") + " WHERE alert = ? AND contact = ?"
        ).bind(
            .text(state.rawValue), .int(nextAttempt), error.map { .text($0) } ?? .null, .text(alert.rawValue),
            .text(contact.rawValue)
        ).run()
    }

    func revokeLink(alert: AlertID, contact: ContactID, entry: UInt64) throws(TemoinError) {
        try db.statement("UPDATE links SET revoked_entry = ? WHERE alert = ? AND contact = ? AND revoked_entry IS NULL")
            .bind(.int(Int64(entry)), .text(alert.rawValue), .text(contact.rawValue)).run()
    }

    func recordLinkView(tokenHash: Hash, now: Int64) throws(TemoinError) {
        try db.statement(
            "UPDATE links SET views = views + 1, first_viewed = COALESCE(first_viewed, ?), last_viewed = ? "
                + "WHERE token_sha256 = ?"
        ).bind(.int(now), .int(now), .blob(tokenHash.bytes)).run()
    }
}
