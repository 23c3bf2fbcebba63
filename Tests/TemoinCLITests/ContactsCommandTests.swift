import Foundation
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinTestSupport
import Testing

/// `temoin contacts …` and `temoin links revoke` as an operator runs them: directly on a stopped
/// service's folder, and through a running service. Every bad input: a message and exit 2.
@Suite(.tags(.process))
struct ContactsCommandTests {
    /// A folder made by `temoin init`; its local ingest device is the one whose contacts change.
    static func initialized(_ t: TempFolder) throws -> String {
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        let created = try Tool.run("temoin", ["init", "--data", t.data])
        #expect(created.status == 0, "\(created.stderr)")
        let line = try #require(created.text.split(separator: "\n").first { $0.contains("local ingest device") })
        return String(line.split(separator: " ").last!)
    }

    static func contacts(
        _ t: TempFolder, _ command: String, _ device: String, _ more: [String] = []
    ) throws
        -> Tool.Result
    {
        try Tool.run("temoin", ["contacts", command, "--data", t.data, "--device", device] + more)
    }

    /// Adds, lists, removes and names as the operator; checks every refusal. Returns the id of the
    /// contact left (Inès, +33712345678).
    static func manage(_ t: TempFolder, _ device: String) throws -> String {
        let empty = try contacts(t, "list", device)
        #expect(empty.status == 0 && empty.text.contains("(aucune / none)"), "\(empty.stderr)")
        // A bad number first: said clearly, exit 2, nothing added.
        let bad = try contacts(t, "add", device, ["--name", "Paul Martin", "--phone", "06 12 34"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("contacts.invalid-phone") && bad.stderr.contains("E.164"), "\(bad.stderr)")
        let paul = try contacts(t, "add", device, ["--name", "Paul Martin", "--phone", "06 12 34 56 78"])
        #expect(paul.status == 0, "\(paul.stderr)")
        #expect(paul.text.contains("position 1") && paul.text.contains("+336••••••78"), "\(paul.text)")
        #expect(!paul.text.contains("612345678"), "a change prints the number masked")
        let paulID = String(paul.text.split(separator: "\n").last ?? "")
        let ines = try contacts(t, "add", device, ["--name", "Inès", "--phone", "+33712345678"])
        #expect(ines.status == 0, "\(ines.stderr)")
        let inesID = String(ines.text.split(separator: "\n").last ?? "")
        var listed = try contacts(t, "list", device)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.text.contains("1\t\(paulID)\tPaul Martin\t+33612345678\n"), "\(listed.text)")
        #expect(listed.text.contains("2\t\(inesID)\tInès\t+33712345678\n"), "the full number, for the operator")

        let duplicate = try contacts(t, "add", device, ["--name", "Autre", "--phone", "+33 6 12 34 56 78"])
        #expect(duplicate.status == 2 && duplicate.stderr.contains("already a contact"), "\(duplicate.stderr)")
        #expect(!duplicate.stderr.contains("612345678"), "named masked: \(duplicate.stderr)")
        let longName = try contacts(
            t, "add", device, ["--name", String(repeating: "x", count: 65), "--phone", "+33612345670"])
        #expect(longName.status == 2 && longName.stderr.contains("contacts.invalid-name"), "\(longName.stderr)")
        let unknownDevice = try contacts(t, "list", String(repeating: "ab", count: 16))
        #expect(unknownDevice.status == 2 && unknownDevice.stderr.contains("ledger.unknown-device"))
        let notADevice = try contacts(t, "add", "phone-of-amelie", ["--name", "X", "--phone", "+33612345670"])
        #expect(notADevice.status == 2 && notADevice.stderr.contains("device.unknown"), "\(notADevice.stderr)")
        let unknownContact = try contacts(t, "remove", device, ["--contact", String(repeating: "cd", count: 16)])
        #expect(unknownContact.status == 2 && unknownContact.stderr.contains("contact.unknown"))
        let neither = try contacts(t, "person", device)
        #expect(neither.status == 2 && neither.stderr.contains("--name TEXT or --clear"), "\(neither.stderr)")
        let both = try contacts(t, "person", device, ["--name", "Amélie", "--clear"])
        #expect(both.status == 2)

        let removed = try contacts(t, "remove", device, ["--contact", paulID])
        #expect(removed.status == 0 && removed.text.contains("1 restante(s)/left"), "\(removed.text)")
        #expect(try contacts(t, "person", device, ["--name", "Amélie"]).status == 0)
        listed = try contacts(t, "list", device)
        #expect(listed.text.contains("Personne / person: Amélie"))
        #expect(listed.text.contains("1\t\(inesID)\tInès\t+33712345678\n") && !listed.text.contains(paulID))
        #expect(try contacts(t, "person", device, ["--clear"]).status == 0)
        #expect(try contacts(t, "list", device).text.contains("Personne / person: —"))

        // Five at most.
        for n in 1...4 {
            let r = try contacts(t, "add", device, ["--name", "Contact \(n)", "--phone", "+3361234560\(n)"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let sixth = try contacts(t, "add", device, ["--name", "Sixième", "--phone", "+33612345609"])
        #expect(sixth.status == 2 && sixth.stderr.contains("contacts.too-many"), "\(sixth.stderr)")

        let noAlert = try Tool.run(
            "temoin",
            ["links", "revoke", "--data", t.data, "--alert", String(repeating: "ef", count: 16), "--contact", inesID])
        #expect(noAlert.status == 2 && noAlert.stderr.contains("alert.unknown"), "\(noAlert.stderr)")
        let badAlert = try Tool.run(
            "temoin", ["links", "revoke", "--data", t.data, "--alert", "x", "--contact", inesID])
        #expect(badAlert.status == 2 && badAlert.stderr.contains("alert.bad-id"))
        return inesID
    }

    /// Who the entries name: the operator at this terminal, with the role `operator`; the listings
    /// recorded; no name or number in any entry or any file of the folder.
    static func checkLedgerAndFolder(_ t: TempFolder, _ device: String) throws {
        let reader = try LedgerReader(directory: DataDirectory(t.data))
        let entries = try (0..<reader.size()).map { try reader.entry(at: $0) }
        let parsed = try entries.map { try $0.parsed() }
        let changes = parsed.filter { $0.kind == .contactsChanged }
        #expect(changes.map { $0["count"] } == ["1", "2", "1", "1", "1", "2", "3", "4", "5"])
        let name = ProcessInfo.processInfo.environment["USER"] ?? ""
        let operatorID = Hex.encode(SHA256.hash(Array(("temoin/operator/v1\n" + name).utf8)).bytes.prefix(16))
        if !name.isEmpty { #expect(changes.allSatisfy { $0["actor"] == operatorID }) }
        #expect(changes.allSatisfy { $0["role"] == "operator" && $0["device"] == device })
        let listings = parsed.filter { $0.kind == .staffAccess && $0["action"] == "list-contacts" }
        #expect(listings.count == 4 && listings.allSatisfy { $0["role"] == "operator" && $0["target"] == device })
        let secrets = ["Paul Martin", "Amélie", "Inès", "612345678", "712345678", "6 12 34 56 78"]
        for e in entries {
            for s in secrets { #expect(Data(e.bytes).range(of: Data(s.utf8)) == nil, "entry \(e.index) holds \(s)") }
        }
        let enumerator = FileManager.default.enumerator(atPath: t.data)
        while let relative = enumerator?.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: t.data + "/" + relative) else { continue }
            for s in secrets { #expect(data.range(of: Data(s.utf8)) == nil, "\(relative) holds \(s) in clear") }
        }
    }

    /// Waits until this test's own writer has let go of the folder's lock (its last task may
    /// still hold it a moment after the last append returned).
    static func writerReleased(_ t: TempFolder) async throws {
        for _ in 0..<500 {
            if (try? LedgerWriter(directory: DataDirectory(t.data))) != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the test's writer still holds the ledger")
    }

    @Test func anOperatorManagesContactsAndLinksDirectlyOnAStoppedService() async throws {
        let t = TempFolder()
        let device = try Self.initialized(t)
        let ines = try Self.manage(t, device)
        try Self.checkLedgerAndFolder(t, device)

        // An alert of the device texts its five contacts; Inès's first text makes her link.
        let alert = AlertID.random()
        do {
            let directory = DataDirectory(t.data)
            let writer = try LedgerWriter(directory: directory)
            let key = try directory.loadIngestDeviceKey()
            let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
            let opened = try DeviceStatement(kind: .alertOpened, origin: writer.origin, alert: alert, capturedAt: at)
            _ = try await writer.append(
                EntryDraft(
                    kind: .alertOpened, alert: alert, device: DeviceID(device)!,
                    [("opened-at", at.description), ("statement-sig", Base64.encode(try key.sign(opened.bytes)))]))
            try await writer.markSending(
                alert: alert, contact: ContactID(ines)!,
                prepared: PreparedMessage(
                    sealed: [1], messageHash: SHA256.hash([1]), numberHash: SHA256.hash([2]),
                    linkHash: SHA256.hash([3])))
            #expect(try LedgerReader(directory: directory).outbox(alert: alert).count == 5)
        }
        try await Self.writerReleased(t)
        let revoke = ["links", "revoke", "--data", t.data, "--alert", alert.rawValue, "--contact"]
        let revoked = try Tool.run("temoin", revoke + [ines])
        #expect(revoked.status == 0 && revoked.text.contains("link revoked"), "\(revoked.stderr)")
        let again = try Tool.run("temoin", revoke + [ines])
        #expect(again.status == 2 && again.stderr.contains("link.already-revoked"), "\(again.stderr)")
        let other = try LedgerReader(directory: DataDirectory(t.data)).contactRows(device: DeviceID(device)!)[1].id
        let noLink = try Tool.run("temoin", revoke + [other.rawValue])
        #expect(noLink.status == 2 && noLink.stderr.contains("link.unknown"), "\(noLink.stderr)")

        // Once the device is revoked its contacts are gone, and every change says why.
        do {
            let writer = try LedgerWriter(directory: DataDirectory(t.data))
            _ = try await writer.append(EntryDraft(kind: .deviceRevoked, [("device", device), ("reason", "revoked")]))
        }
        try await Self.writerReleased(t)
        let gone = try Self.contacts(t, "list", device)
        #expect(gone.status == 2 && gone.stderr.contains("device.revoked"), "\(gone.stderr)")
        let add = try Self.contacts(t, "add", device, ["--name", "Lucie", "--phone", "+33612345670"])
        #expect(add.status == 2 && add.stderr.contains("device.revoked"))
        #expect(try LedgerReader(directory: DataDirectory(t.data)).contactRows(device: DeviceID(device)!).isEmpty)
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
    }

    @Test(.tags(.slow), .notInFastRuns) func anOperatorManagesContactsThroughTheRunningService() async throws {
        let t = TempFolder()
        let device = try Self.initialized(t)
        let server = try await startService(t.data, port: freeLoopbackPort())
        let ines = try Self.manage(t, device)
        let noLink = try Tool.run(
            "temoin",
            ["links", "revoke", "--data", t.data, "--alert", String(repeating: "ef", count: 16), "--contact", ines])
        #expect(noLink.status == 2 && noLink.stderr.contains("alert.unknown"), "\(noLink.stderr)")
        await server.stop(SIGTERM)
        try Self.checkLedgerAndFolder(t, device)
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
    }
}
