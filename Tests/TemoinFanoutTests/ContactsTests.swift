import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinLedger
import Testing

/// Contacts are third parties' personal data: numbers are validated to E.164, sealed under their
/// device's key, and the ledger keeps only salted hashes that nobody can turn back into a number.
struct ContactsTests {
    @Test(arguments: [
        ("+33612345678", "+33612345678"), ("06 12 34 56 78", "+33612345678"), ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"), ("+1 (415) 555-2671", "+14155552671"),
        ("+447911123456", "+447911123456"),
    ])
    func phoneNumbersAreNormalisedToE164(input: String, e164: String) {
        #expect(PhoneNumber(input)?.e164 == e164)
    }

    @Test(arguments: [
        "", "+", "612345678", "0012345678", "+0612345678", "+3306123456789", "+336123456", "+33 0612345678",
        "+1234567", "+1234567890123456", "06 12 34 56 7a", "+33612345678;", "+33\u{0663}12345678", "6+33612345678",
        "＋33612345678", "+33 6 12 34 56 78\n",
    ])
    func anythingElseIsNotAPhoneNumber(input: String) {
        #expect(PhoneNumber(input) == nil)
    }

    @Test func aMaskedNumberShowsOnlyTheCountryAndLastTwoDigits() {
        #expect(PhoneNumber("+33612345678")?.masked == "+336••••••78")
        #expect(PhoneNumber("+14155552671")?.masked == "+14•••••••71")
    }

    @Test func aSealedContactOpensOnlyWithItsKeyAndRow() throws {
        let key = try SymmetricKey.random()
        let contact = try Contact.new(name: "Paul", phone: try Contact.phone("06 12 34 56 78"), position: 1)
        let device = DeviceID.random()
        let row = ContactRow(
            id: contact.id, device: device, position: 1, sealed: try ContactSealing.seal(contact, key: key),
            numberHash: contact.numberHash)
        #expect(try ContactSealing.open(row, key: key) == contact)
        #expect(!String(decoding: row.sealed, as: UTF8.self).contains("612345678"))
        #expect(throws: TemoinError.self) { try ContactSealing.open(row, key: try SymmetricKey.random()) }
        let moved = ContactRow(
            id: ContactID.random(), device: device, position: 1, sealed: row.sealed, numberHash: row.numberHash)
        #expect(throws: TemoinError.self) { try ContactSealing.open(moved, key: key) }
    }

    @Test func theNumberHashIsSaltedPerContact() throws {
        let phone = try Contact.phone("+33612345678")
        let a = try Contact.new(name: "A", phone: phone, position: 1)
        let b = try Contact.new(name: "B", phone: phone, position: 2)
        #expect(a.numberHash != b.numberHash)
        #expect(a.numberHash != SHA256.hash(Array("+33612345678".utf8)))
    }

    @Test func theListHashCommitsToOrderIdsAndNumbers() throws {
        let a = try Contact.new(name: "A", phone: try Contact.phone("+33612345678"), position: 1)
        let b = try Contact.new(name: "B", phone: try Contact.phone("+33712345678"), position: 2)
        let ab = ContactSealing.listHash([(1, a.id, a.numberHash), (2, b.id, b.numberHash)])
        let ba = ContactSealing.listHash([(1, b.id, b.numberHash), (2, a.id, a.numberHash)])
        #expect(ab != ba)
        #expect(
            ContactSealing.listHash([(position: Int, id: ContactID, numberHash: Hash)]())
                == SHA256.hash(Array("temoin/contacts/v1\n".utf8)))
    }

    @Test(arguments: ["", "   ", String(repeating: "a", count: 65), "Paul\nJacques", "Paul\u{202E}", "a\u{7}"])
    func namesAreOneShortLine(name: String) {
        #expect(throws: TemoinError.self) { try ContactText.parse(name, field: "name") }
    }

    @Test func capabilityTokensCarryAtLeast128BitsAndAreStoredAsHashes() throws {
        let token = try CapabilityToken.random()
        #expect(token.text.count == 24)
        #expect(CapabilityToken.byteCount * 8 >= 128)
        #expect(CapabilityToken(token.text) == token)
        #expect(token.hash == SHA256.hash(Array(token.text.utf8)))
        #expect(try CapabilityToken.random() != token)
        for bad in [
            "", String(token.text.dropLast()), token.text + "A", "../../../../etc/passwd/xx",
            "AAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
            #expect(CapabilityToken(bad) == nil)
        }
    }

    @Test func theIdempotencyKeyIsTheSameForOneAlertAndContactOnly() {
        let alert = AlertID.random(), contact = ContactID.random()
        let key = Fanout.idempotencyKey(alert: alert, contact: contact)
        #expect(key == Fanout.idempotencyKey(alert: alert, contact: contact))
        #expect(key.hasPrefix("tmn-") && key.count == 36)
        #expect(key != Fanout.idempotencyKey(alert: alert, contact: ContactID.random()))
        #expect(key != Fanout.idempotencyKey(alert: AlertID.random(), contact: contact))
    }
}
