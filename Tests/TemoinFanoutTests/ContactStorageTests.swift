import Foundation
import TemoinCore
import TemoinCrypto
@testable import TemoinFanout
@testable import TemoinLedger
import Testing

/// Where contacts live: sealed outside the ledger, mirrored by `contacts.changed` hashes that the
/// audit compares, and destroyed with their device.
struct ContactStorageTests {
    func audit(_ f: FanoutFixture) throws -> AuditReport { try Auditor(directory: f.directory).run() }

    @Test func listsChangeOneEntryAtATimeAndTheAuditAgrees() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(3)
        _ = try await f.book.remove(f.device, contact: contacts[1].id, by: FanoutFixture.operatorAuthor)
        _ = try await f.book.setPerson(f.device, person: "Marie", by: FanoutFixture.operatorAuthor)
        let listing = try f.book.list(f.device)
        #expect(listing.contacts.map(\.id) == [contacts[0].id, contacts[2].id])
        #expect(listing.contacts.map(\.position) == [1, 2], "positions close up after a removal")
        #expect(listing.person == "Marie")
        let changes = try f.reader.read { store throws(TemoinError) in
            try store.entries(kind: .contactsChanged, after: nil, limit: 100)
        }.map { try $0.parsed() }
        #expect(changes.map { $0["count"] } == ["1", "2", "3", "2", "2"])
        let rows = try f.reader.contactRows(device: f.device)
        #expect(changes.last?["contacts-sha256"] == ContactSealing.listHash(of: rows).hex)
        #expect(try audit(f).problems.isEmpty)
    }

    @Test func aSixthContactAndARepeatedNumberAreRefused() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(5)
        await #expect(throws: TemoinError.self) {
            _ = try await f.book.add(
                f.device, name: "Six", phone: PhoneNumber("+33699999999")!, by: FanoutFixture.operatorAuthor)
        }
        _ = try await f.book.remove(f.device, contact: contacts[4].id, by: FanoutFixture.operatorAuthor)
        await #expect(throws: TemoinError.self) {
            _ = try await f.book.add(
                f.device, name: "Again", phone: contacts[0].phone, by: FanoutFixture.operatorAuthor)
        }
        await #expect(throws: TemoinError.self) {
            _ = try await f.book.remove(f.device, contact: ContactID.random(), by: FanoutFixture.operatorAuthor)
        }
    }

    @Test func noNameOrNumberIsStoredInClearAnywhereInTheDataFolder() async throws {
        let f = try await FanoutFixture()
        _ = try await f.book.add(
            f.device, name: "Bernadette Quintal", phone: PhoneNumber("+33687654321")!, by: FanoutFixture.operatorAuthor)
        _ = try await f.book.setPerson(f.device, person: "Marie-Josèphe", by: FanoutFixture.operatorAuthor)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 1 }
        let needles = ["687654321", "Bernadette", "Quintal", "Marie-Jos"].map { Array($0.utf8) }
        let files = FileManager.default.enumerator(atPath: f.directory.path)!.compactMap { $0 as? String }
        #expect(files.count > 3)
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: f.directory.path + "/" + file) else { continue }
            for needle in needles {
                #expect(!Array(bytes).contains(needle), "\(file) holds \(String(decoding: needle, as: UTF8.self))")
            }
        }
    }

    @Test func aNumberChangedByHandInTheDatabaseIsNamedByTheAudit() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(2)
        let db = try SQLiteConnection(path: f.directory.database)
        try db.execute("UPDATE contacts SET number_sha256 = zeroblob(32) WHERE position = 2")
        let problems = try audit(f).problems
        #expect(problems.contains { $0.description.contains("contacts of device") })
    }

    @Test func aContactAddedByHandIsNamedByTheAudit() async throws {
        let f = try await FanoutFixture()
        let other = DeviceID.random()
        let db = try SQLiteConnection(path: f.directory.database)
        try db.execute(
            "INSERT INTO contacts (id, device, position, sealed, number_sha256) VALUES "
                + "('\(ContactID.random())', '\(other)', 1, x'00', zeroblob(32))")
        #expect(try audit(f).problems.contains { $0.description.contains("contacts of device \(other)") })
    }

    @Test func revokingTheDeviceDestroysItsContactsAndTheirKey() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(2)
        #expect(try f.reader.deviceKey(f.device) != nil)
        _ = try await f.writer.append(
            EntryDraft(kind: .deviceRevoked, [("device", f.device.rawValue), ("reason", "revoked")]))
        #expect(try f.reader.contactRows(device: f.device).isEmpty)
        #expect(try f.reader.deviceKey(f.device) == nil)
        #expect(try audit(f).problems.isEmpty)
        await #expect(throws: TemoinError.self) {
            _ = try await f.book.add(
                f.device, name: "Late", phone: PhoneNumber("+33611111111")!, by: FanoutFixture.operatorAuthor)
        }
    }

    @Test func anErasedAlertLeavesNoTextAndNoLink() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(2)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 2 }
        _ = try await f.writer.append(
            EntryDraft(
                kind: .alertClosed, alert: alert,
                [
                    ("closed-by", "server"), ("reason", "timeout"), ("closed-at", systemClock().description),
                    ("last-seq", "0"), ("statement-sig", "none"),
                ]))
        _ = try await f.writer.append(
            EntryDraft(
                kind: .dataErased, alert: alert,
                [
                    ("scope", "alert-data"), ("actor", FanoutFixture.operatorAuthor.actor), ("role", "operator"),
                    ("reason", "test"),
                ]))
        #expect(try f.reader.outbox(alert: alert).isEmpty)
        #expect(try f.reader.links(alert: alert).isEmpty)
    }
}

/// A phone pressed again and again (in an abuser's hands) does not flood its contacts.
struct FanoutLimitTests {
    @Test func onlySixAlertsOfOneDeviceAnHourTextItsContacts() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(2)
        var queued = [Int]()
        for _ in 0..<8 {
            let alert = try await f.openAlert()
            queued.append(try f.reader.outbox(alert: alert).filter { $0.state == .pending }.count)
            if queued.count > 6 {
                let capped = try f.reader.outbox(alert: alert)
                #expect(
                    capped.count == 2 && capped.allSatisfy { $0.state == .failed && $0.lastError == "rate-limited" })
            }
        }
        #expect(queued == [2, 2, 2, 2, 2, 2, 0, 0], "the capped alerts' texts are there, given up: staff see why")
    }
}
