import Foundation
import Logging
import TemoinCore
import TemoinCrypto
@testable import TemoinFanout
@testable import TemoinLedger
import Testing

/// A provider in memory that drops repeats of an idempotency key, as real ones do, and answers
/// what the test scripts.
actor FakeGateway: SMSGateway {
    nonisolated let name = "fake"
    private(set) var received: [SMSMessage] = []
    private var script: [SMSOutcome] = []

    func answer(_ outcomes: [SMSOutcome]) { script = outcomes }

    func send(_ message: SMSMessage) async -> SMSOutcome {
        received.append(message)
        return script.isEmpty ? .accepted(status: "accepted", reference: "ref-\(received.count)") : script.removeFirst()
    }

    /// Distinct messages the provider delivered (repeats of a key are dropped).
    var delivered: Set<String> { Set(received.map(\.idempotencyKey)) }
}

/// A data folder with a device that has trusted contacts, and what the dispatcher needs.
final class FanoutFixture: @unchecked Sendable {
    let root: URL
    let directory: DataDirectory
    let created: Ledger.Created
    let writer: LedgerWriter
    let reader: LedgerReader
    let book: ContactBook
    var device: DeviceID { created.ingestDevice }

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-fanout-\(UUID().uuidString)")
        directory = DataDirectory(root.appendingPathComponent("data").path)
        created = try await Ledger.initialize(directory: directory, origin: "test.example/ledger")
        writer = try LedgerWriter(directory: directory)
        reader = try LedgerReader(directory: directory)
        book = ContactBook(writer: writer, reader: reader)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    static let operatorAuthor = ContactBook.Author(actor: "0123456789abcdef0123456789abcdef", role: "operator")

    func addContacts(_ count: Int) async throws -> [Contact] {
        var out = [Contact]()
        for i in 0..<count {
            out.append(
                try await book.add(
                    device, name: "Contact \(i + 1)", phone: PhoneNumber("+3361234567\(i)")!, by: Self.operatorAuthor
                ).contact)
        }
        return out
    }

    /// Opens an alert with its first fix in one group, as the service does.
    func openAlert(fix: String = "geo:48.8566,2.3522;u=20") async throws -> AlertID {
        let alert = AlertID.random()
        let salt = [UInt8](repeating: 1, count: 32)
        var location = EntryDraft(
            kind: .location,
            [
                ("alert", alert.rawValue), ("captured-at", Timestamp(millisecondsSinceEpoch: Self.now()).description),
                ("commitment", SHA256.hash(salt + Array(fix.utf8)).hex), ("statement-sig", "none"),
            ])
        location.sideRow = .location(salt: salt, fix: fix)
        _ = try await writer.append(group: [
            EntryDraft(
                kind: .alertOpened,
                [
                    ("alert", alert.rawValue), ("device", device.rawValue),
                    ("opened-at", Timestamp(millisecondsSinceEpoch: Self.now()).description), ("statement-sig", "none"),
                ]),
            location,
        ])
        return alert
    }

    static func now() -> Int64 { systemClock().millisecondsSinceEpoch }

    func dispatcher(
        _ gateway: any SMSGateway, settings: FanoutSettings = FanoutFixture.settings,
        clock: @escaping WallClock = systemClock, stepHook: (@Sendable (FanoutDispatcher.Step) -> Bool)? = nil
    ) -> FanoutDispatcher {
        FanoutDispatcher(
            writer: writer, reader: reader, gateway: gateway, settings: settings, logger: Logger(label: "test"),
            clock: clock, stepHook: stepHook)
    }

    static var settings: FanoutSettings {
        var s = FanoutSettings()
        s.associationName = "Solidarité Femmes 13"
        s.publicURL = "https://temoin.example.fr"
        return s
    }

