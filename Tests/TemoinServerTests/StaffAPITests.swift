import Foundation
import HTTPTypes
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import TemoinServer
import TemoinAPI
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinVerify
@testable import TemoinLedger
import TemoinTestSupport
import Testing

/// A live service with one closed alert (two chunks and a location) and one token per role.
final class StaffFixture: @unchecked Sendable {
    let s: LiveServer
    let alert = LiveServer.alert(7)
    var tokens: [StaffRole: String] = [:]
    var ids: [StaffRole: String] = [:]
    var revokedToken = ""

    init() async throws {
        s = try await LiveServer()
        let c = s.client()
        _ = try await c.openAlert(alert, openedAt: LiveServer.t0)
        _ = try await c.addLocation(alert, fix: "geo:48.8566,2.3522;u=10", capturedAt: LiveServer.t0)
        _ = try await c.putChunk(alert, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        _ = try await c.putChunk(alert, seq: 1, wav: LiveServer.chunk(1), capturedAt: LiveServer.at(1), isFinal: true)
        _ = try await c.closeAlert(alert, lastSeq: 1, closedAt: LiveServer.at(2))
        for role in StaffRole.allCases {
            let created = try await account(role.rawValue, name: "Agent \(role.rawValue)")
            tokens[role] = created.token
            ids[role] = created.id
        }
        revokedToken = try await account("legal", name: "Parti").token
        let (status, text) = try await admin("POST", "v1/admin/accounts/revoke", #"{"name":"Parti"}"#)
        #expect(status == 200, "\(text)")
    }

    func admin(_ method: String, _ path: String, _ body: String? = nil) async throws -> (Int, String) {
        try await s.raw(
            method, path, body: body.map { Data($0.utf8) },
            headers: ["Authorization": "Bearer \(try s.directory.loadOrCreateAdminToken())"])
    }

    func account(_ role: String, name: String) async throws -> AccountCreatedResponse {
        let (status, text) = try await admin("POST", "v1/admin/accounts", #"{"name":"\#(name)","role":"\#(role)"}"#)
        #expect(status == 201, "\(text)")
        return try JSONDecoder().decode(AccountCreatedResponse.self, from: Data(text.utf8))
    }

    /// A staff request with `token` (nil: no Authorization header).
    func call(
        _ method: String, _ path: String, token: String?, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> (status: Int, body: Data, headers: [String: String]) {
        var request = URLRequest(url: URL(string: s.url.absoluteString + "/" + path)!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields = [String: String]()
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return (http.statusCode, data, fields)
    }

    func entries(after size: UInt64) throws -> [Entry] {
        let reader = try s.reader()
        let now = try reader.size()
        guard now > size else { return [] }
        return try (size..<now).map { try reader.entry(at: $0).parsed() }
    }
}

func runProcessOutput(_ path: String, _ arguments: [String]) throws -> String {
    String(decoding: try runProcess(path, arguments).stdout, as: UTF8.self)
}

@Suite(.serialized) struct StaffAPITests {
    /// One staff request of the matrix: its permission, and whether it serves evidence of the alert.
    struct Endpoint: CustomStringConvertible {
        let method: String
        let path: String
        let permission: StaffPermission
        var body: String?
        var description: String { "\(method) \(path)" }
    }

    func endpoints(_ f: StaffFixture) -> [Endpoint] {
        let key = try! Ed25519PrivateKey.generate()
        return [
            .init(method: "GET", path: "v1/staff/alerts", permission: .listAlerts),
            .init(method: "GET", path: "v1/staff/alerts/\(f.alert)", permission: .readAlert),
            .init(method: "GET", path: "v1/staff/alerts/\(f.alert)/recording", permission: .listen),
            .init(method: "GET", path: "v1/staff/alerts/\(f.alert)/custody", permission: .readCustody),
            .init(
                method: "POST", path: "v1/staff/alerts/\(f.alert)/exports", permission: .export,
                body: #"{"requester":"Brigade de protection des familles","reference":"PV 2026/123"}"#),
            .init(method: "GET", path: "v1/staff/devices", permission: .manageDevices),
            .init(
                method: "POST", path: "v1/staff/devices", permission: .manageDevices,
                body: #"{"publicKey":"\#(Base64.encode(key.publicKey))"}"#),
            .init(method: "GET", path: "v1/staff/accounts", permission: .manageAccounts),
            .init(
                method: "POST", path: "v1/staff/accounts", permission: .manageAccounts,
                body: #"{"name":"Nouvelle \#(UUID().uuidString.prefix(8))","role":"caseworker"}"#),
            // Last: it erases the fixture's alert.
            .init(
                method: "POST", path: "v1/staff/alerts/\(f.alert)/erase", permission: .erase,
                body: #"{"reason":"Ordonnance du juge des enfants"}"#),
        ]
    }

    @Test func everyStaffEndpointAnswersEachRoleExactlyAsTheRoleTableSays() async throws {
        let f = try await StaffFixture()
        for endpoint in endpoints(f) {
            // Without a token, with a bad one, with a revoked one: 401, and the ledger is unchanged.
            for token in [nil, "tmn_not-a-token", f.revokedToken] {
                let before = try f.s.size()
                let r = try await f.call(endpoint.method, endpoint.path, token: token, body: endpoint.body)
                #expect(r.status == 401, "\(endpoint) with \(token == nil ? "no" : "a bad or revoked") token")
                #expect(r.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect(try f.s.size() == before, "\(endpoint): a failed authentication appends nothing")
            }
            for role in StaffRole.allCases {
                let before = try f.s.size()
                let r = try await f.call(endpoint.method, endpoint.path, token: f.tokens[role]!, body: endpoint.body)
                let added = try f.entries(after: before)
                if role.may(endpoint.permission) {
                    #expect(
                        (200..<300).contains(r.status),
                        "\(role) may \(endpoint): \(String(decoding: r.body, as: UTF8.self))")
                    // What was served was recorded first, by this account.
                    #expect(
                        added.contains {
                            [.access, .staffAccess, .dataErased].contains($0.kind) && $0["actor"] == f.ids[role]
                        },
                        "\(role) \(endpoint) appends its access")
                } else {
                    #expect(r.status == 403, "\(role) may not \(endpoint)")
                    let problem = try JSONSerialization.jsonObject(with: r.body) as? [String: Any]
                    #expect(problem?["code"] as? String == "staff.forbidden")
                    // The refusal is recorded, and nothing else.
                    #expect(added.count == 1, "\(role) \(endpoint): only the refusal is appended")
                    #expect(added.first?.kind == .staffAccess)
                    #expect(added.first?["action"] == "refused." + endpoint.permission.rawValue)
                    #expect(added.first?["actor"] == f.ids[role])
                }
            }
        }
        let audit = try Auditor(directory: f.s.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
        await f.s.stop()
    }

    @Test func theRoleTableSeparatesDuties() {
        // NF Z42-020 separation: who manages devices does not listen; admins see no evidence.
        #expect(StaffRole.caseworker.may(.manageDevices) && !StaffRole.caseworker.may(.listen))
        #expect(!StaffRole.caseworker.may(.export) && !StaffRole.caseworker.may(.readLocations))
        #expect(StaffRole.legal.may(.listen) && StaffRole.legal.may(.export) && !StaffRole.legal.may(.manageAccounts))
        #expect(
            StaffRole.police.may(.export) && !StaffRole.police.may(.listen) && StaffRole.police.exportNeedsReference)
        #expect(StaffRole.admin.permissions == [.manageAccounts])
    }

    @Test func evidenceIsServedOnlyAfterItsAccessIsInTheLedger() async throws {
        let f = try await StaffFixture()
        let legal = f.tokens[.legal]!
        // The custody history served includes the access that read it, with the reason given.
        let r = try await f.call(
            "GET", "v1/staff/alerts/\(f.alert)/custody?reason=Audience%20du%2012%20d%C3%A9cembre", token: legal)
        #expect(r.status == 200)
        let custody = try JSONDecoder().decode(CustodyResponse.self, from: r.body)
        let last = try #require(custody.entries.last)
        #expect(last.kind == "access")
        #expect(last.fields.contains(["action", "custody"]))
        #expect(last.fields.contains(["reason", "Audience du 12 décembre"]))
        #expect(last.fields.contains(["actor", f.ids[.legal]!]))
        #expect(custody.entries.first?.kind == "alert.opened")
        // A refused append serves nothing: with the database made read-only underneath the
        // writer, the recording is not streamed.
        await f.s.stop()
    }

    @Test func aReadOfAnAlertThatDoesNotExistRecordsNothing() async throws {
        let f = try await StaffFixture()
        let before = try f.s.size()
        let missing = LiveServer.alert(99)
        for path in [
            "v1/staff/alerts/\(missing)", "v1/staff/alerts/\(missing)/recording", "v1/staff/alerts/\(missing)/custody",
        ] {
            let r = try await f.call("GET", path, token: f.tokens[.legal]!)
            #expect(r.status == 404, "\(path)")
        }
        let bad = try await f.call("GET", "v1/staff/alerts/NOT-AN-ID", token: f.tokens[.legal]!)
        #expect(bad.status == 400)
        let unknownParameter = try await f.call("GET", "v1/staff/alerts?colour=red", token: f.tokens[.legal]!)
        #expect(unknownParameter.status == 400)
        let badReason = try await f.call("GET", "v1/staff/alerts/\(f.alert)?reason=%0A", token: f.tokens[.legal]!)
        #expect(badReason.status == 400)
        #expect(try f.s.size() == before)
        await f.s.stop()
    }

    @Test func policeSeeMetadataAndLocationsButCaseworkersSeeNoLocation() async throws {
        let f = try await StaffFixture()
        let police = try await f.call("GET", "v1/staff/alerts/\(f.alert)", token: f.tokens[.police]!)
        let detail = try JSONDecoder().decode(AlertDetailResponse.self, from: police.body)
        #expect(detail.locations?.first?.fix == "geo:48.8566,2.3522;u=10")
        #expect(detail.chunks.map(\.seq) == [0, 1])
        #expect(detail.durationMs == 2000)
        #expect(detail.summary.status == "closed")
        let cw = try await f.call("GET", "v1/staff/alerts/\(f.alert)", token: f.tokens[.caseworker]!)
        let cwDetail = try JSONDecoder().decode(AlertDetailResponse.self, from: cw.body)
        #expect(cwDetail.locations == nil)
        #expect(!String(decoding: cw.body, as: UTF8.self).contains("geo:"))
        await f.s.stop()
    }

    @Test func theRecordingSupportsRangeRequestsSoABrowserCanSeek() async throws {
        let f = try await StaffFixture()
        let legal = f.tokens[.legal]!
        let path = "v1/staff/alerts/\(f.alert)/recording"
        let whole = try await f.call("GET", path, token: legal)
        #expect(whole.status == 200)
        #expect(whole.headers["accept-ranges"] == "bytes")
        #expect(whole.headers["content-type"] == "audio/ogg")
        let bytes = Array(whole.body)
        #expect(bytes == (try f.s.reader().recording(alert: f.alert).bytes))
        let etag = try #require(whole.headers["etag"])

        let part = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=10-109"])
        #expect(part.status == 206)
        #expect(Array(part.body) == Array(bytes[10...109]))
        #expect(part.headers["content-range"] == "bytes 10-109/\(bytes.count)")
        let open = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=100-"])
        #expect(Array(open.body) == Array(bytes[100...]))
        let suffix = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=-50"])
        #expect(Array(suffix.body) == Array(bytes.suffix(50)))
        let past = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=\(bytes.count)-"])
        #expect(past.status == 416)
        #expect(past.headers["content-range"] == "bytes */\(bytes.count)")
        // Several ranges, or a stale If-Range, get the whole recording.
        let several = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=0-1,5-6"])
        #expect(several.status == 200 && Array(several.body) == bytes)
        let stale = try await f.call(
            "GET", path, token: legal, headers: ["Range": "bytes=0-1", "If-Range": "\"other\""])
        #expect(stale.status == 200)
        let fresh = try await f.call("GET", path, token: legal, headers: ["Range": "bytes=0-1", "If-Range": etag])
        #expect(fresh.status == 206)
        // Each request was an access.
        let accesses = try f.s.reader().entries(alert: f.alert).filter {
            $0.entry.kind == .access && $0.entry["action"] == "recording"
        }
        #expect(accesses.count == 8)
        await f.s.stop()
    }

    @Test func anExportIsASignedZipThatVerifiesAndCarriesTheAccessesBeforeIt() async throws {
        let f = try await StaffFixture()
        let police = f.tokens[.police]!
        let path = "v1/staff/alerts/\(f.alert)/exports"
        // Police export with a legal reference, always.
        let before = try f.s.size()
        let refused = try await f.call("POST", path, token: police, body: #"{"requester":"BPF Lyon"}"#)
        #expect(refused.status == 400)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("export.bad-reference"))
        #expect(try f.s.size() == before)
        _ = try await f.call("GET", "v1/staff/alerts/\(f.alert)", token: police)
        let r = try await f.call(
            "POST", path, token: police, body: #"{"requester":"BPF Lyon","reference":"Réquisition 2026/4711"}"#)
        #expect(r.status == 201, "\(String(decoding: r.body, as: UTF8.self))")
        #expect(r.headers["content-type"] == "application/zip")
        #expect(r.headers["content-disposition"]?.contains("attachment") == true)
        #expect(Array(r.body.prefix(4)) == [0x50, 0x4b, 0x03, 0x04], "a zip")
        let zip = f.s.root.appendingPathComponent("export.zip").path
        try r.body.write(to: URL(fileURLWithPath: zip))
        var verifier = BundleVerifier(folder: zip, trustedKey: f.s.created.verifierKey)
        let report = try verifier.run()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        // The bundle holds the police read and the export's own access, naming the reference.
        let unzip = try runProcessOutput("/usr/bin/unzip", ["-l", zip])
        let exportIndex = try #require(r.headers["temoin-export-entry"].flatMap { UInt64($0) })
        // As Docs/openapi.yaml declares it (schemathesis checks the pattern).
        #expect(r.headers["content-disposition"] == "attachment; filename=\"temoin-export-\(f.alert).zip\"")
        #expect(unzip.contains("\(f.alert)/entries/\(exportIndex).entry"))
        let chain = try f.s.reader().entries(alert: f.alert).map(\.entry)
        let accesses = chain.filter { $0.kind == .access && $0["actor"] == f.ids[.police] }
        #expect(accesses.map { $0["action"] } == ["read-alert", "export"])
        #expect(accesses.last?["reason"] == "Réquisition 2026/4711")
        // An export while the phone keeps uploading to another alert.
        let other = LiveServer.alert(50)
        let c = f.s.client()
        _ = try await c.openAlert(other, openedAt: LiveServer.t0)
        async let upload = c.putChunk(
            other, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        let legal = try await f.call(
            "POST", path, token: f.tokens[.legal]!, body: #"{"requester":"Cabinet Me Legal"}"#)
        #expect(legal.status == 201)
        _ = try await upload
        await f.s.stop()
    }

    @Test func aReasonGivenByStaffIsTextInTheCustodyReportNeverMarkup() async throws {
        let f = try await StaffFixture()
        let legal = f.tokens[.legal]!
        let script = "<script>alert('x')</script> & <b>"
        let encoded = script.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let read = try await f.call("GET", "v1/staff/alerts/\(f.alert)?reason=\(encoded)", token: legal)
        #expect(read.status == 200)
        let r = try await f.call(
            "POST", "v1/staff/alerts/\(f.alert)/exports", token: legal, body: #"{"requester":"<i>Cour</i>"}"#)
        #expect(r.status == 201)
        let zip = f.s.root.appendingPathComponent("escaped.zip").path
        try r.body.write(to: URL(fileURLWithPath: zip))
        let html = try runProcessOutput("/usr/bin/unzip", ["-p", zip, "\(f.alert)/custody-report.html"])
        #expect(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;")
                || html.contains("&lt;script&gt;"))
        #expect(!html.contains("<script>") && !html.contains("<i>Cour"))
        await f.s.stop()
    }

    @Test func aBundleOfARevokedDeviceShowsTheRevocationAndStillVerifies() async throws {
        let f = try await StaffFixture()
        let device = DeviceID.derive(publicKey: f.s.phone.publicKey)
        let revoke = try await f.call("POST", "v1/staff/devices/\(device)/revoke", token: f.tokens[.caseworker]!)
        #expect(revoke.status == 200)
        let revokedIndex = try JSONDecoder().decode(DeviceRevokedResponse.self, from: revoke.body).index
        let r = try await f.call(
            "POST", "v1/staff/alerts/\(f.alert)/exports", token: f.tokens[.legal]!,
            body: #"{"requester":"Cour d'appel","reference":"RG 26/001"}"#)
        #expect(r.status == 201)
        let zip = f.s.root.appendingPathComponent("revoked.zip").path
        try r.body.write(to: URL(fileURLWithPath: zip))
        var verifier = BundleVerifier(folder: zip, trustedKey: f.s.created.verifierKey)
        let report = try verifier.run()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        #expect(try runProcessOutput("/usr/bin/unzip", ["-l", zip]).contains("entries/\(revokedIndex).entry"))
        await f.s.stop()
    }

    @Test func listingsFilterAndPage() async throws {
        let f = try await StaffFixture()
        let c = f.s.client()
        for n in 20..<25 { _ = try await c.openAlert(LiveServer.alert(n), openedAt: LiveServer.t0) }
        let legal = f.tokens[.legal]!
        var seen = [String]()
        var cursor: String?
        repeat {
            let r = try await f.call(
                "GET", "v1/staff/alerts?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: legal)
            #expect(r.status == 200)
            let page = try JSONDecoder().decode(AlertListResponse.self, from: r.body)
            #expect(page.alerts.count <= 2)
            seen += page.alerts.map(\.alert)
            cursor = page.next
        } while cursor != nil
        #expect(seen.count == 6 && Set(seen).count == 6)
        #expect(seen.first == LiveServer.alert(24).rawValue, "newest first")
        let open = try await f.call("GET", "v1/staff/alerts?status=open", token: legal)
        #expect(try JSONDecoder().decode(AlertListResponse.self, from: open.body).alerts.count == 5)
        let closed = try await f.call("GET", "v1/staff/alerts?status=closed", token: legal)
        #expect(
            try JSONDecoder().decode(AlertListResponse.self, from: closed.body).alerts.map(\.alert) == [
                f.alert.rawValue
            ])
        let future = try await f.call("GET", "v1/staff/alerts?openedAfter=2100-01-01T00:00:00.000Z", token: legal)
        #expect(try JSONDecoder().decode(AlertListResponse.self, from: future.body).alerts.isEmpty)
        let device = DeviceID.derive(publicKey: f.s.phone.publicKey)
        let mine = try await f.call("GET", "v1/staff/alerts?device=\(device)&limit=200", token: legal)
        #expect(try JSONDecoder().decode(AlertListResponse.self, from: mine.body).alerts.count == 6)
        for bad in ["status=maybe", "limit=0", "limit=201", "openedAfter=yesterday", "device=XYZ", "limit=1&limit=2"] {
            let r = try await f.call("GET", "v1/staff/alerts?\(bad)", token: legal)
            #expect(r.status == 400, "\(bad)")
        }
        await f.s.stop()
    }

    @Test func aRevokedDeviceIsRefusedAndItsEarlierEvidenceStaysValid() async throws {
        let f = try await StaffFixture()
        let cw = f.tokens[.caseworker]!
        let device = DeviceID.derive(publicKey: f.s.phone.publicKey)
        let open = LiveServer.alert(30)
        _ = try await f.s.client().openAlert(open, openedAt: LiveServer.t0)
        let r = try await f.call("POST", "v1/staff/devices/\(device)/revoke", token: cw)
        #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
        let again = try await f.call("POST", "v1/staff/devices/\(device)/revoke", token: cw)
        #expect(again.status == 409)
        // Later statements: refused with 403, nothing stored.
        let before = try f.s.size()
        let chunk = LiveServer.chunk(0)
        let statement = try DeviceStatement(
            kind: .audioChunk, origin: f.s.created.origin, alert: open, seq: 0, capturedAt: LiveServer.at(0),
            sha256: SHA256.hash(chunk))
        let signature = try f.s.phone.sign(statement.bytes)
        let (status, text) = try await f.s.raw(
            "PUT", "v1/alerts/\(open)/chunks/0", body: Data(chunk),
            headers: [
                "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": Base64.encode(signature),
            ])
        #expect(status == 403, "\(text)")
        #expect(text.contains("device.revoked"))
        #expect(try f.s.size() == before)
        // Its earlier evidence is intact and the audit passes.
        let audit = try Auditor(directory: f.s.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
        let devices = try await f.call("GET", "v1/staff/devices", token: cw)
        let list = try JSONDecoder().decode(DeviceListResponse.self, from: devices.body)
        #expect(list.devices.first { $0.device == device.rawValue }?.revokedAt != nil)
        await f.s.stop()
    }

    @Test func replacingADeviceRevokesTheOldOneAndEnrollsTheNewOneAtOnce() async throws {
        let f = try await StaffFixture()
        let old = DeviceID.derive(publicKey: f.s.phone.publicKey)
        let key = try Ed25519PrivateKey.generate()
        let label = "Nouveau téléphone"
        let r = try await f.call(
            "POST", "v1/staff/devices", token: f.tokens[.caseworker]!,
            body: #"{"publicKey":"\#(Base64.encode(key.publicKey))","label":"\#(label)","replaces":"\#(old)"}"#)
        #expect(r.status == 201)
        let enrolled = try JSONDecoder().decode(StaffEnrolledResponse.self, from: r.body)
        #expect(enrolled.revokedIndex != nil)
        #expect(try f.s.reader().revocation(device: old) != nil)
        // The new phone works; the old one does not.
        _ = try await f.s.client(key: key).openAlert(LiveServer.alert(40), openedAt: LiveServer.t0)
        await #expect(throws: (any Error).self) {
            _ = try await f.s.client().openAlert(LiveServer.alert(41), openedAt: LiveServer.t0)
        }
        // Replacing a device that is not enrolled changes nothing.
        let before = try f.s.size()
        let other = try Ed25519PrivateKey.generate()
        let bad = try await f.call(
            "POST", "v1/staff/devices", token: f.tokens[.caseworker]!,
            body:
                #"{"publicKey":"\#(Base64.encode(other.publicKey))","replaces":"\#(String(repeating: "0", count: 32))"}"#
        )
        #expect(bad.status == 403 || bad.status == 404 || bad.status == 400, "\(bad.status)")
        #expect(try f.s.size() == before)
        await f.s.stop()
    }

    @Test func accountsAreCreatedOnceByNameAndRevokedAtOnce() async throws {
        let f = try await StaffFixture()
        let admin = f.tokens[.admin]!
        let created = try await f.call(
            "POST", "v1/staff/accounts", token: admin, body: #"{"name":"Claire","role":"police"}"#)
        #expect(created.status == 201)
        let account = try JSONDecoder().decode(AccountCreatedResponse.self, from: created.body)
        #expect(account.token.hasPrefix("tmn_") && account.token.count == 47)
        let dup = try await f.call(
            "POST", "v1/staff/accounts", token: admin, body: #"{"name":"Claire","role":"legal"}"#)
        #expect(dup.status == 409)
        let role = try await f.call("POST", "v1/staff/accounts", token: admin, body: #"{"name":"X","role":"root"}"#)
        #expect(role.status == 400)
        let me = try await f.call("GET", "v1/staff/me", token: account.token)
        #expect(try JSONDecoder().decode(WhoAmIResponse.self, from: me.body).role == "police")
        // Only the hash is stored.
        let database = try Data(contentsOf: URL(fileURLWithPath: f.s.directory.database))
        #expect(database.range(of: Data(account.token.utf8)) == nil)
        let revoked = try await f.call("POST", "v1/staff/accounts/\(account.id)/revoke", token: admin)
        #expect(revoked.status == 200)
        let after = try await f.call("GET", "v1/staff/me", token: account.token)
        #expect(after.status == 401)
        let list = try await f.call("GET", "v1/staff/accounts", token: admin)
        #expect(!String(decoding: list.body, as: UTF8.self).contains("tmn_"), "tokens are never listed")
        let audit = try Auditor(directory: f.s.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
        await f.s.stop()
    }

    @Test func failedAuthenticationsAreRateLimitedButValidTokensStillWork() async throws {
        let f = try await StaffFixture()
        var statuses = [Int]()
        for _ in 0..<40 { statuses.append(try await f.call("GET", "v1/staff/me", token: "tmn_guess").status) }
        #expect(statuses.prefix(30).allSatisfy { $0 == 401 })
        #expect(statuses.suffix(5).allSatisfy { $0 == 429 })
        let ok = try await f.call("GET", "v1/staff/me", token: f.tokens[.legal]!)
        #expect(ok.status == 200)
        let metrics = try await f.s.raw("GET", "metrics")
        #expect(metrics.1.contains("temoin_staff_auth_failures_total 40"))
        for token in f.tokens.values { #expect(!metrics.1.contains(token)) }
        await f.s.stop()
    }
}

/// The promise "if the append fails, nothing is served", with the database refusing new pages
/// (a full disk) under the running router.
struct StaffAccessFailureTests {
    @Test func whenTheAccessCannotBeRecordedNoEvidenceIsServed() async throws {
        let app = try await InMemoryApp()
        defer { try? FileManager.default.removeItem(at: app.root) }
        let reader = try LedgerReader(directory: app.directory)
        let legal = try await Accounts(writer: app.writer, reader: reader).create(name: "Me Full", role: "legal")
        let alert = AlertID(String(repeating: "5e", count: 16))!
        let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
        let device = DeviceID.derive(publicKey: app.phone.publicKey)
        let opened = try DeviceStatement(kind: .alertOpened, origin: app.origin, alert: alert, capturedAt: at)
        _ = try await app.writer.append(
            EntryDraft(
                kind: .alertOpened, alert: alert, device: device,
                [
                    ("opened-at", at.description),
                    ("statement-sig", Base64.encode(try app.phone.sign(opened.bytes))),
                ]))
        let auth: HTTPFields = [.authorization: "Bearer \(legal.token)"]
        try await app.writer.limitDatabasePages(0)
        // Use up the free space left in the last pages: the next append is the one that hits the wall.
        for n in 0..<100_000 {
            do {
                _ = try await app.writer.append(
                    EntryDraft(
                        kind: .staffAccess,
                        [("actor", legal.id), ("role", "legal"), ("action", "filler"), ("target", "filler \(n)")]))
            } catch let e as TemoinError where e.id == .sqliteDiskFull {
                break
            }
        }
        let before = try reader.size()
        for path in ["", "/custody", "/recording"] {
            let (status, headers, body) = try await app.send(.get, "/v1/staff/alerts/\(alert)\(path)", headers: auth)
            #expect(status.code >= 500, "\(path): \(status)")
            #expect(headers[.contentType] == "application/problem+json", "\(path): nothing but a problem")
            #expect(
                !String(decoding: body, as: UTF8.self).contains(device.rawValue), "\(path): no evidence in the answer")
        }
        let (listStatus, _, _) = try await app.send(.get, "/v1/staff/alerts", headers: auth)
        #expect(listStatus.code >= 500)
        try await app.writer.limitDatabasePages(nil)
        #expect(try reader.size() == before)
        let (status, _, _) = try await app.send(.get, "/v1/staff/alerts/\(alert)", headers: auth)
        #expect(status == .ok)
    }
}

/// Staff text (names, reasons, labels, references) is counted in Unicode scalars, as the OpenAPI
/// contract's pattern and JSON Schema count it: one grapheme cluster of many combining marks was
/// one "character" and passed the 200 bound (and could pass the ledger's 1024 bytes, refused
/// then as "a control character").
struct StaffTextTests {
    @Test func staffTextIsBoundedInUnicodeScalarsAndTrimmedOfSpaces() async throws {
        let app = try await InMemoryApp()
        defer { try? FileManager.default.removeItem(at: app.root) }
        let auth: HTTPFields = [
            .authorization: "Bearer \(try app.directory.loadOrCreateAdminToken())", .contentType: "application/json",
        ]
        func create(_ name: String) async throws -> (HTTPResponse.Status, String) {
            let body = try JSONEncoder().encode(AccountRequest(name: name, role: "legal"))
            let (status, _, bytes) = try await app.send(.post, "/v1/admin/accounts", headers: auth, body: Array(body))
            return (status, String(decoding: bytes, as: UTF8.self))
        }
        let combining = "\u{301}"
        let longest = "e" + String(repeating: combining, count: 199)
        var (status, text) = try await create(longest)
        #expect(status == .created, "\(text)")
        for tooLong in ["e" + String(repeating: combining, count: 200), "a" + String(repeating: combining, count: 600)]
        {
            #expect(tooLong.count == 1, "one grapheme cluster")
            (status, text) = try await create(tooLong)
            #expect(status == .badRequest)
            #expect(text.contains("staff.bad-text") && text.contains("longer than 200"), "\(text)")
        }
        (status, text) = try await create("  Éloïse Martin  ")
        #expect(status == .created)
        #expect(try JSONDecoder().decode(AccountCreatedResponse.self, from: Data(text.utf8)).name == "Éloïse Martin")
        for bad in ["   ", "", "a\tb"] {
            (status, text) = try await create(bad)
            #expect(status == .badRequest && text.contains("staff.bad-text"), "\(bad.debugDescription): \(text)")
        }
        #expect(try StaffText.parse(" \u{301}x ", field: "name") == "\u{301}x", "spaces trimmed scalar by scalar")
    }
}

/// A reason beginning with a combining mark or an emoji modifier is valid text; its access entry
/// was stored, then every read of the alert failed with 422 `entry.field-order` (the entry parser
/// split on a space that the mark had joined): schemathesis found it. Stored, served, audited.
struct StaffReasonTests {
    @Test func aReasonBeginningWithACombiningMarkLeavesTheAlertReadable() async throws {
        let app = try await InMemoryApp()
        defer { try? FileManager.default.removeItem(at: app.root) }
        let reader = try LedgerReader(directory: app.directory)
        let legal = try await Accounts(writer: app.writer, reader: reader).create(name: "Me Mark", role: "legal")
        let alert = AlertID(String(repeating: "6f", count: 16))!
        let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
        let opened = try DeviceStatement(kind: .alertOpened, origin: app.origin, alert: alert, capturedAt: at)
        _ = try await app.writer.append(
            EntryDraft(
                kind: .alertOpened, alert: alert, device: DeviceID.derive(publicKey: app.phone.publicKey),
                [("opened-at", at.description), ("statement-sig", Base64.encode(try app.phone.sign(opened.bytes)))]))
        let auth: HTTPFields = [.authorization: "Bearer \(legal.token)"]
        for reason in ["%F0%9F%8F%BB%F0%9A%80%81%C3%B5%2F", "%CC%81Audience", "+++%E2%80%8Dx+++"] {
            let (status, _, body) = try await app.send(
                .get, "/v1/staff/alerts/\(alert)?reason=\(reason)", headers: auth)
            #expect(status == .ok, "\(reason): \(String(decoding: body, as: UTF8.self))")
        }
        let (status, _, body) = try await app.send(.get, "/v1/staff/alerts/\(alert)/custody", headers: auth)
        #expect(status == .ok, "\(String(decoding: body, as: UTF8.self))")
        let custody = try JSONDecoder().decode(CustodyResponse.self, from: Data(body))
        let reasons = custody.entries.filter { $0.kind == "access" }.compactMap {
            $0.fields.first { $0[0] == "reason" }?[1]
        }
        #expect(
            reasons.map { Array($0.unicodeScalars) } == [
                Array("\u{1F3FB}\u{1A001}õ/".unicodeScalars), Array("\u{301}Audience".unicodeScalars),
                Array("\u{200D}x".unicodeScalars), ["-"],
            ])
        let audit = try Auditor(directory: app.directory).run()
        #expect(audit.problems.isEmpty, "\(audit.problems)")
    }
}
