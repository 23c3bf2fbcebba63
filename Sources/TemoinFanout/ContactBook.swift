public import TemoinCore
import TemoinCrypto
public import TemoinLedger

/// A device's trusted contacts: up to five people texted when its alert opens, and the name they
/// know the person by. Every change is one `contacts.changed` entry (the list's hash, never a name
/// or number) committed with the sealed rows. A change reads the list, then writes the whole new
/// list, so changes go one at a time in the process (`ContactChanges`, whichever `ContactBook`
/// makes them: an actor alone would let two interleave at their `await`s and the second would drop
/// what the first added): two staff adding a contact at once both land.
public actor ContactBook {
    /// A device's list in clear, for staff allowed to manage devices.
    public struct Listing: Sendable, Equatable {
        public let device: DeviceID
        public let person: String?
        public let contacts: [Contact]
    }

    /// Who made a change, as entries name staff (`actor` id, `role` token).
    public struct Author: Sendable {
        public let actor: String
        public let role: String

        public init(actor: String, role: String) {
            self.actor = actor
            self.role = role
        }
    }

    public nonisolated let writer: LedgerWriter
    public nonisolated let reader: LedgerReader

    public init(writer: LedgerWriter, reader: LedgerReader) {
        self.writer = writer
        self.reader = reader
    }

    /// The device's list; empty for an enrolled device without contacts (`ledger.unknown-device`
    /// for one never enrolled).
    public nonisolated func list(_ device: DeviceID) throws(TemoinError) -> Listing {
        guard try reader.deviceCredential(device: device) != nil else {
            throw TemoinError(.ledgerUnknownDevice, "device \(device) is not enrolled")
        }
        guard let (key, sealedPerson) = try reader.deviceKey(device) else {
            return Listing(device: device, person: nil, contacts: [])
        }
        let contacts = try reader.contactRows(device: device).map { row throws(TemoinError) in
            try ContactSealing.open(row, key: key)
        }
        let person = try sealedPerson.map { sealed throws(TemoinError) in
            try ContactSealing.openPerson(sealed, device: device, key: key)
        }
        return Listing(device: device, person: person, contacts: contacts)
    }

    /// The list of a device still in service: `ledger.unknown-device` for one never enrolled,
    /// `device.revoked` for one revoked (its contacts were destroyed with it, or moved to the
    /// device that replaced it).
    public nonisolated func changeable(_ device: DeviceID) throws(TemoinError) -> Listing {
        guard let credential = try reader.deviceCredential(device: device) else {
            throw TemoinError(.ledgerUnknownDevice, "device \(device) is not enrolled")
        }
        guard !credential.revoked else {
            throw TemoinError(
                .deviceRevoked,
                "device \(device) is revoked: its contacts were destroyed with it, or moved to the device that "
                    + "replaced it")
        }
        return try list(device)
    }

    /// Adds a contact at the end of the list (`contacts.too-many` past five; a number already in
    /// the list is refused). `with`: entries committed in the same transaction (a staff access).
    public func add(
        _ device: DeviceID, name: String, phone: PhoneNumber, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> (contact: Contact, appended: Appended) {
        try await ContactChanges.shared.one {
            let current = try self.changeable(device)
            guard current.contacts.count < Contact.maximumPerDevice else {
                throw TemoinError(
                    .contactsTooMany,
                    "device \(device) already has \(Contact.maximumPerDevice) contacts: remove one before adding "
                        + "another")
            }
            guard !current.contacts.contains(where: { $0.phone == phone }) else {
                throw TemoinError(.contactsInvalidPhone, "\(phone.masked) is already a contact of device \(device)")
            }
            let contact = try Contact.new(name: name, phone: phone, position: current.contacts.count + 1)
            let appended = try await self.store(
                device, person: current.person, contacts: current.contacts + [contact], by: author, with: extra)
            return (contact, appended)
        }
    }

    /// Removes a contact (`contact.unknown` if the device has no such contact); the others move up.
    public func remove(
        _ device: DeviceID, contact: ContactID, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> Appended {
        try await ContactChanges.shared.one {
            let current = try self.changeable(device)
            guard current.contacts.contains(where: { $0.id == contact }) else {
                throw TemoinError(.contactUnknown, "device \(device) has no contact \(contact)")
            }
            return try await self.store(
                device, person: current.person, contacts: current.contacts.filter { $0.id != contact }, by: author,
                with: extra)
        }
    }

    /// Sets (or with nil, clears) the name the contacts know the person by, used in the text.
    public func setPerson(
        _ device: DeviceID, person: String?, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> Appended {
        let name = try person.map { p throws(TemoinError) in try ContactText.parsePerson(p) }
        return try await ContactChanges.shared.one {
            let current = try self.changeable(device)
            return try await self.store(device, person: name, contacts: current.contacts, by: author, with: extra)
        }
    }

    /// Appends `group`, which revokes `old` (its `device.revoked` draft with `sideRow =
    /// .contactsTransfer(to: new)`, so the writer moves the rows and the key) and enrolls `new`;
    /// if `old` had contacts or a person's name, a `contacts.changed` of `new` goes last in the
    /// group: the same rows (the same `count` and `contacts-sha256` as `old`'s last list), so the
    /// ledger shows the list moved, and the person's name sealed again for `new`. All or nothing,
    /// one change at a time with the others (a contact added meanwhile is not lost).
    public func replace(
        _ old: DeviceID, with new: DeviceID, by author: Author, group: [EntryDraft]
    ) async throws -> [Appended] {
        try await ContactChanges.shared.one {
            var drafts = group
            if try self.reader.deviceCredential(device: old) != nil,
                let (key, sealedPerson) = try self.reader.deviceKey(old)
            {
                let rows = try self.reader.contactRows(device: old).map {
                    ContactRow(
                        id: $0.id, device: new, position: $0.position, sealed: $0.sealed, numberHash: $0.numberHash)
                }
                let person = try sealedPerson.map { sealed throws(TemoinError) in
                    try ContactSealing.sealPerson(
                        try ContactSealing.openPerson(sealed, device: old, key: key), device: new, key: key)
                }
                if !rows.isEmpty || person != nil {
                    drafts.append(Self.draft(new, rows: rows, person: person, by: author))
                }
            }
            return try await self.writer.append(group: drafts)
        }
    }

    private nonisolated func store(
        _ device: DeviceID, person: String?, contacts: [Contact], by author: Author, with extra: [EntryDraft]
    ) async throws -> Appended {
        let key = try await writer.deviceKey(for: device)
        var rows = [ContactRow]()
        for (i, c) in contacts.enumerated() {
            let placed = Contact(id: c.id, position: i + 1, name: c.name, phone: c.phone, salt: c.salt)
            rows.append(
                ContactRow(
                    id: c.id, device: device, position: i + 1, sealed: try ContactSealing.seal(placed, key: key),
                    numberHash: c.numberHash))
        }
        let sealedPerson = try person.map { p throws(TemoinError) in
            try ContactSealing.sealPerson(p, device: device, key: key)
        }
        return try await writer.append(
            group: [Self.draft(device, rows: rows, person: sealedPerson, by: author)] + extra)[0]
    }

    /// A `contacts.changed` draft with its rows.
    static func draft(_ device: DeviceID, rows: [ContactRow], person: [UInt8]?, by author: Author) -> EntryDraft {
        var draft = EntryDraft(
            kind: .contactsChanged,
            [
                ("device", device.rawValue), ("actor", author.actor), ("role", author.role),
                ("count", String(rows.count)), ("contacts-sha256", ContactSealing.listHash(of: rows).hex),
            ])
        draft.sideRow = .contacts(ContactList(device: device, contacts: rows, person: person))
        return draft
    }
}

/// Contact changes of this process, one after the other in the order they were asked for: each
/// starts once the one before it has ended (committed or failed).
actor ContactChanges {
    static let shared = ContactChanges()
    private var last: Task<Void, Never>?

    func one<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let before = last
        let task = Task { () async throws -> T in
            await before?.value
            return try await body()
        }
        last = Task { _ = await task.result }
        return try await task.value
    }
}
