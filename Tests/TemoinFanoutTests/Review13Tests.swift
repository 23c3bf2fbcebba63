import Foundation
import Logging
import TemoinCore
import TemoinCrypto
@testable import TemoinFanout
@testable import TemoinLedger
import Testing

// Review 13 (security review of the fan-out). Each test states what the product should do; the ones
// that fail today demonstrate a finding of the report.

/// A provider without idempotency keys (OVHcloud's kind): a job posted is sent, even when the answer
/// is lost (a timeout); `acceptedBefore` tells whether a job with the key went out.
actor KeylessGateway: SMSGateway {
    nonisolated let name = "keyless"
    private(set) var posted: [SMSMessage] = []
    private(set) var asked = 0

    func send(_ message: SMSMessage) async -> SMSOutcome {
        posted.append(message)
        // The first job is created at the provider, but its answer is lost.
        return posted.count == 1
            ? .retry(reason: "timeout", after: .milliseconds(10))
            : .accepted(
                status: "accepted", reference: "job-\(posted.count)")
    }

    func acceptedBefore(_ message: SMSMessage) async -> SMSOutcome? {
        asked += 1
        return posted.contains { $0.idempotencyKey == message.idempotencyKey }
            ? .accepted(status: "accepted", reference: "job-1") : nil
    }
}

/// `FanoutFixture.openAlert` commits to the fix without its salt, which the audit names; this one
/// commits as the service does (SHA-256 of salt ‖ fix), so the audit has nothing else to say.
func openAuditableAlert(_ f: FanoutFixture, fix: String = "geo:48.8566,2.3522;u=20") async throws -> AlertID {
    let alert = AlertID.random()
    let salt = [UInt8](repeating: 1, count: 32)
    var location = EntryDraft(
        kind: .location,
        [
            ("alert", alert.rawValue),
            ("captured-at", Timestamp(millisecondsSinceEpoch: FanoutFixture.now()).description),
            ("commitment", SHA256.hash(salt + Array(fix.utf8)).hex), ("statement-sig", "none"),
        ])
    location.sideRow = .location(salt: salt, fix: fix)
    _ = try await f.writer.append(group: [
        EntryDraft(
            kind: .alertOpened,
            [
                ("alert", alert.rawValue), ("device", f.device.rawValue),
                ("opened-at", Timestamp(millisecondsSinceEpoch: FanoutFixture.now()).description),
                ("statement-sig", "none"),
            ]),
        location,
    ])
    return alert
}

