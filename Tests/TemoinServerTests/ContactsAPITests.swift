import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
@testable import TemoinServer
import TemoinAPI
import TemoinCore
import TemoinCrypto
@testable import TemoinLedger
import Testing

/// The service in memory with one enrolled phone and one account per role: the staff routes of
/// the trusted contacts, as each role calls them.
final class ContactsFixture: @unchecked Sendable {
    let app: InMemoryApp
    let reader: LedgerReader
    let device: DeviceID
    var tokens: [StaffRole: String] = [:]
    var ids: [StaffRole: String] = [:]

    init() async throws {
        app = try await InMemoryApp()
        reader = try LedgerReader(directory: app.directory)
        device = DeviceID.derive(publicKey: app.phone.publicKey)
        for role in StaffRole.allCases {
            let created = try await Accounts(writer: app.writer, reader: reader).create(
                name: "Agent \(role.rawValue)", role: role.rawValue)
            tokens[role] = created.token
            ids[role] = created.id
        }
    }

    func remove() { try? FileManager.default.removeItem(at: app.root) }

    struct Answer {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var code: String? {
            (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["code"] as? String
        }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: Data(body)) }
    }

    func call(
        _ method: HTTPRequest.Method, _ path: String, as role: StaffRole? = .caseworker, body: String? = nil
    )
        async throws -> Answer
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let role { headers[.authorization] = "Bearer \(tokens[role]!)" }
        let (status, _, bytes) = try await app.send(method, path, headers: headers, body: Array((body ?? "").utf8))
        return Answer(status: status.code, body: bytes)
    }

    var contactsPath: String { "/v1/staff/devices/\(device)/contacts" }

    /// Adds a contact as the caseworker; returns it.
    @discardableResult
    func add(_ name: String, _ phone: String, device: DeviceID? = nil) async throws -> ContactView {
        let r = try await call(
            .post, "/v1/staff/devices/\(device ?? self.device)/contacts",
            body: #"{"name":"\#(name)","phone":"\#(phone)"}"#)
        #expect(r.status == 201, "\(r.text)")
        return try r.decode(ContactAddedResponse.self).contact
    }

    func list(_ device: DeviceID? = nil) async throws -> ContactListResponse {
        let r = try await call(.get, "/v1/staff/devices/\(device ?? self.device)/contacts")
        #expect(r.status == 200, "\(r.text)")
        return try r.decode(ContactListResponse.self)
    }

    func size() throws -> UInt64 { try reader.size() }

    func entries(after size: UInt64) throws -> [Entry] {
        try (size..<reader.size()).map { try reader.entry(at: $0).parsed() }
    }

    /// Opens an alert of `device` as its phone would (the writer queues its texts).
    func openAlert(_ n: Int, key: Ed25519PrivateKey? = nil) async throws -> AlertID {
        let key = key ?? app.phone
        let alert = AlertID(bytes: SHA256.hash(Array("contacts alert \(n)".utf8)).bytes.prefix(16))!
        let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(n) * 1000)
        let opened = try DeviceStatement(kind: .alertOpened, origin: app.origin, alert: alert, capturedAt: at)
        _ = try await app.writer.append(
            EntryDraft(
                kind: .alertOpened, alert: alert, device: DeviceID.derive(publicKey: key.publicKey),
                [("opened-at", at.description), ("statement-sig", Base64.encode(try key.sign(opened.bytes)))]))
        return alert
    }

    /// What the first attempt of a text stores: its message and its live-location link.
    func sendFirstAttempt(_ alert: AlertID, _ contact: String) async throws {
        let prepared = PreparedMessage(
            sealed: [1, 2, 3], messageHash: SHA256.hash(Array("message \(contact)".utf8)),
            numberHash: SHA256.hash(Array("number \(contact)".utf8)),
            linkHash: SHA256.hash(Array("token \(alert) \(contact)".utf8)))
        try await app.writer.markSending(alert: alert, contact: ContactID(contact)!, prepared: prepared)
    }

    /// `contacts-sha256` as Docs/ledger-format.md defines it, from the rows stored.
    func listHash(_ device: DeviceID? = nil) throws -> String {
        var text = "temoin/contacts/v1\n"
        for r in try reader.contactRows(device: device ?? self.device) {
            text += "\(r.position) \(r.id.rawValue) \(r.numberHash.hex)\n"
        }
        return SHA256.hash(Array(text.utf8)).hex
    }
}

/// Every file under `folder`, each as its bytes.
func filesUnder(_ folder: URL) -> [(path: String, bytes: Data)] {
    var out = [(String, Data)]()
    let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
    while let url = enumerator?.nextObject() as? URL {
        guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
            let data = try? Data(contentsOf: url)
        else { continue }
        out.append((url.path, data))
    }
    return out
}

