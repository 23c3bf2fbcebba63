import Foundation
import HTTPTypes
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import TemoinServer
import TemoinAPI
import TemoinCore
import TemoinCrypto
@testable import TemoinLedger
import TemoinTestSupport
import Testing

/// Stops URLSession from following redirects: a test sees the 303 and its cookies.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) { completionHandler(nil) }
}

/// A browser's view of the console, by hand: cookies kept here, redirects not followed.
struct ConsoleBrowser {
    let f: StaffFixture
    var cookies: [String: String] = [:]
    let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)

    struct Answer {
        let status: Int
        let body: Data
        let headers: [String: String]
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The page's anti-forgery token (the first form's).
        var csrf: String? {
            guard let r = text.range(of: #"name="csrf" value=""#) else { return nil }
            return String(text[r.upperBound...].prefix { $0 != "\"" })
        }
        var setCookies: [String] {
            (headers["set-cookie"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    mutating func send(
        _ method: String, _ path: String, form: [(String, String)]? = nil, body: Data? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: f.s.url.absoluteString + path)!)
        request.httpMethod = method
        request.httpShouldHandleCookies = false
        if let form {
            let allowed = CharacterSet.alphanumerics
            request.httpBody = Data(
                form.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
                    .joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = body
        }
        if !cookies.isEmpty {
            request.setValue(cookies.map { "\($0)=\($1)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie")
        }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields = [String: String]()
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        let answer = Answer(status: http.statusCode, body: data, headers: fields)
        for c in answer.setCookies {
            let kv = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { continue }
            if kv[1].isEmpty { cookies[String(kv[0])] = nil } else { cookies[String(kv[0])] = String(kv[1]) }
        }
        return answer
    }

    /// Signs in with `token` through the form; the session's cookie is kept.
    mutating func signIn(_ token: String, headers: [String: String] = [:]) async throws -> Answer {
        let page = try await send("GET", "/console/", headers: headers)
        return try await send(
            "POST", "/console/sign-in", form: [("csrf", page.csrf ?? ""), ("token", token)], headers: headers)
    }

    /// The anti-forgery token of a signed-in page.
    mutating func csrf() async throws -> String { try await send("GET", "/console/").csrf ?? "" }
}

@Suite struct ConsoleTests {
    @Test func signingInGivesAServerSideSessionInAStrictHttpOnlyCookie() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        let page = try await b.send("GET", "/console/")
        #expect(page.status == 200)
        #expect(page.text.contains("<html lang=\"fr\">"))
        let signedIn = try await b.signIn(f.tokens[.legal]!)
        #expect(signedIn.status == 303)
        let session = try #require(signedIn.setCookies.first { $0.hasPrefix("temoin_session=") })
        #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Max-Age="))
        #expect(session.contains("Path=/console"))
        #expect(!session.contains("Secure"), "plain HTTP: a Secure cookie would not come back")
        #expect(!session.contains(f.tokens[.legal]!), "the token never goes into the cookie")
        let home = try await b.send("GET", "/console/")
        #expect(home.text.contains("Agent legal"))

        // Behind the TLS proxy the cookie is Secure.
        var tls = ConsoleBrowser(f: f)
        let secure = try await tls.signIn(f.tokens[.legal]!, headers: ["X-Forwarded-Proto": "https"])
        #expect(secure.setCookies.first { $0.hasPrefix("temoin_session=") }?.contains("Secure") == true)

        // A wrong token: no session.
        var wrong = ConsoleBrowser(f: f)
        let refused = try await wrong.signIn("tmn_nothing")
        #expect(refused.status == 401)
        #expect(wrong.cookies["temoin_session"] == nil)

        // Signing out ends the session on the server: the old cookie no longer opens pages.
        let old = b.cookies
        let csrf = try await b.csrf()
        let out = try await b.send("POST", "/console/sign-out", form: [("csrf", csrf)])
        #expect(out.status == 303)
        b.cookies = old
        #expect(try await b.send("GET", "/console/alerts").status == 303)
    }

    @Test func everyPageCarriesAPolicyThatForbidsInlineScriptsAndOtherOrigins() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        _ = try await b.signIn(f.tokens[.legal]!)
        for path in [
            "/console/", "/console/alerts", "/console/alerts/\(f.alert)", "/console/verify", "/console/nope/x",
        ] {
            let page = try await b.send("GET", path)
            if path.hasSuffix("/x") { continue }
            let csp = try #require(page.headers["content-security-policy"], "\(path)")
            #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"))
            #expect(!csp.contains("unsafe-inline") && !csp.contains("http"))
            #expect(page.headers["x-content-type-options"] == "nosniff")
            #expect(!page.text.contains("<script>"), "no inline script on \(path)")
        }
    }

    @Test func aFormWithoutItsSessionTokenIsRefusedAndRecordsNothing() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        // Sign-in without the form's token.
        let forged = try await b.send("POST", "/console/sign-in", form: [("token", f.tokens[.legal]!)])
        #expect(forged.status == 403)
        #expect(b.cookies["temoin_session"] == nil)
        _ = try await b.signIn(f.tokens[.legal]!)
        let before = try f.s.reader().size()
        let export = try await b.send(
            "POST", "/console/alerts/\(f.alert)/export", form: [("csrf", "forged"), ("requester", "X")])
        #expect(export.status == 403)
        #expect(try f.entries(after: before).isEmpty, "a forged form appends nothing")
        let revoke = try await b.send("POST", "/console/devices/\(String(repeating: "a", count: 32))/revoke", form: [])
        #expect(revoke.status == 403)
    }

    @Test func eachConsoleRouteAnswersEachRoleAsTheRoleTableSays() async throws {
        let f = try await StaffFixture()
        for role in StaffRole.allCases {
            var b = ConsoleBrowser(f: f)
            _ = try await b.signIn(f.tokens[role]!)
            let csrf = try await b.csrf()
            let routes: [(String, String, [(String, String)]?, StaffPermission)] = [
                ("GET", "/console/alerts", nil, .listAlerts),
                ("GET", "/console/alerts/\(f.alert)", nil, .readAlert),
                ("GET", "/console/alerts/\(f.alert)/recording", nil, .listen),
                (
                    "POST", "/console/alerts/\(f.alert)/export",
                    [("csrf", csrf), ("requester", "TJ"), ("reference", "PV 1")], .export
                ),
                ("GET", "/console/verify", nil, .export),
                ("GET", "/console/devices", nil, .manageDevices),
            ]
            for (method, path, form, permission) in routes {
                let before = try f.s.reader().size()
                let answer = try await b.send(method, path, form: form)
                let added = try f.entries(after: before)
                if role.may(permission) {
                    #expect([200, 201].contains(answer.status), "\(role) \(path): \(answer.status)")
                } else {
                    #expect(answer.status == 403, "\(role) \(path)")
                    #expect(answer.text.contains("<h1>"), "a page, not a problem document")
                    #expect(added.map(\.kind) == [.staffAccess])
                    #expect(added.first?["action"] == "refused." + permission.rawValue)
                }
            }
            // What a role may not do does not appear.
            let home = try await b.send("GET", "/console/").text
            #expect(home.contains("/console/alerts\"") == role.may(.listAlerts), "\(role)")
            #expect(home.contains("/console/devices\"") == role.may(.manageDevices), "\(role)")
            if role.may(.readAlert) {
                let page = try await b.send("GET", "/console/alerts/\(f.alert)").text
                #expect(page.contains("<audio") == role.may(.listen), "\(role)")
                #expect(page.contains("id=\"export\"") == role.may(.export), "\(role)")
                #expect(page.contains("<svg") == role.may(.readLocations), "\(role)")
                #expect(page.contains("id=\"custody\"") == role.may(.readCustody), "\(role)")
            }
        }
    }

    @Test func theAlertPageAppendsItsAccessesBeforeShowingThemInTheCustody() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        _ = try await b.signIn(f.tokens[.legal]!)
        let before = try f.s.reader().size()
        let page = try await b.send("GET", "/console/alerts/\(f.alert)")
        #expect(page.status == 200)
        let added = try f.entries(after: before)
        #expect(added.map(\.kind) == [.access, .access])
        #expect(added.map { $0["action"] } == ["read-alert", "custody"])
        // The custody table lists both of this page's own accesses.
        #expect(page.text.contains("action=read-alert") && page.text.contains("action=custody"))
        #expect(page.text.contains("<td>\(before)</td>") && page.text.contains("<td>\(before + 1)</td>"))

        // The recording: ranges, each appended as `recording` like the API's.
        let start = try f.s.reader().size()
        let part = try await b.send(
            "GET", "/console/alerts/\(f.alert)/recording", headers: ["Range": "bytes=0-99"])
        #expect(part.status == 206)
        #expect(part.body.count == 100)
        #expect(part.headers["content-type"] == "audio/ogg")
        #expect(try f.entries(after: start).map { $0["action"] } == ["recording"])
    }

    @Test func aRevokedAccountsSessionIsDeadAtOnce() async throws {
        let f = try await StaffFixture()
        let created = try await f.account("legal", name: "Départ")
        var b = ConsoleBrowser(f: f)
        _ = try await b.signIn(created.token)
        #expect(try await b.send("GET", "/console/alerts").status == 200)
        let (status, _) = try await f.admin("POST", "v1/admin/accounts/revoke", #"{"name":"Départ"}"#)
        #expect(status == 200)
        let after = try await b.send("GET", "/console/alerts")
        #expect(after.status == 303)
        #expect(after.headers["location"] == "/console/")
    }

    @Test func anAdminSessionSeesNoAlertAndPoliceHaveNoPlayer() async throws {
        let f = try await StaffFixture()
        var admin = ConsoleBrowser(f: f)
        _ = try await admin.signIn(f.tokens[.admin]!)
        let home = try await admin.send("GET", "/console/")
        #expect(home.text.contains("aucune preuve"))
        #expect(try await admin.send("GET", "/console/alerts/\(f.alert)").status == 403)
        var police = ConsoleBrowser(f: f)
        _ = try await police.signIn(f.tokens[.police]!)
        let page = try await police.send("GET", "/console/alerts/\(f.alert)?lang=en")
        #expect(page.status == 200)
        #expect(page.text.contains("<html lang=\"en\">"))
        #expect(!page.text.contains("<audio"))
        #expect(try await police.send("GET", "/console/alerts/\(f.alert)/recording").status == 403)
    }

    @Test(arguments: [
        ("2026-01-15T12:00:00.000Z", "15/01/2026 13:00:00", "UTC+1"),
        ("2026-07-15T12:00:00.000Z", "15/07/2026 14:00:00", "UTC+2"),
        // The night of the change to summer time (29 March 2026, 01:00 UTC).
        ("2026-03-29T00:59:59.000Z", "29/03/2026 01:59:59", "UTC+1"),
        ("2026-03-29T01:00:00.000Z", "29/03/2026 03:00:00", "UTC+2"),
    ])
    func timesAreShownInParisTimeWithUTCBeside(utc: String, paris: String, offset: String) {
        let view = ConsoleTime.view(Timestamp(rfc3339: utc)!)
        #expect(view["paris"] as? String == paris)
        #expect(view["offset"] as? String == offset)
        #expect((view["utc"] as? String)?.hasSuffix(" UTC") == true)
    }

    @Test func theLocationPlotIsAnSVGWithNoOutsideReference() throws {
        let svg = LocationPlot.svg(
            [("1", try GeoURI(parsing: "geo:48.8566,2.3522")), ("2", try GeoURI(parsing: "geo:48.8570,2.3530"))],
            title: "<plot>")
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline") && svg.contains("&lt;plot&gt;"))
        #expect(!svg.contains("href") && !svg.contains("style="))
    }
}

