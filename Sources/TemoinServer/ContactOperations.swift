package import TemoinAPI
package import TemoinCore
package import TemoinFanout
package import TemoinLedger

/// A device's trusted contacts and an alert's live-location links, as the staff API, the console,
/// the administration API (`temoin contacts` and `temoin links` through the running service) and
/// those commands on a stopped service all change them: the input checked first (`400`, `404`:
/// nothing appended), then one commit holding the change and what records it, then the answer.
///
/// Names and numbers are in the answers of the list alone, never in an entry, a log line or an
/// error message (a number already listed is named masked).
package struct ContactOperations: Sendable {
    package let book: ContactBook
    package let author: ContactBook.Author
    /// The entries that record an operation (`staff.access` with this action and the device's id
    /// as target), committed with it; none where the change's own entry says enough.
    package let record: @Sendable (_ action: String, _ target: String) -> [EntryDraft]

    package init(
        book: ContactBook, author: ContactBook.Author,
        record: @escaping @Sendable (_ action: String, _ target: String) -> [EntryDraft]
    ) {
        self.book = book
        self.author = author
        self.record = record
    }

    /// For the operator's shell: the contacts' listing is recorded (`staff.access`, action
    /// `list-contacts`, role `operator`); a change is recorded by its `contacts.changed` entry,
    /// which names the operator.
    package static func forOperator(_ id: String, writer: LedgerWriter, reader: LedgerReader) -> ContactOperations {
        ContactOperations(
            book: ContactBook(writer: writer, reader: reader), author: .init(actor: id, role: "operator")
        ) { action, target in
            guard action == "list-contacts" else { return [] }
            return [
                EntryDraft(
                    kind: .staffAccess,
                    [("actor", id), ("role", "operator"), ("action", action), ("target", target)])
            ]
        }
    }

    var writer: LedgerWriter { book.writer }
    var reader: LedgerReader { book.reader }

    /// A device id from a path or an option; one that cannot be a device id is `device.unknown`
    /// (403), as on the device routes.
    package static func device(_ text: some StringProtocol) throws(TemoinError) -> DeviceID {
        guard let device = DeviceID(text) else {
            throw TemoinError(.deviceUnknown, "'\(text.prefix(64))' is not a device id (32 lowercase hex digits)")
        }
        return device
    }

    /// A contact id from a path or an option; one that cannot be a contact id names no contact
    /// (`contact.unknown`, 404).
    package static func contact(_ text: some StringProtocol) throws(TemoinError) -> ContactID {
        guard let contact = ContactID(text) else {
            throw TemoinError(.contactUnknown, "'\(text.prefix(64))' is not a contact id (32 lowercase hex digits)")
        }
        return contact
    }

    /// The list, in order, with the full numbers: the listing is recorded first, committed before
    /// anything is served (it reveals third parties' numbers).
    package func list(_ device: DeviceID) async throws -> ContactListResponse {
        try inService(device)
        let records = record("list-contacts", device.rawValue)
        if !records.isEmpty { _ = try await writer.append(group: records) }
        let listing = try book.changeable(device)
        return ContactListResponse(
            device: device.rawValue, person: listing.person, contacts: listing.contacts.map(Self.view))
    }

    /// Adds a contact at the end of the list.
    package func add(_ device: DeviceID, _ request: ContactRequest) async throws -> ContactAddedResponse {
        let phone = try Contact.phone(request.phone)
        let name = try ContactText.parse(request.name, field: "name")
        let (contact, appended) = try await book.add(
            device, name: name, phone: phone, by: author, with: record("add-contact", device.rawValue))
        return ContactAddedResponse(device: device.rawValue, contact: Self.view(contact), index: appended.index)
    }

    /// Removes a contact; those after it move up.
    package func remove(_ device: DeviceID, contact: ContactID) async throws -> ContactsChangedResponse {
        let appended = try await book.remove(
            device, contact: contact, by: author, with: record("remove-contact", device.rawValue))
        return changed(device, appended)
    }

    /// Sets, or with nil clears, the name the contacts know the person by.
    package func setPerson(_ device: DeviceID, _ request: PersonRequest) async throws -> ContactsChangedResponse {
        let person = try request.person.map { p throws(TemoinError) in try ContactText.parsePerson(p) }
        let appended = try await book.setPerson(
            device, person: person, by: author, with: record("set-person", device.rawValue))
        return changed(device, appended)
    }

    /// Closes a contact's live-location link to an alert: a `link.revoked` entry naming who
    /// (`alert.unknown` 404 for no such alert; the writer refuses `link.unknown` 404 when the alert
    /// has no link for the contact and `link.already-revoked` 409 the second time).
    package func revokeLink(alert: AlertID, contact: ContactID) async throws -> LinkRevokedResponse {
        guard try reader.opening(alert: alert) != nil else {
            throw TemoinError(.alertUnknown, "there is no alert \(alert)")
        }
        let appended = try await writer.append(
            EntryDraft(
                kind: .linkRevoked, alert: alert,
                [("contact", contact.rawValue), ("actor", author.actor), ("role", author.role)]))
        return LinkRevokedResponse(alert: alert.rawValue, contact: contact.rawValue, index: appended.index)
    }

    /// An enrolled device not revoked, or its refusal (nothing appended).
    private func inService(_ device: DeviceID) throws(TemoinError) {
        guard let credential = try reader.deviceCredential(device: device) else {
            throw TemoinError(.ledgerUnknownDevice, "device \(device) is not enrolled")
        }
        guard !credential.revoked else {
            throw TemoinError(
                .deviceRevoked,
                "device \(device) is revoked: its contacts were destroyed with it, or moved to the device that "
                    + "replaced it")
        }
    }

    private func changed(_ device: DeviceID, _ appended: Appended) -> ContactsChangedResponse {
        ContactsChangedResponse(
            device: device.rawValue, count: Int(appended.entry.uint("count") ?? 0), index: appended.index)
    }

    static func view(_ c: Contact) -> ContactView {
        ContactView(id: c.id.rawValue, position: c.position, name: c.name, phone: c.phone.e164)
    }

    /// An alert's texts, one per contact texted, as staff who may read the alert see them: state,
    /// attempts, the last failure, the link's views; no name, no number.
    package static func fanout(_ alert: AlertID, reader: LedgerReader) throws -> FanoutResponse {
        guard let opening = try reader.opening(alert: alert), let device = try opening.parsed().device else {
            throw TemoinError(.alertUnknown, "there is no alert \(alert)")
        }
        var links = [ContactID: LinkRow]()
        for (_, row) in try reader.links(alert: alert) where links[row.contact] == nil { links[row.contact] = row }
        var positions = [ContactID: Int]()
        for row in try reader.contactRows(device: device) { positions[row.id] = row.position }
        func time(_ ms: Int64) -> String { Timestamp(millisecondsSinceEpoch: ms).description }
        return FanoutResponse(
            alert: alert.rawValue, device: device.rawValue,
            texts: try reader.outbox(alert: alert).map { row in
                FanoutResponse.Text(
                    contact: row.contact.rawValue, position: positions[row.contact], state: row.state.rawValue,
                    attempts: row.attempts, lastError: row.lastError,
                    link: links[row.contact].map {
                        FanoutResponse.Link(
                            createdAt: time($0.created), views: $0.views, firstViewedAt: $0.firstViewed.map(time),
                            lastViewedAt: $0.lastViewed.map(time), revoked: $0.revoked)
                    })
            })
    }
}