    /// Runs the dispatcher until `done` holds (at most `seconds`), then stops it.
    func run(
        _ d: FanoutDispatcher, seconds: Double = 30, until done: @escaping @Sendable () async throws -> Bool
    )
        async throws
    {
        let task = Task { await d.run() }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, try await !done() { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        await task.value
    }

    func entries(_ alert: AlertID, _ kind: EntryKind) throws -> [Entry] {
        try reader.entries(alert: alert).map(\.entry).filter { $0.kind == kind }
    }
}

/// When an alert opens, each of its device's trusted contacts gets one text — exactly one, across
/// retries, crashes and restarts — and the ledger records each attempt with hashes only.
struct DispatcherTests {
    @Test func anAlertWithFiveContactsSendsExactlyFiveTexts() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(5)
        let alert = try await f.openAlert()
        #expect(try f.reader.outbox(alert: alert).count == 5, "the opening queued one text per contact")
        let gateway = FakeGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 5 }
        let received = await gateway.received
        #expect(received.count == 5)
        #expect(Set(received.map(\.to)) == Set(contacts.map(\.phone)))
        let sent = try f.entries(alert, .smsSent)
        #expect(Set(sent.compactMap(\.contact)) == Set(contacts.map(\.id)))
        for e in sent {
            let contact = try #require(contacts.first { $0.id == e.contact })
            let text = try #require(received.first { $0.to == contact.phone }).text
            #expect(e["number-sha256"] == contact.numberHash.hex)
            #expect(e["message-sha256"] == SHA256.hash(Array(text.utf8)).hex)
            #expect(e["attempt"] == "1" && e["gateway"] == "fake" && e["status"] == "accepted")
            #expect(!String(decoding: e.bytes, as: UTF8.self).contains(contact.phone.e164.dropFirst(3)))
            #expect(text.contains("Solidarité Femmes 13") && text.contains("48,85660 N 2,35220 E"))
            #expect(text.contains("à 20 m près") && text.contains("appelez le 17"))
            #expect(text.contains("https://temoin.example.fr/l/"))
        }
        for row in try f.reader.outbox(alert: alert) {
            #expect(row.state == .sent && row.sealed == nil, "a sent text's sealed copy is wiped")
        }
        #expect(try f.reader.links(alert: alert).count == 5, "one link per contact")
        #expect(Set(received.map(\.text)).count == 5, "each contact has a link of its own")
    }

    @Test func theLinkInTheTextIsTheOneStoredByItsHash() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 1 }
        let text = try #require(await gateway.received.first?.text)
        let range = try #require(text.range(of: "/l/"))
        let token = try #require(CapabilityToken(text[range.upperBound...].prefix(24)))
        let link = try #require(try f.reader.link(tokenHash: token.hash))
        #expect(link.alert == alert && !link.revoked)
    }

    @Test func aRefusedAttemptIsRetriedWithTheSameKeyThenSent() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        await gateway.answer([.retry(reason: "http-503", after: .milliseconds(10))])
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 1 }
        let failed = try f.entries(alert, .smsFailed)
        #expect(failed.map { $0["outcome"] } == ["retry"] && failed.map { $0["reason"] } == ["http-503"])
        #expect(try f.entries(alert, .smsSent).first?["attempt"] == "2")
        let received = await gateway.received
        #expect(received.count == 2 && received.first == received.last, "the retry is the same text under the same key")
    }

    @Test func aRejectedNumberIsGivenUpAfterOneAttempt() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        await gateway.answer([.rejected(reason: "invalid-number")])
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsFailed).count == 1 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await gateway.received.count == 1)
        let e = try #require(try f.entries(alert, .smsFailed).first)
        #expect(e["outcome"] == "given-up" && e["reason"] == "invalid-number")
        #expect(try f.reader.outbox(alert: alert).first?.state == .failed)
    }

    @Test func attemptsStopAtTheConfiguredMaximum() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        await gateway.answer(Array(repeating: .retry(reason: "timeout", after: .milliseconds(1)), count: 5))
        var settings = FanoutFixture.settings
        settings.maximumAttempts = 2
        try await f.run(f.dispatcher(gateway, settings: settings), seconds: 30) {
            try f.entries(alert, .smsFailed).contains { $0["outcome"] == "given-up" }
        }
        let failed = try f.entries(alert, .smsFailed)
        #expect(failed.map { $0["outcome"] } == ["retry", "given-up"])
        #expect(await gateway.received.count == 2)
    }

    /// A crash after `sending` is committed, before the gateway is called, and one after the gateway
    /// answered, before the outcome is recorded: after a restart, every contact has still been
    /// texted exactly once (the provider drops the repeated key).
    @Test(arguments: [FanoutDispatcher.Step.prepared, .sent])
    func aCrashAtEitherStepStillTextsEachContactOnce(step: FanoutDispatcher.Step) async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(5)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        let crashed = NIOLockedCounter()
        let first = f.dispatcher(
            gateway,
            stepHook: { s in
                guard s == step else { return false }
                crashed.increment()
                return true
            })
        try await f.run(first) { crashed.value >= 5 }
        #expect(try f.reader.outbox(alert: alert).allSatisfy { $0.state == .sending })
        #expect(try f.entries(alert, .smsSent).isEmpty)
        let restarted = f.dispatcher(gateway)
        try await f.run(restarted) { try f.entries(alert, .smsSent).count == 5 }
        #expect(await gateway.delivered.count == 5, "five texts delivered, whatever was attempted")
        let sent = try f.entries(alert, .smsSent)
        #expect(Set(sent.compactMap(\.contact)).count == 5, "one sms.sent per contact")
        let texts = await gateway.received
        for key in Set(texts.map(\.idempotencyKey)) {
            #expect(Set(texts.filter { $0.idempotencyKey == key }.map(\.text)).count == 1, "a resent text is the same")
        }
    }

    @Test func aTextTooLateIsGivenUpAsStale() async throws {
        let f = try await FanoutFixture()
        _ = try await f.addContacts(1)
        let alert = try await f.openAlert()
        let gateway = FakeGateway()
        let offset: Int64 = 7 * 3_600_000
        let later: WallClock = { () -> Timestamp in Timestamp(millisecondsSinceEpoch: FanoutFixture.now() + offset) }
        try await f.run(f.dispatcher(gateway, clock: later)) { try f.entries(alert, .smsFailed).count == 1 }
        #expect(try f.entries(alert, .smsFailed).first?["reason"] == "stale")
        #expect(await gateway.received.isEmpty)
    }

    @Test func aContactRemovedAfterTheOpeningIsNotTexted() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(2)
        let alert = try await f.openAlert()
        _ = try await f.book.remove(f.device, contact: contacts[0].id, by: FanoutFixture.operatorAuthor)
        let gateway = FakeGateway()
        let removed = try #require(try f.reader.outbox(alert: alert).first { $0.contact == contacts[0].id })
        #expect(removed.state == .failed && removed.lastError == "contact-removed", "cancelled with the change")
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsSent).count == 1 }
        #expect(await gateway.received.map(\.to) == [contacts[1].phone])
    }

    /// Regression: a timer cancelled by a wake used to wake the loop itself, so every wake begot
    /// the next and an idle service spun on the outbox, its memory growing.
    @Test func anIdleSenderWaitsInsteadOfSpinning() async throws {
        let f = try await FanoutFixture()
        let d = f.dispatcher(FakeGateway())
        let task = Task { await d.run() }
        for _ in 0..<5 {
            d.wake()
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(500))
        let rounds = await d.rounds
        task.cancel()
        await task.value
        #expect(rounds <= 6, "one look per wake, not a loop: \(rounds)")
    }

    @Test func aTextWhoseSealedCopyNoLongerOpensIsGivenUpNotRetriedForEver() async throws {
        let f = try await FanoutFixture()
        let contacts = try await f.addContacts(1)
        let alert = try await f.openAlert()
        try await f.writer.markSending(
            alert: alert, contact: contacts[0].id,
            prepared: PreparedMessage(
                sealed: [1, 2, 3], messageHash: SHA256.hash([1]), numberHash: contacts[0].numberHash,
                linkHash: SHA256.hash([2])))
        let gateway = FakeGateway()
        try await f.run(f.dispatcher(gateway)) { try f.entries(alert, .smsFailed).count == 1 }
        #expect(try f.entries(alert, .smsFailed).first?["reason"] == "unreadable")
        #expect(try f.reader.outbox(alert: alert).first?.state == .failed)
        #expect(await gateway.received.isEmpty)
    }

    @Test func aDeviceWithoutContactsQueuesNothing() async throws {
        let f = try await FanoutFixture()
        let alert = try await f.openAlert()
        #expect(try f.reader.outbox(alert: alert).isEmpty)
    }

    @Test func theComposerWritesAShortFrenchText() throws {
        let composer = MessageComposer(settings: FanoutFixture.settings)
        let now = Timestamp(millisecondsSinceEpoch: FanoutFixture.now())
        let fix = try GeoURI(parsing: "geo:-33.86785,151.20732;u=8.4")
        let text = composer.text(
            person: "Marie", openedAt: now,
            position: .init(
                fix: fix, capturedAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 150_000)),
            now: now, link: "https://temoin.example.fr/l/AAAAAAAAAAAAAAAAAAAAAAAA")
        #expect(text.hasPrefix("Solidarité Femmes 13 - ALERTE : Marie a déclenché son alerte à "))
        #expect(text.contains("Dernière position connue (il y a 2 min) : 33,86785 S 151,20732 E, à 8 m près."))
        #expect(
            text.hasSuffix(
                "Suivre sa position : https://temoin.example.fr/l/AAAAAAAAAAAAAAAAAAAAAAAA En cas de danger, appelez le 17."
            ))
        let anonymous = composer.text(person: nil, openedAt: now, position: nil, now: now, link: nil)
        #expect(anonymous.contains("Une personne qui vous a choisi(e) comme contact de confiance a déclenché"))
        #expect(anonymous.contains("Position pas encore connue.") && !anonymous.contains("http"))
        #expect(text.count < 320, "two SMS segments at most")
    }
}

/// A counter shared with a `@Sendable` hook.
final class NIOLockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