@Suite struct ConsoleExportAndDeviceTests {
    @Test func anExportFormGivesTheZipAndTheUploadFormVerifiesItWithTheVerifiersCode() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        _ = try await b.signIn(f.tokens[.police]!)
        let csrf = try await b.csrf()
        // The police give a legal reference, or nothing is exported.
        let without = try await b.send(
            "POST", "/console/alerts/\(f.alert)/export", form: [("csrf", csrf), ("requester", "BPF Lyon")])
        #expect(without.status == 400)
        let before = try f.s.reader().size()
        let zip = try await b.send(
            "POST", "/console/alerts/\(f.alert)/export",
            form: [("csrf", csrf), ("requester", "BPF Lyon"), ("reference", "PV 2026/114")])
        #expect(zip.status == 201)
        #expect(zip.headers["content-disposition"]?.hasPrefix("attachment;") == true)
        #expect(zip.body.prefix(2) == Data("PK".utf8))
        let added = try f.entries(after: before)
        #expect(added.first?.kind == .access && added.first?["reason"] == "PV 2026/114")
        #expect(added.contains { $0.kind == .exportCreated })

        func upload(_ bytes: Data, csrf: String) async throws -> ConsoleBrowser.Answer {
            let boundary = "----temoin-test"
            var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(csrf)\r\n".utf8)
            body += Data(
                ("--\(boundary)\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"b.zip\"\r\n"
                    + "Content-Type: application/zip\r\n\r\n").utf8)
            body += bytes + Data("\r\n--\(boundary)--\r\n".utf8)
            return try await b.send(
                "POST", "/console/verify", body: body,
                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
        }
        let report = try await upload(zip.body, csrf: csrf)
        #expect(report.status == 200)
        #expect(report.text.contains("id=\"verdict\">RÉUSSI / PASS"), "\(report.text.suffix(3000))")
        // One flipped byte in the middle of the archive: the same code says FAIL.
        var tampered = zip.body
        tampered[tampered.count / 2] ^= 0x01
        let bad = try await upload(tampered, csrf: csrf)
        #expect(bad.text.contains("ÉCHEC / FAIL"))
        #expect(try await upload(zip.body, csrf: "forged").status == 403)
    }

    @Test func caseworkersEnrollAndRevokeDevicesAndSeeEachOnesLastAlert() async throws {
        let f = try await StaffFixture()
        var b = ConsoleBrowser(f: f)
        _ = try await b.signIn(f.tokens[.caseworker]!)
        let list = try await b.send("GET", "/console/devices")
        #expect(list.status == 200)
        #expect(list.text.contains("/console/alerts/\(f.alert)"), "the phone's last alert is linked")
        let key = try Ed25519PrivateKey.generate()
        let csrf = try await b.csrf()
        let enrolled = try await b.send(
            "POST", "/console/devices",
            form: [("csrf", csrf), ("publicKey", Base64.encode(key.publicKey)), ("label", "Téléphone 12")])
        #expect(enrolled.status == 200)
        let device = DeviceID.derive(publicKey: key.publicKey)
        #expect(enrolled.text.contains(device.rawValue) && enrolled.text.contains("Téléphone 12"))
        let revoked = try await b.send("POST", "/console/devices/\(device)/revoke", form: [("csrf", csrf)])
        #expect(revoked.status == 200)
        #expect(try f.s.reader().revocation(device: device) != nil)
    }
}
