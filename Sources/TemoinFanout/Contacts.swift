public import TemoinCore
public import TemoinCrypto
public import TemoinLedger

/// A trusted contact, in clear (only in memory): the ledger and the database never hold these
/// fields unsealed.
public struct Contact: Sendable, Equatable {
    /// At most five contacts per device.
    public static let maximumPerDevice = 5
    public static let maximumNameLength = 64

    public let id: ContactID
    /// 1…5, the order of the list.
    public let position: Int
    public let name: String
    public let phone: PhoneNumber
    /// 32 random bytes, sealed with the contact: the number's hash is salted so that nobody can find
    /// the number back from the ledger by trying every number (there are only about 10⁹ in France).
    public let salt: [UInt8]

    public init(id: ContactID, position: Int, name: String, phone: PhoneNumber, salt: [UInt8]) {
        self.id = id
        self.position = position
        self.name = name
        self.phone = phone
        self.salt = salt
    }

    /// A new contact with a new id and salt; the name is checked (`contacts.invalid-name`).
    public static func new(name: String, phone: PhoneNumber, position: Int) throws(TemoinError) -> Contact {
        Contact(
            id: ContactID.random(), position: position, name: try ContactText.parse(name, field: "name"),
            phone: phone, salt: try SecureRandom.bytes(32))
    }

    /// `number-sha256` of the `sms.*` entries: SHA-256 of the salt then the E.164 number's bytes.
    public var numberHash: Hash { SHA256.hash(salt + Array(phone.e164.utf8)) }

    /// What an error may repeat of a mistyped number: its length and last two characters only (it is
    /// still someone's number, and errors reach logs and problem bodies).
    static func maskedInput(_ text: String) -> String {
        let kept = String(
            text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.suffix(2).map(Character.init))
        return String(repeating: "•", count: min(max(0, text.count - 2), 20)) + kept
    }

    /// Parses a phone number given by staff (`contacts.invalid-phone` with what is expected).
    public static func phone(_ text: String) throws(TemoinError) -> PhoneNumber {
        guard let phone = PhoneNumber(text) else {
            throw TemoinError(
                .contactsInvalidPhone,
                "'\(Self.maskedInput(text))' is not a phone number: give it in E.164 form (+33612345678), or as "
                    + "a French number of ten digits (06 12 34 56 78)")
        }
        return phone
    }
}

/// A name typed by staff for a contact or the person: one line, 1 to 64 characters, trimmed.
/// Characters are Unicode scalars (code points), as the OpenAPI contract's pattern counts them
/// (`StaffText` says why grapheme clusters will not do: one can hold any number of scalars).
public enum ContactText {
    /// The name her contacts know the person by, which goes into every text: letters (any script),
    /// spaces, `-`, `'` and `.` only — no digits, `:` or `/`, so that nobody can slip a phone number
    /// or a link into the texts through it.
    public static func parsePerson(_ raw: String) throws(TemoinError) -> String {
        let name = try parse(raw, field: "person")
        guard name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || " -'’.".unicodeScalars.contains($0) })
        else {
            throw TemoinError(
                .contactsInvalidName, "the person's name has letters, spaces, - and ' only (it goes into every text)")
        }
        return name
    }

    public static func parse(_ raw: String, field: String) throws(TemoinError) -> String {
        let scalars = raw.unicodeScalars
        let start = scalars.firstIndex { $0 != " " } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " }.map(scalars.index(after:)) ?? start
        let trimmed = String(String.UnicodeScalarView(scalars[start..<end]))
        guard !trimmed.isEmpty else { throw TemoinError(.contactsInvalidName, "\(field) is empty") }
        guard trimmed.unicodeScalars.count <= Contact.maximumNameLength else {
            throw TemoinError(
                .contactsInvalidName, "\(field) is longer than \(Contact.maximumNameLength) characters")
        }
        guard EntryFieldType.text.accepts(trimmed),
            !trimmed.unicodeScalars.contains(where: { $0.properties.isBidiControl })
        else {
            throw TemoinError(.contactsInvalidName, "\(field) contains a control character")
        }
        return trimmed
    }
}

/// How contacts are sealed under their device's key, and the hash the ledger keeps of a list
/// (Docs/fanout.md, "Storage").
public enum ContactSealing {
    static let contactLabel = "temoin/contact/v1\n"
    static let personLabel = "temoin/person/v1\n"

    /// `temoin/contact/v1\n` name `\n` number `\n` base64(salt), sealed (AES-256-GCM) with the
    /// additional data `temoin/contact/v1\n` and the contact id.
    public static func seal(_ c: Contact, key: SymmetricKey) throws(TemoinError) -> [UInt8] {
        let plain = Array((contactLabel + c.name + "\n" + c.phone.e164 + "\n" + Base64.encode(c.salt)).utf8)
        return try SealedRecord.seal(plain, key: key, aad: Array((contactLabel + c.id.rawValue).utf8))
    }

    public static func open(_ row: ContactRow, key: SymmetricKey) throws(TemoinError) -> Contact {
        let plain = try SealedRecord.open(
            row.sealed, key: key, aad: Array((contactLabel + row.id.rawValue).utf8), what: "contact \(row.id)")
        let lines = String(decoding: plain, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 4, lines[0] == "temoin/contact/v1", let phone = PhoneNumber(String(lines[2])),
            let salt = Base64.decode(String(lines[3])), salt.count == 32
        else { throw TemoinError(.ledgerCorrupt, "the sealed record of contact \(row.id) is malformed") }
        let contact = Contact(id: row.id, position: row.position, name: String(lines[1]), phone: phone, salt: salt)
        guard contact.numberHash == row.numberHash else {
            throw TemoinError(.ledgerCorrupt, "contact \(row.id): its number does not match its stored hash")
        }
        return contact
    }

    public static func sealPerson(_ name: String, device: DeviceID, key: SymmetricKey) throws(TemoinError) -> [UInt8] {
        try SealedRecord.seal(Array(name.utf8), key: key, aad: Array((personLabel + device.rawValue).utf8))
    }

    public static func openPerson(
        _ sealed: [UInt8], device: DeviceID, key: SymmetricKey
    ) throws(TemoinError)
        -> String
    {
        String(
            decoding: try SealedRecord.open(
                sealed, key: key, aad: Array((personLabel + device.rawValue).utf8), what: "the person's name"),
            as: UTF8.self)
    }

    /// `contacts-sha256` of `contacts.changed`: SHA-256 of `temoin/contacts/v1\n` then, per
    /// contact in list order, `position SP contact-id SP number-sha256-hex LF`.
    public static func listHash(_ rows: [(position: Int, id: ContactID, numberHash: Hash)]) -> Hash {
        ContactListHash.of(rows)
    }

    public static func listHash(of rows: [ContactRow]) -> Hash {
        listHash(rows.map { ($0.position, $0.id, $0.numberHash) })
    }
}