struct Review13FanoutTests {
    /// F1. A phone (attacker B) sends a fix whose `u` is a 20-digit number: `GeoURI` accepts it
    /// (numbers up to 32 characters), and the composer's `Int(u.rounded())` traps. The service dies
    /// composing the text, and again at every restart while the row is due (6 h).
    @Test func aHugeUncertaintyDoesNotCrashTheComposer() async {
        await #expect(processExitsWith: .success) {
            let fix = try! GeoURI(parsing: "geo:48.8566,2.3522;u=99999999999999999999")
            _ = MessageComposer.coordinates(fix)
        }
    }

    /// F1, end to end: the dispatcher composing the first text of an alert whose fix has that `u`.
    @Test func aDispatcherTextingAnAlertWithAHugeUncertaintyKeepsRunning() async {
        await #expect(processExitsWith: .success) {
            let f = try! await FanoutFixture()
            _ = try! await f.addContacts(1)
            let alert = try! await f.openAlert(fix: "geo:48.8566,2.3522;u=99999999999999999999")
            try! await f.run(f.dispatcher(FakeGateway()), seconds: 5) {
                try f.entries(alert, .smsSent).count == 1
            }
        }
    }

    /// F4. With a provider that keeps no key, a timed-out attempt may have created the job. The
    /// retry must ask `acceptedBefore` first, as after a crash; today it is asked only for rows left
    /// `sending`, and a retried row is `pending`: the contact gets the text twice.
    @Test func aRetryAfterATimeoutAsksAKeylessProviderFirst() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = KeylessGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 1 }
        let asked = await gateway.asked
        let posted = await gateway.posted.count
        #expect(asked >= 1, "acceptedBefore was never asked")
        #expect(posted == 1, "the contact was texted \(posted) times")
    }

    /// F5. Root (attacker D) reseals a text waiting for its retry with another number. The dispatcher
    /// sends it there, `sms.sent` names the trusted contact's `number-sha256`, and the audit is silent
    /// — contrary to Docs/security.md ("change a contact's number in the database to divert the
    /// texts" is seen).
    @Test func aTextDivertedInTheOutboxIsSeen() async throws {
        let f = try await FanoutFixture()
        let contact = try await f.addContacts(1)[0]
        let alert = try await openAuditableAlert(f)
        let gateway = FakeGateway()
        await gateway.answer([.retry(reason: "http-503", after: .seconds(3))])
        let first = f.dispatcher(gateway)
        try await f.run(first) { try f.entries(alert, .smsFailed).count == 1 }
        // Root, holding the master key: the alert's key, then the text resealed to its own number.
        let row = try #require(try f.reader.outbox(alert: alert).first)
        let key = try await f.writer.alertKey(for: alert)
        let (message, _) = try FanoutDispatcher.open(
            #require(row.sealed), alert: alert, contact: row.contact, numberHash: contact.numberHash, key: key)
        let attacker = PhoneNumber("+33700000666")!
        // Whatever salt root picks, SHA-256(salt ‖ its number) is not the contact's number hash.
        let diverted = try FanoutDispatcher.seal(
            SMSMessage(to: attacker, text: message.text, idempotencyKey: message.idempotencyKey),
            salt: [UInt8](repeating: 7, count: 32), alert: alert, contact: row.contact, key: key)
        let db = try SQLiteConnection(path: f.directory.database)
        try db.statement("UPDATE outbox SET sealed = ? WHERE alert = ?").bind(.blob(diverted), .text(alert.rawValue))
            .run()
        try await f.run(f.dispatcher(gateway)) {
            try f.entries(alert, .smsFailed).contains { $0["reason"] == "unreadable" }
        }
        let received = await gateway.received
        #expect(!received.contains { $0.to == attacker }, "the diverted text is not sent")
        #expect(try f.entries(alert, .smsFailed).contains { $0["reason"] == "unreadable" }, "and the ledger says so")
        #expect(
            !received.contains { $0.to == attacker },
            "the text went to \(attacker.masked), the ledger says the contact's number, the audit says nothing")
    }

    /// F6. Root suppresses an alert's texts by deleting its outbox rows before the sender runs: no
    /// `sms.*` entry, and the audit is silent (Docs/security.md says root cannot suppress texts
    /// without the ledger showing it).
    @Test func textsSuppressedInTheOutboxAreSeenByTheAudit() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(3)
        let alert = try await openAuditableAlert(f)
        let db = try SQLiteConnection(path: f.directory.database)
        try db.execute("DELETE FROM outbox WHERE alert = '\(alert)'")
        try await f.run(f.dispatcher(FakeGateway()), seconds: 2) { false }
        #expect(try f.entries(alert, .smsSent).isEmpty && f.entries(alert, .smsFailed).isEmpty)
        let problems = try Auditor(directory: f.directory).run().problems
        print("REVIEW13 suppressed problems=\(problems)")
        withKnownIssue("known limit (Docs/security.md, fan-out): the audit does not yet account for every text") {
            #expect(!problems.isEmpty, "three texts vanished unseen")
        }
    }

    /// F6b. Root changes the person's name the texts carry (`device_keys.person`, sealed under the
    /// device key it can unwrap): `contacts-sha256` does not cover it; the audit is silent.
    @Test func aPersonNameChangedByHandIsSeenByTheAudit() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        _ = try await f.book.setPerson(f.device, person: "Marie", by: FanoutFixture.operatorAuthor)
        let key = try await f.writer.deviceKey(for: f.device)
        let forged = try ContactSealing.sealPerson(
            "Marie. Rappelez vite le 0899 123 456", device: f.device, key: key)
        let db = try SQLiteConnection(path: f.directory.database)
        try db.statement("UPDATE device_keys SET person = ? WHERE device = ?").bind(
            .blob(forged), .text(f.device.rawValue)
        ).run()
        #expect(try f.book.list(f.device).person?.contains("0899") == true)
        let audit = try Auditor(directory: f.directory).run()
        withKnownIssue("known limit (Docs/security.md, fan-out): contacts-sha256 does not cover the person's name") {
            #expect(!audit.problems.isEmpty, "the texts' name changed unseen")
        }
    }

    /// F7. A caseworker removes a contact (say, found to be the abuser) while the alert's text to
    /// them waits for a retry: the text still goes out later, and the link they hold stays live.
    @Test func aContactRemovedDuringTheAlertIsNotTextedLaterAndTheirLinkCloses() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        await gateway.answer([.retry(reason: "http-503", after: .seconds(1))])
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsFailed).count == 1 }
        _ = try await f.book.remove(f.device, contact: contacts[0].id, by: FanoutFixture.operatorAuthor)
        try await f.run(f.dispatcher(gateway), seconds: 4) { try f.entries(alert, .smsSent).count == 1 }
        #expect(await gateway.received.count == 1, "the removed contact was texted after the removal")
        #expect(try f.reader.links(alert: alert).allSatisfy { $0.row.revoked }, "the removed contact's link is live")
    }

    /// F9. "At most two SMS segments" (Docs/fanout.md): `°` is outside GSM 03.38, so every text with
    /// a position is sent as UCS-2 (67 characters a segment when concatenated); the sample text is
    /// four or five segments, and the test in DispatcherTests checks `count < 320` (GSM's figure).
    @Test func theTextFitsInTwoSegments() throws {
        let composer = MessageComposer(settings: FanoutFixture.settings)
        let now = Timestamp(millisecondsSinceEpoch: FanoutFixture.now())
        let text = composer.text(
            person: "Marie", openedAt: now,
            position: .init(fix: try GeoURI(parsing: "geo:48.8566,2.3522;u=20"), capturedAt: now), now: now,
            link: "https://temoin.example.fr/l/AAAAAAAAAAAAAAAAAAAAAAAA")
        let ucs2 = OVHGateway.coding(text) == "8bit"
        let units = text.utf16.count
        let segments = ucs2 ? (units <= 70 ? 1 : (units + 66) / 67) : (units <= 160 ? 1 : (units + 152) / 153)
        #expect(segments <= 2, "\(units) UTF-16 units, coding \(ucs2 ? "UCS-2" : "GSM"): \(segments) segments")
    }
}
