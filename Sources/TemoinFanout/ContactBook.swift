public import TemoinCore
import TemoinCrypto
public import TemoinLedger

/// A device's trusted contacts: up to five people texted when its alert opens, and the name they
/// know the person by. Every change is one `contacts.changed` entry (the list's hash, never a name
/// or number) committed with the sealed rows; changes go one at a time (an actor), so two staff
/// adding a contact at once both land.
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

    /// Adds a contact at the end of the list (`contacts.too-many` past five; a number already in
    /// the list is refused). `with`: entries committed in the same transaction (a staff access).
    public func add(
        _ device: DeviceID, name: String, phone: PhoneNumber, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> (contact: Contact, appended: Appended) {
        let current = try changeable(device)
        guard current.contacts.count < Contact.maximumPerDevice else {
            throw TemoinError(
                .contactsTooMany,
                "device \(device) already has \(Contact.maximumPerDevice) contacts: remove one before adding another")
        }
        guard !current.contacts.contains(where: { $0.phone == phone }) else {
            throw TemoinError(.contactsInvalidPhone, "\(phone.masked) is already a contact of device \(device)")
        }
        let contact = try Contact.new(name: name, phone: phone, position: current.contacts.count + 1)
        let appended = try await store(
            device, person: current.person, contacts: current.contacts + [contact], by: author, with: extra)
        return (contact, appended)
    }

    /// Removes a contact (`contact.unknown` if the device has no such contact); the others move up.
    public func remove(
        _ device: DeviceID, contact: ContactID, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> Appended {
        let current = try changeable(device)
        guard current.contacts.contains(where: { $0.id == contact }) else {
            throw TemoinError(.contactUnknown, "device \(device) has no contact \(contact)")
        }
        return try await store(
            device, person: current.person, contacts: current.contacts.filter { $0.id != contact }, by: author,
            with: extra)
    }

    /// Sets (or with nil, clears) the name the contacts know the person by, used in the text.
    public func setPerson(
        _ device: DeviceID, person: String?, by author: Author, with extra: [EntryDraft] = []
    ) async throws -> Appended {
        let current = try changeable(device)
        let name = try person.map { p throws(TemoinError) in try ContactText.parse(p, field: "person") }
        return try await store(device, person: name, contacts: current.contacts, by: author, with: extra)
    }

    private func changeable(_ device: DeviceID) throws(TemoinError) -> Listing {
        guard let credential = try reader.deviceCredential(device: device) else {
            throw TemoinError(.ledgerUnknownDevice, "device \(device) is not enrolled")
        }
        guard !credential.revoked else {
            throw TemoinError(.deviceRevoked, "device \(device) is revoked: its contacts were destroyed with it")
        }
        return try list(device)
    }

    private func store(
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
        var draft = EntryDraft(
            kind: .contactsChanged,
            [
                ("device", device.rawValue), ("actor", author.actor), ("role", author.role),
                ("count", String(rows.count)), ("contacts-sha256", ContactSealing.listHash(of: rows).hex),
            ])
        draft.sideRow = .contacts(ContactList(device: device, contacts: rows, person: sealedPerson))
        return try await writer.append(group: [draft] + extra)[0]
    }
}