@Suite struct ContactsAPITests {
    struct Route: CustomStringConvertible {
        let method: HTTPRequest.Method
        let path: String
        let permission: StaffPermission
        var body: String?
        /// The `staff.access` action recorded with it, or nil when its entry is an `access`
        /// (`read-alert`) or the `link.revoked` itself.
        var action: String?
        var description: String { "\(method) \(path)" }
    }

    @Test func everyContactRouteAnswersEachRoleExactlyAsTheRoleTableSaysAndRecordsRefusals() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let first = try await f.add("Paul Martin", "06 12 34 56 78")
        let second = try await f.add("Inès", "+33 7 12 34 56 78")
        let alert = try await f.openAlert(1)
        try await f.sendFirstAttempt(alert, first.id)
        let routes: [Route] = [
            .init(method: .get, path: f.contactsPath, permission: .manageDevices, action: "list-contacts"),
            .init(
                method: .post, path: f.contactsPath, permission: .manageDevices,
                body: #"{"name":"Lucie","phone":"+447911123456"}"#, action: "add-contact"),
            .init(
                method: .put, path: f.contactsPath + "/person", permission: .manageDevices,
                body: #"{"person":"Amélie"}"#, action: "set-person"),
            .init(
                method: .delete, path: f.contactsPath + "/\(second.id)", permission: .manageDevices,
                action: "remove-contact"),
            .init(method: .get, path: "/v1/staff/alerts/\(alert)/fanout", permission: .readAlert),
            .init(
                method: .post, path: "/v1/staff/alerts/\(alert)/links/\(first.id)/revoke", permission: .manageDevices),
        ]
        for route in routes {
            // No token: 401, nothing appended.
            let before = try f.size()
            let anonymous = try await f.call(route.method, route.path, as: nil, body: route.body)
            #expect(anonymous.status == 401, "\(route) without a token")
            #expect(try f.size() == before)
            for role in StaffRole.allCases {
                let before = try f.size()
                let r = try await f.call(route.method, route.path, as: role, body: route.body)
                let added = try f.entries(after: before)
                if role.may(route.permission) {
                    #expect((200..<300).contains(r.status), "\(role) may \(route): \(r.text)")
                    #expect(!added.isEmpty, "\(role) \(route) is recorded")
                    #expect(added.allSatisfy { $0["actor"] == f.ids[role] }, "\(role) \(route): \(added)")
                    if let action = route.action {
                        // The access is committed with the change (same group: consecutive).
                        let access = try #require(added.last)
                        #expect(access.kind == .staffAccess && access["action"] == action)
                        #expect(access["target"] == f.device.rawValue, "the target is the device id, nothing more")
                        #expect(added.count == (action == "list-contacts" ? 1 : 2))
                        if action != "list-contacts" { #expect(added.first?.kind == .contactsChanged) }
                    } else if route.permission == .readAlert {
                        #expect(added.map(\.kind) == [.access] && added.first?["action"] == "read-alert")
                    } else {
                        #expect(added.map(\.kind) == [.linkRevoked] && added.first?["role"] == role.rawValue)
                    }
                } else {
                    #expect(r.status == 403, "\(role) may not \(route)")
                    #expect(r.code == "staff.forbidden")
                    #expect(added.count == 1, "\(role) \(route): only the refusal is appended")
                    #expect(added.first?.kind == .staffAccess)
                    #expect(added.first?["action"] == "refused." + route.permission.rawValue)
                    #expect(added.first?["actor"] == f.ids[role])
                }
            }
        }
        let audit = try Auditor(directory: f.app.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    @Test func fiveContactsFitAndASixthIsRefusedWith409() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        for n in 1...5 { try await f.add("Contact \(n)", "+3361234567\(n)") }
        let before = try f.size()
        let sixth = try await f.call(.post, f.contactsPath, body: #"{"name":"Sixième","phone":"+33612345676"}"#)
        #expect(sixth.status == 409)
        #expect(sixth.code == "contacts.too-many")
        #expect(try f.size() == before, "a refusal appends nothing")
        #expect(try await f.list().contacts.count == 5)
    }

    @Test func anythingButAPhoneNumberIsA400ProblemAndAppendsNothing() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let before = try f.size()
        for phone in [
            "", " ", "abc", "+", "612345678", "0012345678", "+0612345678", "+33 0612345678", "+3306123456789",
            "+336123456", "06 12 34 56 7a", "06 12 34 56 789", "+1234567", "+1234567890123456", "+33612345678;",
            "+33612345678 ext 2", "6+33612345678", "＋33612345678", "+33\u{0663}12345678", "٠٦١٢٣٤٥٦٧٨",
            "tel:+33612345678", "+33 6 12 34 56 78\n", "06/12/34/56/78", "0033612345678",
            "'; DROP TABLE contacts; --", String(repeating: "6", count: 500), "+33612345678\u{0}",
        ] {
            let body = String(
                decoding: try JSONEncoder().encode(ContactRequest(name: "Paul", phone: phone)), as: UTF8.self)
            let r = try await f.call(.post, f.contactsPath, body: body)
            #expect(r.status == 400, "\(phone.debugDescription): \(r.text)")
            #expect(r.code == "contacts.invalid-phone", "\(phone.debugDescription): \(r.text)")
            #expect(r.text.contains("E.164"), "the problem says what is expected")
        }
        let number = try await f.call(.post, f.contactsPath, body: #"{"name":"Paul","phone":33612345678}"#)
        #expect(number.status == 400 && number.code == "json.invalid", "a number is a string")
        #expect(try f.size() == before)
        #expect(try await f.list().contacts.isEmpty)
    }

    @Test func badNamesAndMalformedBodiesAre400Problems() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let before = try f.size()
        for name in ["", "   ", String(repeating: "é", count: 65), "Paul\nMartin", "Paul\u{202E}", "a\u{7}"] {
            let body = String(
                decoding: try JSONEncoder().encode(ContactRequest(name: name, phone: "+33612345678")), as: UTF8.self)
            let r = try await f.call(.post, f.contactsPath, body: body)
            #expect(r.status == 400 && r.code == "contacts.invalid-name", "\(name.debugDescription): \(r.text)")
        }
        for body in ["", "{", #"{"name":"Paul"}"#, #"{"phone":"+33612345678"}"#, #"{"name":1,"phone":"+33612345678"}"#]
        {
            let r = try await f.call(.post, f.contactsPath, body: body)
            #expect(r.status == 400 && r.code == "json.invalid", "\(body): \(r.text)")
        }
        // The person: required in the body (a name, or null to clear it).
        for body in ["{}", #"{"person":5}"#, #"{"nom":"Amélie"}"#] {
            let r = try await f.call(.put, f.contactsPath + "/person", body: body)
            #expect(r.status == 400 && r.code == "json.invalid", "\(body): \(r.text)")
        }
        let long = try await f.call(
            .put, f.contactsPath + "/person", body: #"{"person":"\#(String(repeating: "x", count: 65))"}"#)
        #expect(long.status == 400 && long.code == "contacts.invalid-name")
        #expect(try f.size() == before)
    }

    @Test func unknownMalformedAndRevokedDevicesAreRefusedAndRecordNothing() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let before = try f.size()
        let unknown = DeviceID.random()
        let r1 = try await f.call(.get, "/v1/staff/devices/\(unknown)/contacts")
        #expect(r1.status == 400 && r1.code == "ledger.unknown-device", "\(r1.text)")
        let r2 = try await f.call(
            .post, "/v1/staff/devices/\(unknown)/contacts", body: #"{"name":"Paul","phone":"+33612345678"}"#)
        #expect(r2.status == 400 && r2.code == "ledger.unknown-device", "\(r2.text)")
        let r3 = try await f.call(.get, "/v1/staff/devices/NOT-A-DEVICE/contacts")
        #expect(r3.status == 403 && r3.code == "device.unknown", "\(r3.text)")
        #expect(try f.size() == before)
    }

    @Test func aNumberAlreadyInTheListIsRefusedWhateverItsSpelling() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        try await f.add("Paul", "+33612345678")
        let before = try f.size()
        for spelling in ["+33612345678", "06 12 34 56 78", "06.12.34.56.78", "+33 (6) 12-34-56-78"] {
            let r = try await f.call(.post, f.contactsPath, body: #"{"name":"Autre","phone":"\#(spelling)"}"#)
            #expect(r.status == 400 && r.code == "contacts.invalid-phone", "\(spelling): \(r.text)")
            #expect(!r.text.contains("612345678"), "never in clear: \(r.text)")
            #expect(r.text.contains("+336••••••78"), "named masked: \(r.text)")
        }
        #expect(try f.size() == before)
    }

    @Test func removingAContactThatIsNotThereIs404() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        try await f.add("Paul", "+33612345678")
        let before = try f.size()
        for id in [ContactID.random().rawValue, "not-a-contact"] {
            let r = try await f.call(.delete, f.contactsPath + "/\(id)")
            #expect(r.status == 404 && r.code == "contact.unknown", "\(id): \(r.text)")
        }
        #expect(try f.size() == before)
    }

    @Test func theListShowsWhatWasAddedInOrderAndPositionsCloseUpAfterARemoval() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let a = try await f.add("  Paul Martin ", "06 12 34 56 78")
        let b = try await f.add("Inès Dupont", "+33712345678")
        let c = try await f.add("Grace O'Neil", "+1 (415) 555-2671")
        #expect([a.position, b.position, c.position] == [Int]([1, 2, 3]))
        var listed = try await f.list()
        #expect(listed.device == f.device.rawValue && listed.person == nil)
        #expect(listed.contacts.map(\.name) == ["Paul Martin", "Inès Dupont", "Grace O'Neil"], "names trimmed")
        #expect(listed.contacts.map(\.phone) == ["+33612345678", "+33712345678", "+14155552671"], "E.164")
        #expect(listed.contacts.map(\.id) == [a.id, b.id, c.id])
        let removed = try await f.call(.delete, f.contactsPath + "/\(a.id)")
        #expect(removed.status == 200, "\(removed.text)")
        #expect(try removed.decode(ContactsChangedResponse.self).count == 2)
        listed = try await f.list()
        #expect(listed.contacts.map(\.id) == [b.id, c.id])
        #expect(listed.contacts.map(\.position) == [1, 2])
        // The person's name, set then cleared; absent from the list when none.
        let set = try await f.call(.put, f.contactsPath + "/person", body: #"{"person":" Amélie "}"#)
        #expect(set.status == 200, "\(set.text)")
        #expect(try await f.list().person == "Amélie")
        let cleared = try await f.call(.put, f.contactsPath + "/person", body: #"{"person":null}"#)
        #expect(cleared.status == 200)
        let raw = try await f.call(.get, f.contactsPath)
        #expect(!raw.text.contains("person"), "absent, never null: \(raw.text)")
        #expect(try await f.list().contacts.map(\.id) == [b.id, c.id], "the person's name leaves the list alone")
    }

    @Test func theLedgerHoldsEachListsCountAndHashAndNoNameOrNumberIsAnywhereOnDiskInClear() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let phones = ["+33612345678": "06 12 34 56 78", "+33798765432": "+33 7 98 76 54 32"]
        let names = ["Zéphyrine Quatremain", "Bartholomé Vasseur"]
        var hashes = [String]()
        for (i, (_, spelled)) in phones.sorted(by: { $0.key < $1.key }).enumerated() {
            try await f.add(names[i], spelled)
            hashes.append(try f.listHash())
        }
        _ = try await f.call(.put, f.contactsPath + "/person", body: #"{"person":"Clémentine Aubrac"}"#)
        _ = try await f.list()
        let changes = try (0..<f.size()).map { try f.reader.entry(at: $0) }.filter {
            (try? $0.parsed().kind) == .contactsChanged
        }
        let parsed = try changes.map { try $0.parsed() }
        #expect(parsed.map { $0["count"] } == ["1", "2", "2"])
        #expect(parsed.map { $0["contacts-sha256"] } == [hashes[0], hashes[1], hashes[1]])
        #expect(parsed.allSatisfy { $0["device"] == f.device.rawValue && $0["role"] == "caseworker" })
        // No entry holds a name or a number, in any spelling.
        let secrets = names + ["Clémentine Aubrac", "Zéphyrine", "612345678", "798765432", "6 12 34 56 78"]
        for index in 0..<(try f.size()) {
            let bytes = try f.reader.entry(at: index).bytes
            for secret in secrets {
                #expect(Data(bytes).range(of: Data(secret.utf8)) == nil, "entry \(index) holds \(secret)")
            }
        }
        // Nor any file of the data folder: the database (and its WAL) holds them sealed.
        let files = filesUnder(f.app.root)
        #expect(files.contains { $0.path.hasSuffix(f.app.directory.database) }, "the database is searched")
        for file in files {
            for secret in secrets {
                #expect(file.bytes.range(of: Data(secret.utf8)) == nil, "\(file.path) holds \(secret)")
                #expect(
                    file.bytes.range(of: Data(secret.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] })) == nil,
                    "\(file.path) holds \(secret) in UTF-16")
            }
        }
        let audit = try Auditor(directory: f.app.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    @Test func revokingADeviceDestroysItsContacts() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        try await f.add("Paul", "+33612345678")
        try await f.add("Inès", "+33712345678")
        #expect(try f.reader.contactRows(device: f.device).count == 2)
        let revoked = try await f.call(.post, "/v1/staff/devices/\(f.device)/revoke")
        #expect(revoked.status == 200, "\(revoked.text)")
        #expect(try f.reader.contactRows(device: f.device).isEmpty, "the rows are gone")
        #expect(try f.reader.deviceKey(f.device) == nil, "and the key that sealed them")
        let before = try f.size()
        let list = try await f.call(.get, f.contactsPath)
        #expect(list.status == 403 && list.code == "device.revoked", "\(list.text)")
        let add = try await f.call(.post, f.contactsPath, body: #"{"name":"Lucie","phone":"+33612345670"}"#)
        #expect(add.status == 403 && add.code == "device.revoked")
        #expect(try f.size() == before)
    }

    @Test func replacingADeviceMovesItsContactsAndTheLedgerShowsTheSameList() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let a = try await f.add("Paul", "+33612345678")
        let b = try await f.add("Inès", "+33712345678")
        _ = try await f.call(.put, f.contactsPath + "/person", body: #"{"person":"Amélie"}"#)
        let oldHash = try f.listHash()
        let key = try Ed25519PrivateKey.generate()
        let new = DeviceID.derive(publicKey: key.publicKey)
        let before = try f.size()
        let r = try await f.call(
            .post, "/v1/staff/devices",
            body: #"{"publicKey":"\#(Base64.encode(key.publicKey))","replaces":"\#(f.device)"}"#)
        #expect(r.status == 201, "\(r.text)")
        let enrolled = try r.decode(StaffEnrolledResponse.self)
        let added = try f.entries(after: before)
        #expect(added.map(\.kind) == [.deviceRevoked, .deviceEnrolled, .staffAccess, .contactsChanged])
        #expect(enrolled.revokedIndex == before && enrolled.index == before + 1)
        let moved = try #require(added.last)
        #expect(moved["device"] == new.rawValue && moved["count"] == "2")
        #expect(moved["contacts-sha256"] == oldHash, "the same list, moved")
        #expect(moved["actor"] == f.ids[.caseworker])
        let listed = try await f.list(new)
        #expect(listed.contacts.map(\.id) == [a.id, b.id])
        #expect(listed.contacts.map(\.phone) == ["+33612345678", "+33712345678"])
        #expect(listed.person == "Amélie")
        #expect(try f.reader.contactRows(device: f.device).isEmpty)
        let old = try await f.call(.get, f.contactsPath)
        #expect(old.status == 403 && old.code == "device.revoked")
        // The new phone's list goes on changing, and its alert texts them all.
        try await f.add("Lucie", "+447911123456", device: new)
        let alert = try await f.openAlert(9, key: key)
        #expect(try f.reader.outbox(alert: alert).count == 3)
        let audit = try Auditor(directory: f.app.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    @Test func aReplacementWithoutContactsAddsNoContactsChanged() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let key = try Ed25519PrivateKey.generate()
        let before = try f.size()
        let r = try await f.call(
            .post, "/v1/staff/devices",
            body: #"{"publicKey":"\#(Base64.encode(key.publicKey))","replaces":"\#(f.device)"}"#)
        #expect(r.status == 201, "\(r.text)")
        #expect(try f.entries(after: before).map(\.kind) == [.deviceRevoked, .deviceEnrolled, .staffAccess])
        #expect(try await f.list(DeviceID.derive(publicKey: key.publicKey)).contacts.isEmpty)
    }

    @Test func anAlertOfADeviceWithThreeContactsQueuesThreeTextsAndStaffSeeTheirStateWithoutNumbers() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let added = [
            try await f.add("Paul", "+33612345678"), try await f.add("Inès", "+33712345678"),
            try await f.add("Lucie", "+447911123456"),
        ]
        let alert = try await f.openAlert(3)
        let outbox = try f.reader.outbox(alert: alert)
        #expect(outbox.count == 3)
        #expect(outbox.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.device == f.device })
        #expect(Set(outbox.map(\.contact.rawValue)) == Set(added.map(\.id)))
        try await f.sendFirstAttempt(alert, added[0].id)
        for role in [StaffRole.caseworker, .legal, .police] {
            let r = try await f.call(.get, "/v1/staff/alerts/\(alert)/fanout", as: role)
            #expect(r.status == 200, "\(role): \(r.text)")
            let fanout = try r.decode(FanoutResponse.self)
            #expect(fanout.alert == alert.rawValue && fanout.device == f.device.rawValue)
            #expect(fanout.texts.map(\.contact) == added.map(\.id))
            #expect(fanout.texts.map(\.position) == [1, 2, 3])
            #expect(fanout.texts.map(\.state) == ["sending", "pending", "pending"])
            #expect(fanout.texts[0].attempts == 1 && fanout.texts[0].link?.revoked == false)
            #expect(fanout.texts[0].link?.views == 0 && fanout.texts[1].link == nil)
            for secret in ["Paul", "Inès", "612345678", "712345678", "7911123456"] {
                #expect(!r.text.contains(secret), "\(role): no name or number in \(r.text)")
            }
        }
        let unknown = try await f.call(.get, "/v1/staff/alerts/\(AlertID.random())/fanout")
        #expect(unknown.status == 404 && unknown.code == "alert.unknown")
    }

    @Test func revokingALinkAppendsLinkRevokedAndASecondRevocationIs409() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let paul = try await f.add("Paul", "+33612345678")
        let ines = try await f.add("Inès", "+33712345678")
        let alert = try await f.openAlert(4)
        try await f.sendFirstAttempt(alert, paul.id)
        let path = "/v1/staff/alerts/\(alert)/links/\(paul.id)/revoke"
        let before = try f.size()
        let r = try await f.call(.post, path)
        #expect(r.status == 200, "\(r.text)")
        let revoked = try r.decode(LinkRevokedResponse.self)
        #expect(revoked.index == before && revoked.contact == paul.id && revoked.alert == alert.rawValue)
        let entry = try f.reader.entry(at: revoked.index).parsed()
        #expect(entry.kind == .linkRevoked && entry.alert == alert && entry["contact"] == paul.id)
        #expect(entry["actor"] == f.ids[.caseworker] && entry["role"] == "caseworker")
        #expect(try f.reader.links(alert: alert).first?.row.revoked == true)
        let again = try await f.call(.post, path)
        #expect(again.status == 409 && again.code == "link.already-revoked", "\(again.text)")
        // No link (not texted yet), no such contact, no such alert: 404, nothing appended.
        let mark = try f.size()
        let noLink = try await f.call(.post, "/v1/staff/alerts/\(alert)/links/\(ines.id)/revoke")
        #expect(noLink.status == 404 && noLink.code == "link.unknown", "\(noLink.text)")
        let noContact = try await f.call(.post, "/v1/staff/alerts/\(alert)/links/\(ContactID.random())/revoke")
        #expect(noContact.status == 404 && noContact.code == "link.unknown")
        let noAlert = try await f.call(.post, "/v1/staff/alerts/\(AlertID.random())/links/\(paul.id)/revoke")
        #expect(noAlert.status == 404 && noAlert.code == "alert.unknown")
        #expect(try f.size() == mark)
        let fanout = try await f.call(.get, "/v1/staff/alerts/\(alert)/fanout")
        #expect(try fanout.decode(FanoutResponse.self).texts.first?.link?.revoked == true)
        let audit = try Auditor(directory: f.app.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }

    @Test func aContactPathAskedWithAnotherMethodIs405WithTheMethodsOfThatRouteAlone() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        let auth: HTTPFields = [.authorization: "Bearer \(f.tokens[.caseworker]!)"]
        for (method, path, allow) in [
            (HTTPRequest.Method.get, f.contactsPath + "/person", "PUT"),
            (.post, f.contactsPath + "/\(ContactID.random())", "DELETE"),
            (.patch, f.contactsPath, "GET, POST"),
            (.get, "/v1/staff/alerts/\(AlertID.random())/links/\(ContactID.random())/revoke", "POST"),
        ] {
            let (status, headers, _) = try await f.app.send(method, path, headers: auth)
            #expect(status == .methodNotAllowed, "\(method) \(path)")
            #expect(headers[.allow] == allow, "\(method) \(path): the literal segment wins, as in the router")
        }
    }

    @Test func contactsAddedAtOnceAllLand() async throws {
        let f = try await ContactsFixture()
        defer { f.remove() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 1...5 {
                group.addTask { try await f.add("Contact \(n)", "+3361234567\(n)") }
            }
            try await group.waitForAll()
        }
        let listed = try await f.list()
        #expect(listed.contacts.count == 5)
        #expect(Set(listed.contacts.map(\.name)) == Set((1...5).map { "Contact \($0)" }))
        #expect(listed.contacts.map(\.position) == [1, 2, 3, 4, 5])
    }
}

/// The console's contact pages, in a live service with a second phone that has two contacts and
/// an alert whose first text went out (its link made) before the service started.
final class ContactsConsole: @unchecked Sendable {
    let s: LiveServer
    let device: DeviceID
    let alert = LiveServer.alert(13)
    let contacts: [ContactID]
    var tokens: [StaffRole: String] = [:]
    var cookies: [String: String] = [:]
    /// A new one per sign-in: Foundation on Linux may keep cookies of its own.
    var session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)

    init() async throws {
        let alert = self.alert
        let made = Made()
        s = try await LiveServer(prepare: { writer in
            let reader = try LedgerReader(directory: writer.directory)
            let key = try Ed25519PrivateKey.generate()
            let device = DeviceID.derive(publicKey: key.publicKey)
            _ = try await writer.append(EntryDraft(enrolling: device, publicKey: key.publicKey))
            let operations = ContactOperations.forOperator(
                String(repeating: "0f", count: 16), writer: writer, reader: reader)
            for (name, number) in [("Paul Martin", "+33612345678"), ("Inès Dupont", "+33712345678")] {
                let added = try await operations.add(device, ContactRequest(name: name, phone: number))
                made.ids.append(ContactID(added.contact.id)!)
            }
            let opened = try DeviceStatement(
                kind: .alertOpened, origin: writer.origin, alert: alert, capturedAt: LiveServer.t0)
            _ = try await writer.append(
                EntryDraft(
                    kind: .alertOpened, alert: alert, device: device,
                    [
                        ("opened-at", LiveServer.t0.description),
                        ("statement-sig", Base64.encode(try key.sign(opened.bytes))),
                    ]))
            try await writer.markSending(
                alert: alert, contact: made.ids[0],
                prepared: PreparedMessage(
                    sealed: [1], messageHash: SHA256.hash([1]), numberHash: SHA256.hash([2]),
                    linkHash: SHA256.hash([3])))
            // The service's sender gives both texts up as too old at once (nothing is composed or
            // sent): the page shows fixed states, one text with a link, one without.
            try SQLiteConnection(path: writer.directory.database).execute("UPDATE outbox SET created = 0")
            made.device = device
        })
        device = made.device!
        contacts = made.ids
        let reader = try LedgerReader(directory: s.directory)
        for _ in 0..<500 where try !reader.outbox(alert: alert).allSatisfy({ $0.state == .failed }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for role in StaffRole.allCases {
            let (status, text) = try await s.raw(
                "POST", "v1/admin/accounts",
                body: Data(#"{"name":"Console \#(role.rawValue)","role":"\#(role.rawValue)"}"#.utf8),
                headers: ["Authorization": "Bearer \(try s.directory.loadOrCreateAdminToken())"])
            #expect(status == 201, "\(text)")
            tokens[role] = try JSONDecoder().decode(AccountCreatedResponse.self, from: Data(text.utf8)).token
        }
    }

    final class Made: @unchecked Sendable {
        var ids: [ContactID] = []
        var device: DeviceID?
    }

    struct Page {
        let status: Int
        let text: String
        let type: String
        var csrf: String? {
            guard let r = text.range(of: #"name="csrf" value=""#) else { return nil }
            return String(text[r.upperBound...].prefix { $0 != "\"" })
        }
    }

    func send(_ method: String, _ path: String, form: [(String, String)]? = nil) async throws -> Page {
        var request = URLRequest(url: URL(string: s.url.absoluteString + path)!)
        request.httpMethod = method
        request.httpShouldHandleCookies = false
        if let form {
            request.httpBody = Data(
                form.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                    .joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        if !cookies.isEmpty {
            request.setValue(cookies.map { "\($0)=\($1)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        for (k, v) in http.allHeaderFields where String(describing: k).lowercased() == "set-cookie" {
            for c in String(describing: v).split(separator: ",") {
                let kv = c.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).split(
                    separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if kv.count == 2 { cookies[String(kv[0])] = kv[1].isEmpty ? nil : String(kv[1]) }
            }
        }
        let type = http.value(forHTTPHeaderField: "Content-Type") ?? ""
        return Page(status: http.statusCode, text: String(decoding: data, as: UTF8.self), type: type)
    }

    func signIn(_ role: StaffRole) async throws {
        cookies = [:]
        session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        let page = try await send("GET", "/console/")
        _ = try await send("POST", "/console/sign-in", form: [("csrf", page.csrf ?? ""), ("token", tokens[role]!)])
    }

    func entries(after size: UInt64) throws -> [Entry] {
        let reader = try s.reader()
        return try (size..<reader.size()).map { try reader.entry(at: $0).parsed() }
    }
}

@Suite struct ContactsConsoleTests {
    @Test func aCaseworkerManagesTheContactsOnAPageAndARefusedNumberIsShownInThePage() async throws {
        let c = try await ContactsConsole()
        try await c.signIn(.caseworker)
        let devices = try await c.send("GET", "/console/devices")
        #expect(devices.text.contains("/console/devices/\(c.device)/contacts"), "the device list links its contacts")
        #expect(!devices.text.contains("role=\"status\""), "nothing done yet, nothing said")
        #expect(!devices.text.contains(">nil<") && !devices.text.contains("\"nil\""), "no value shows as nil")
        var before = try c.s.size()
        var page = try await c.send("GET", "/console/devices/\(c.device)/contacts")
        #expect(page.status == 200)
        #expect(page.text.contains("Paul Martin") && page.text.contains("+336••••••78"), "masked at first")
        #expect(page.text.contains("<summary>Afficher</summary><span class=\"full\">+33612345678</span>"))
        #expect(!page.text.contains("id=\"done\"") && !page.text.contains("id=\"refusal\""))
        #expect(try c.entries(after: before).map { $0["action"] } == ["list-contacts"], "the view is recorded")
        let csrf = try #require(page.csrf)

        // A number that is not one: the page says so, in French, with what was typed; no change.
        before = try c.s.size()
        page = try await c.send(
            "POST", "/console/devices/\(c.device)/contacts",
            form: [("csrf", csrf), ("name", "Lucie"), ("phone", "06 12 34")])
        #expect(page.status == 400 && page.type.hasPrefix("text/html"), "a page, not a JSON problem")
        #expect(page.text.contains("id=\"refusal\"") && page.text.contains("Numéro refusé"))
        #expect(page.text.contains("value=\"06 12 34\"") && page.text.contains("value=\"Lucie\""), "fields kept")
        #expect(!(try c.entries(after: before).contains { $0.kind == .contactsChanged }))

        page = try await c.send(
            "POST", "/console/devices/\(c.device)/contacts",
            form: [("csrf", csrf), ("name", "Lucie Bernard"), ("phone", "+44 7911 123456")])
        #expect(page.status == 200 && page.text.contains("Lucie Bernard") && page.text.contains("id=\"done\""))
        page = try await c.send(
            "POST", "/console/devices/\(c.device)/contacts/\(c.contacts[0])/remove", form: [("csrf", csrf)])
        #expect(page.status == 200 && !page.text.contains("Paul Martin"))
        page = try await c.send(
            "POST", "/console/devices/\(c.device)/person", form: [("csrf", csrf), ("person", "Amélie")])
        #expect(page.status == 200 && page.text.contains("value=\"Amélie\""))
        let listed = try ContactBookView.list(c.s, c.device)
        #expect(listed.names == ["Inès Dupont", "Lucie Bernard"] && listed.person == "Amélie")

        // A device that is not one, or is revoked: said in French, not as a refused role.
        let notADevice = try await c.send("GET", "/console/devices/nope/contacts")
        #expect(notADevice.status == 403 && notADevice.text.contains("identifiant de téléphone enrôlé"))
        let revoked = try await c.send("POST", "/console/devices/\(c.device)/revoke", form: [("csrf", csrf)])
        #expect(revoked.status == 200)
        let gone = try await c.send("GET", "/console/devices/\(c.device)/contacts")
        #expect(gone.status == 403 && gone.text.contains("Ce téléphone est révoqué"), "\(gone.text)")
        #expect(try c.s.reader().contactRows(device: c.device).isEmpty, "destroyed with it")

        // A form without the session's token changes nothing.
        before = try c.s.size()
        let forged = try await c.send(
            "POST", "/console/devices/\(c.device)/contacts", form: [("name", "X"), ("phone", "+33612345670")])
        #expect(forged.status == 403)
        #expect(try c.s.size() == before)
        await c.s.stop()
    }

    @Test func theAlertPageShowsTheTextsAndOnlyCaseworkersRevokeALink() async throws {
        let c = try await ContactsConsole()
        try await c.signIn(.legal)
        var page = try await c.send("GET", "/console/alerts/\(c.alert)")
        #expect(page.status == 200 && page.text.contains("id=\"texts\""))
        #expect(page.text.contains(c.contacts[0].rawValue) && page.text.contains("abandonné"))
        #expect(!page.text.contains("Paul") && !page.text.contains("612345678"), "no name or number")
        #expect(!page.text.contains("revoke-link"), "legal does not manage links")
        let contactsPage = try await c.send("GET", "/console/devices/\(c.device)/contacts")
        #expect(contactsPage.status == 403, "nor contacts")

        try await c.signIn(.caseworker)
        page = try await c.send("GET", "/console/alerts/\(c.alert)")
        #expect(page.text.contains("id=\"texts\"") && page.text.contains("revoke-link"))
        let action = "/console/alerts/\(c.alert)/links/\(c.contacts[0])/revoke"
        #expect(page.text.contains(action), "a button for the link that exists")
        #expect(!page.text.contains("/links/\(c.contacts[1])/revoke"), "none for a text not sent yet")
        let before = try c.s.size()
        page = try await c.send("POST", action, form: [("csrf", page.csrf ?? "")])
        #expect(page.status == 200 && page.text.contains("id=\"done\""), "\(page.text.suffix(2000))")
        #expect(try c.entries(after: before).map(\.kind) == [.linkRevoked, .access], "the revocation, then the read")
        #expect(page.text.contains("fermé") && !page.text.contains(action), "revoked: no button any more")
        let twice = try await c.send("POST", action, form: [("csrf", page.csrf ?? "")])
        #expect(twice.status == 409 && twice.text.contains("Ce lien de suivi est déjà fermé."), "\(twice.text)")
        await c.s.stop()
    }
}

/// The list as the ledger's read side opens it (the test's own view, not the service's).
enum ContactBookView {
    static func list(_ s: LiveServer, _ device: DeviceID) throws -> (names: [String], person: String?) {
        let reader = try s.reader()
        guard let (key, person) = try reader.deviceKey(device) else { return ([], nil) }
        let names = try reader.contactRows(device: device).map { row -> String in
            let plain = try SealedRecord.open(
                row.sealed, key: key, aad: Array("temoin/contact/v1\n\(row.id)".utf8), what: "contact")
            return String(String(decoding: plain, as: UTF8.self).split(separator: "\n")[1])
        }
        let personName = try person.map {
            String(
                decoding: try SealedRecord.open(
                    $0, key: key, aad: Array("temoin/person/v1\n\(device)".utf8), what: "person"), as: UTF8.self)
        }
        return (names, personName)
    }
}
