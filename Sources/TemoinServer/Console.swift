import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import TemoinAPI
import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinLedger
import TemoinVerify

/// The staff console under `/console/` (Docs/console.md): server-rendered pages over the staff
/// API's own operations (`StaffAPI`), so each page appends the same entries, in the same order, as
/// the API would, and a role's refusals are the API's (recorded, then a 403 page).
struct Console: Sendable {
    let api: StaffAPI
    let sessions: ConsoleSessions
    let resources: ConsoleResources
    /// The largest bundle the verification form takes.
    static let maximumUpload = 64 << 20

    static let sessionCookie = "temoin_session"
    static let signInCookie = "temoin_signin"

    /// Who a page is for: the account of a live session, checked against the ledger's accounts.
    struct Visitor {
        let account: StaffAccount
        let sessionID: String
        let session: ConsoleSessions.Session
        let lang: String
    }

    static func lang(_ request: Request, form: ConsoleForm? = nil) -> String {
        let query = ConsoleForm(request.uri.query ?? "")
        return (form?["lang"] ?? query["lang"]) == "en" ? "en" : "fr"
    }

    func visitor(_ request: Request, form: ConsoleForm? = nil) async throws -> Visitor {
        let lang = Self.lang(request, form: form)
        guard let id = ConsoleHeaders.cookies(request)[Self.sessionCookie], let session = sessions.find(id) else {
            throw ConsoleSignedOut(lang: lang)
        }
        guard let account = try await api.authenticator.account(id: session.account) else {
            sessions.close(id)
            throw ConsoleSignedOut(lang: lang)
        }
        return Visitor(account: account, sessionID: id, session: session, lang: lang)
    }

    /// A form posted by this session's own pages, or a 403 page.
    func checkForm(_ form: ConsoleForm, _ visitor: Visitor) throws {
        guard ConsoleRandom.same(form["csrf"] ?? "", visitor.session.csrf) else { throw ConsoleForgery() }
    }

    /// What every page shows: language, navigation for what the role may do, the form token.
    func page(_ visitor: Visitor?, lang: String, path: String) -> [String: Any] {
        var p: [String: Any] = [
            "lang": lang, "t": ConsoleText.strings(lang), "q": lang == "en" ? "?lang=en" : "",
            "amp": lang == "en" ? "&lang=en" : "", "langValue": lang,
            "otherHref": path + (lang == "en" ? "?lang=fr" : "?lang=en"), "otherLang": lang == "en" ? "fr" : "en",
        ]
        if let v = visitor {
            let role = v.account.role
            p["signedIn"] = true
            p["name"] = v.account.name
            p["role"] = lang == "en" ? role.title.en : role.title.fr
            p["csrf"] = v.session.csrf
            p["mayList"] = role.may(.listAlerts)
            p["mayRead"] = role.may(.readAlert)
            p["mayDevices"] = role.may(.manageDevices)
            p["mayVerify"] = role.may(.export)
        }
        return p
    }

    func html(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let text = resources.library.render(ConsoleValues.present(values) ?? values, withTemplate: template) ?? ""
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .seeOther, headers: headers)
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        let console = router.group("console").add(middleware: ConsoleMiddleware(console: self))

        console.get { request, _ in
            let lang = Self.lang(request)
            if let v = try? await visitor(request) {
                var p = page(v, lang: lang, path: "/console/")
                p["noEvidence"] = !v.account.role.may(.readAlert)
                return html("home", p)
            }
            // Sign-in: a token for this form alone, in a cookie and in the form (double submit).
            let token = ConsoleRandom.token()
            var p = page(nil, lang: lang, path: "/console/")
            p["csrf"] = token
            var response = html("signin", p)
            response.headers.append(
                HTTPField(
                    name: .setCookie,
                    value: ConsoleHeaders.cookie(
                        Self.signInCookie, token, maxAge: 3600, secure: ConsoleHeaders.isSecure(request))))
            return response
        }

        console.post("sign-in") { request, _ in
            let form = try await ConsoleForm(request)
            let lang = Self.lang(request, form: form)
            guard let expected = ConsoleHeaders.cookies(request)[Self.signInCookie],
                ConsoleRandom.same(form["csrf"] ?? "", expected)
            else { throw ConsoleForgery() }
            let token = (form["token"] ?? "").trimmingCharacters(in: .whitespaces)
            let account = try await api.authenticator.authenticate(
                authorization: "Bearer " + token, method: "POST", path: request.uri.path)
            _ = try await api.writer.append(api.general(account, action: "console.sign-in", target: "console"))
            let (id, _) = sessions.open(account: account.id)
            let secure = ConsoleHeaders.isSecure(request)
            let maxAge = Int(sessions.lifetime.components.seconds)
            return Self.redirect(
                "/console/" + (lang == "en" ? "?lang=en" : ""),
                cookies: [
                    ConsoleHeaders.cookie(Self.sessionCookie, id, maxAge: maxAge, secure: secure),
                    ConsoleHeaders.cookie(Self.signInCookie, "", maxAge: 0, secure: secure),
                ])
        }

        console.post("sign-out") { request, _ in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            sessions.close(v.sessionID)
            _ = try await api.writer.append(api.general(v.account, action: "console.sign-out", target: "console"))
            return Self.redirect(
                "/console/" + (v.lang == "en" ? "?lang=en" : ""),
                cookies: [
                    ConsoleHeaders.cookie(Self.sessionCookie, "", maxAge: 0, secure: ConsoleHeaders.isSecure(request))
                ])
        }

        console.get("static/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let file = resources.files[name] else { throw HTTPError(.notFound) }
            return Response(
                status: .ok, headers: [.contentType: file.type, .cacheControl: "private, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }

        console.get("open") { request, _ in
            let v = try await visitor(request)
            let query = ConsoleForm(request.uri.query ?? "")
            let alert = try DeviceService.parseAlert((query["alert"] ?? "").trimmingCharacters(in: .whitespaces))
            _ = v
            return Self.redirect("/console/alerts/\(alert)" + (Self.lang(request) == "en" ? "?lang=en" : ""))
        }

        console.get("alerts") { request, _ in
            let v = try await visitor(request)
            try await api.check(v.account, .listAlerts, request)
            return try await alertList(request, v)
        }

        console.get("alerts/:alert") { request, context in
            let v = try await visitor(request)
            try await api.check(v.account, .readAlert, request)
            let alert = try api.existingAlert(context)
            return try await alertPage(alert, request, v)
        }

        console.get("alerts/:alert/recording") { request, context in
            let v = try await visitor(request)
            try await api.check(v.account, .listen, request)
            let alert = try api.existingAlert(context)
            return try await api.recording(v.account, alert, reason: "console", request: request)
        }

        console.post("alerts/:alert/export") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .export, request)
            let alert = try api.existingAlert(context)
            return try await api.export(
                v.account, alert, requester: form["requester"] ?? "", reference: form.given("reference"))
        }

        console.get("verify") { request, _ in
            let v = try await visitor(request)
            try await api.check(v.account, .export, request)
            return html("verify", page(v, lang: v.lang, path: "/console/verify"))
        }

        console.post("verify") { request, _ in
            let v = try await visitor(request)
            try await api.check(v.account, .export, request)
            return try await verify(request, v)
        }

        console.get("devices") { request, _ in
            let v = try await visitor(request)
            try await api.check(v.account, .manageDevices, request)
            return try await devicePage(request, v, done: nil)
        }

        console.post("devices") { request, _ in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let enrolled = try await api.enroll(
                v.account, publicKey: (form["publicKey"] ?? "").trimmingCharacters(in: .whitespaces),
                label: form.given("label"), replaces: form.given("replaces"))
            return try await devicePage(request, v, done: "\(enrolled.device) (\(enrolled.index))")
        }

        // A device's trusted contacts (issue 13): list, add, remove, the person's name.
        console.get("devices/:device/contacts") { request, context in
            let v = try await visitor(request)
            try await api.check(v.account, .manageDevices, request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            return try await contactsPage(device, v)
        }

        console.post("devices/:device/contacts") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let asked = ContactRequest(name: form["name"] ?? "", phone: form["phone"] ?? "")
            do {
                let added = try await api.contacts(v.account).add(device, asked)
                return try await contactsPage(device, v, done: "\(added.index)")
            } catch let e as TemoinError where ConsoleText.contactRefusal(e, lang: v.lang) != nil {
                return try await contactsPage(
                    device, v, refusal: (e, ConsoleText.contactRefusal(e, lang: v.lang)!), asked: asked)
            }
        }

        console.post("devices/:device/contacts/:contact/remove") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            do {
                let contact = try ContactOperations.contact(try context.parameters.require("contact"))
                let removed = try await api.contacts(v.account).remove(device, contact: contact)
                return try await contactsPage(device, v, done: "\(removed.index)")
            } catch let e as TemoinError where ConsoleText.contactRefusal(e, lang: v.lang) != nil {
                return try await contactsPage(device, v, refusal: (e, ConsoleText.contactRefusal(e, lang: v.lang)!))
            }
        }

        console.post("devices/:device/person") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let person = form["clear"] == nil ? (form["person"] ?? "") : nil
            do {
                let changed = try await api.contacts(v.account).setPerson(device, PersonRequest(person: person))
                return try await contactsPage(device, v, done: "\(changed.index)")
            } catch let e as TemoinError where ConsoleText.contactRefusal(e, lang: v.lang) != nil {
                return try await contactsPage(device, v, refusal: (e, ConsoleText.contactRefusal(e, lang: v.lang)!))
            }
        }

        // Closing a contact's live-location link from the alert page.
        console.post("alerts/:alert/links/:contact/revoke") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let alert = try api.existingAlert(context)
            let contact = try ContactOperations.contact(try context.parameters.require("contact"))
            let revoked = try await api.contacts(v.account).revokeLink(alert: alert, contact: contact)
            return try await alertPage(alert, request, v, done: "\(revoked.index)")
        }

        console.post("devices/:device/revoke") { request, context in
            let form = try await ConsoleForm(request)
            let v = try await visitor(request, form: form)
            try checkForm(form, v)
            try await api.check(v.account, .manageDevices, request)
            let revoked = try await api.revokeDevice(v.account, try context.parameters.require("device"))
            return try await devicePage(request, v, done: "\(revoked.device) (\(revoked.index))")
        }
    }

    // MARK: Pages

    func alertList(_ request: Request, _ v: Visitor) async throws -> Response {
        let query = ConsoleForm(request.uri.query ?? "")
        var filter = AlertFilter()
        if let s = query.given("status") {
            guard let status = AlertSummary.Status(rawValue: s) else {
                throw TemoinError(.queryBad, "status is open or closed")
            }
            filter.status = status
        }
        if let d = query.given("device") {
            guard let device = DeviceID(d.trimmingCharacters(in: .whitespaces)) else {
                throw TemoinError(.queryBad, "device is 32 lowercase hex digits")
            }
            filter.device = device
        }
        // Dates from the form's date fields (a day, UTC) or full RFC 3339 times.
        func time(_ name: String) throws(TemoinError) -> Timestamp? {
            guard let raw = query.given(name) else { return nil }
            let text = raw.count == 10 ? raw + "T00:00:00.000Z" : raw
            guard let t = Timestamp(rfc3339: text) else {
                throw TemoinError(.queryBad, "\(name) is a date like 2026-11-30")
            }
            return t
        }
        filter.openedAfter = try time("from")
        filter.openedBefore = try time("to")
        let cursor = query.given("cursor").flatMap { StrictDecimal.parse($0) }
        let result = try await api.alerts(v.account, filter, before: cursor, limit: 25, target: api.target(of: request))
        var p = page(v, lang: v.lang, path: "/console/alerts")
        p["alerts"] = result.alerts.map { a -> [String: Any] in
            [
                "alert": a.alert.rawValue, "device": a.device.rawValue,
                "status": a.status == .open
                    ? (v.lang == "en" ? "open" : "en cours") : (v.lang == "en" ? "closed" : "close"),
                "openedAt": ConsoleTime.view(a.openedAt), "closedAt": a.closedAt.map(ConsoleTime.view) as Any,
                "chunks": a.chunks,
            ]
        }
        p["empty"] = result.alerts.isEmpty
        p["fStatus" + (filter.status?.rawValue ?? "Any")] = true
        p["fDevice"] = query.given("device") ?? ""
        p["fFrom"] = query.given("from") ?? ""
        p["fTo"] = query.given("to") ?? ""
        if let next = result.next {
            var items = ["cursor=\(next)"]
            for name in ["status", "device", "from", "to"] {
                if let value = query.given(name) {
                    items.append(
                        name + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
                }
            }
            if v.lang == "en" { items.append("lang=en") }
            p["nextHref"] = "/console/alerts?" + items.joined(separator: "&")
        }
        return html("alerts", p)
    }

    func alertPage(_ alert: AlertID, _ request: Request, _ v: Visitor, done: String? = nil) async throws -> Response {
        let role = v.account.role
        let t = ConsoleText.strings(v.lang)
        // The same entries as the API, in its order: the alert read, then the custody read (so
        // that the history shown includes both accesses of this page).
        let read = try await api.readAlert(v.account, alert, reason: "console")
        let custody = role.may(.readCustody) ? try await api.custody(v.account, alert, reason: "console") : nil
        let d = read.detail
        var p = page(v, lang: v.lang, path: "/console/alerts/\(alert)")
        p["alert"] = alert.rawValue
        p["device"] = d.summary.device.rawValue
        p["deviceLabel"] = read.label ?? ""
        p["status"] = d.summary.status == .open ? t["statusOpen"]! : t["statusClosed"]!
        p["openedAt"] = ConsoleTime.view(d.summary.openedAt)
        p["closedAt"] = d.summary.closedAt.map(ConsoleTime.view) as Any
        p["duration"] = String(format: "%.1f", Double(d.durationMicroseconds) / 1_000_000)
        p["erased"] = d.erased
        p["mayListen"] = role.may(.listen) && !d.erased
        p["mayExport"] = role.may(.export)
        p["referenceRequired"] = role.exportNeedsReference
        p["recordingHref"] = "/console/alerts/\(alert)/recording"
        p["exportAction"] = "/console/alerts/\(alert)/export"
        p["done"] = done as Any
        // The texts to the device's contacts: covered by this page's `read-alert` access (no
        // name, no number in them).
        let fanout = try ContactOperations.fanout(alert, reader: api.reader)
        let mayRevoke = role.may(.manageDevices)
        p["texts"] = fanout.texts.map { text -> [String: Any] in
            var item: [String: Any] = [
                "contact": text.contact, "position": text.position.map(String.init) ?? "—",
                "state": t["text." + text.state] ?? text.state, "attempts": text.attempts,
                "lastError": text.lastError ?? "—", "hasLink": text.link != nil, "views": text.link?.views ?? 0,
                "linkRevoked": text.link?.revoked == true,
            ]
            if let first = text.link?.firstViewedAt.flatMap({ Timestamp(rfc3339: $0) }) {
                item["firstViewed"] = ConsoleTime.view(first)
            }
            if let last = text.link?.lastViewedAt.flatMap({ Timestamp(rfc3339: $0) }) {
                item["lastViewed"] = ConsoleTime.view(last)
            }
            if mayRevoke, text.link?.revoked == false {
                item["revokeAction"] = "/console/alerts/\(alert)/links/\(text.contact)/revoke"
            }
            return item
        }
        p["noTexts"] = fanout.texts.isEmpty

        var events = [(index: UInt64, values: [String: Any])]()
        events.append(
            (
                d.summary.openedIndex,
                ["what": t["opened"]!, "index": d.summary.openedIndex, "time": ConsoleTime.view(d.summary.openedAt)]
            ))
        for c in d.chunks {
            let seconds = String(format: "%.1f s", Double(c.durationMicroseconds) / 1_000_000)
            events.append(
                (
                    c.index,
                    [
                        "what": "\(t["chunk"]!) \(c.seq) (\(seconds))", "index": c.index,
                        "time": ConsoleTime.view(c.captureStart),
                    ]
                ))
        }
        for g in d.gaps {
            events.append(
                (g.index, ["what": "\(t["gap"]!) \(g.firstSeq)–\(g.lastSeq) (\(g.reason))", "index": g.index]))
        }
        for c in d.conflicts {
            events.append((c.index, ["what": "\(t["conflict"]!) \(c.seq)", "index": c.index]))
        }
        var fixes = [(label: String, geo: GeoURI)]()
        if role.may(.readLocations) {
            p["mayLocations"] = true
            for l in d.locations {
                let text = l.fix ?? "—"
                events.append(
                    (
                        l.index,
                        ["what": "\(t["location"]!) \(text)", "index": l.index, "time": ConsoleTime.view(l.capturedAt)]
                    ))
                if let fix = l.fix, let geo = try? GeoURI(parsing: fix) { fixes.append(("\(l.index)", geo)) }
            }
            p["plot"] = LocationPlot.svg(fixes, title: t["plotTitle"]!)
            p["fixes"] = fixes.enumerated().map { ["n": $0.offset + 1, "fix": $0.element.geo.text] }
        }
        events.sort { $0.index < $1.index }
        if let closed = d.summary.closedAt {
            let by = [d.summary.closedBy, d.summary.closeReason].compactMap { $0 }.joined(separator: ", ")
            events.append((UInt64.max, ["what": "\(t["closed"]!) (\(by))", "time": ConsoleTime.view(closed)]))
        }
        p["timeline"] = events.map(\.values)
        p["chunks"] = d.chunks.map { c -> [String: Any] in
            [
                "seq": c.seq, "index": c.index, "captured": ConsoleTime.view(c.captureStart),
                "duration": String(format: "%.1f", Double(c.durationMicroseconds) / 1_000_000),
                "signed": c.signed ? t["yes"]! : t["no"]!,
                "included": c.index < read.checkpointSize ? t["yes"]! : t["no"]!,
            ]
        }
        if let custody {
            p["hasCustody"] = true
            p["custody"] = custody.entries.map { e -> [String: Any] in
                [
                    "index": e.index, "kind": e.kind,
                    "time": Timestamp(rfc3339: e.time).map(ConsoleTime.view) as Any,
                    "fields": e.fields.filter { $0.count == 2 && $0[0] != "alert" }.map { "\($0[0])=\($0[1])" }
                        .joined(separator: " "),
                ]
            }
        }
        return html("alert", p)
    }

    func devicePage(_ request: Request, _ v: Visitor, done: String?) async throws -> Response {
        let devices = try await api.devices(v.account, target: api.target(of: request))
        var p = page(v, lang: v.lang, path: "/console/devices")
        p["done"] = done as Any
        p["devices"] = devices.map { d -> [String: Any] in
            [
                "device": d.device, "label": d.label ?? "",
                "enrolledAt": Timestamp(rfc3339: d.enrolledAt).map(ConsoleTime.view) as Any,
                "revokedAt": d.revokedAt.flatMap { Timestamp(rfc3339: $0) }.map(ConsoleTime.view) as Any,
                "lastAlert": d.lastAlert as Any,
                "lastAlertAt": d.lastAlertOpenedAt.flatMap { Timestamp(rfc3339: $0) }.map(ConsoleTime.view) as Any,
                "revokeAction": "/console/devices/\(d.device)/revoke",
                "contactsHref": (d.revokedAt == nil ? "/console/devices/\(d.device)/contacts" : nil) as String? as Any,
            ]
        }
        return html("devices", p)
    }

    /// A device's trusted contacts, the listing recorded first (`staff.access list-contacts`, as
    /// the API): numbers masked, the full one behind a disclosure; with the forms that change the
    /// list. A refused change is shown on the page, its fields kept.
    func contactsPage(
        _ device: DeviceID, _ v: Visitor, done: String? = nil, refusal: (TemoinError, String)? = nil,
        asked: ContactRequest? = nil
    ) async throws -> Response {
        let listed = try await api.contacts(v.account).list(device)
        let base = "/console/devices/\(device)"
        var p = page(v, lang: v.lang, path: base + "/contacts")
        p["device"] = device.rawValue
        p["deviceLabel"] = try api.reader.deviceLabel(device: device) ?? ""
        p["person"] = listed.person ?? ""
        p["hasPerson"] = listed.person != nil
        p["done"] = done as Any
        p["refusal"] = refusal.map { $0.1 } as Any
        p["refusalCode"] = refusal.map { $0.0.code } as Any
        p["contacts"] = listed.contacts.map { c -> [String: Any] in
            [
                "id": c.id, "position": c.position, "name": c.name, "phone": c.phone,
                "masked": PhoneNumber(c.phone)?.masked ?? "—",
                "removeAction": "\(base)/contacts/\(c.id)/remove",
            ]
        }
        p["empty"] = listed.contacts.isEmpty
        p["full"] = listed.contacts.count >= Contact.maximumPerDevice
        p["maximum"] = Contact.maximumPerDevice
        p["addAction"] = base + "/contacts"
        p["personAction"] = base + "/person"
        p["askedName"] = asked?.name ?? ""
        p["askedPhone"] = asked?.phone ?? ""
        let status: HTTPResponse.Status = refusal.map { Problem.status(for: $0.0) } ?? .ok
        return html("contacts", p, status: status)
    }

    /// The upload checked by `BundleVerifier`, the code of `temoin-verify`, on a temporary file.
    func verify(_ request: Request, _ v: Visitor) async throws -> Response {
        guard let boundary = Multipart.boundary(request.headers[.contentType]) else {
            throw TemoinError(.verifyNoInput, "send the bundle with the form (multipart/form-data)")
        }
        let body = Array(buffer: try await request.body.collect(upTo: Self.maximumUpload + 64 * 1024))
        let parts = Multipart.parts(body, boundary: boundary)
        guard ConsoleRandom.same(parts["csrf"].map { String(decoding: $0, as: UTF8.self) } ?? "", v.session.csrf)
        else { throw ConsoleForgery() }
        guard let bundle = parts["bundle"], !bundle.isEmpty else {
            throw TemoinError(.verifyNoInput, "choose a bundle zip to verify")
        }
        guard bundle.count <= Self.maximumUpload else {
            throw TemoinError(.inputTooLarge, category: .usage, "the bundle is larger than 64 MiB")
        }
        _ = try await api.writer.append(
            api.general(v.account, action: "verify-bundle", target: "sha256:" + SHA256.hash(Array(bundle)).hex))
        let keyText = try String(contentsOfFile: api.reader.directory.verifierKeyFile, encoding: .utf8)
        let bytes = Array(bundle)
        let report = try await api.heavy.run { () throws -> VerificationReport in
            let path = NSTemporaryDirectory() + "/temoin-console-\(ConsoleRandom.token()).zip"
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
            else { throw TemoinError(.internalFailure, "cannot write the upload to a temporary file") }
            defer { try? FileManager.default.removeItem(atPath: path) }
            var verifier = BundleVerifier(
                folder: path,
                trustedKey: try VerifierKey(parsing: keyText.trimmingCharacters(in: .whitespacesAndNewlines)))
            return try verifier.run()
        }
        var p = page(v, lang: v.lang, path: "/console/verify")
        p["report"] = true
        p["passed"] = report.passed
        p["checks"] = report.checks.map {
            ["passed": $0.passed, "check": $0.check, "subject": $0.subject, "fr": $0.fr, "en": $0.en] as [String: Any]
        }
        p["notes"] = report.notes
        return html("verify", p)
    }
}

/// The values a page is rendered with, without their nils: a template's section takes any value
/// it finds as present, a nil in an `Any` included (a devices page once said "done: entry nil" and
/// linked a last alert "nil"), so a nil value becomes an absent key.
enum ConsoleValues {
    static func present(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return nil }
            return present(wrapped)
        }
        if let dictionary = value as? [String: Any] { return dictionary.compactMapValues(present) }
        if let array = value as? [Any] { return array.compactMap(present) }
        return value
    }
}

/// No live session: a page asks to sign in again.
struct ConsoleSignedOut: Error {
    let lang: String
}

/// A form without this session's token (or a sign-in without its cookie): refused, 403.
struct ConsoleForgery: Error {}

/// The console's headers on every answer, and its errors as pages (the API answers problems).
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let console: Console

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as ConsoleSignedOut {
            if request.method == .get || request.method == .head {
                response = Console.redirect("/console/" + (e.lang == "en" ? "?lang=en" : ""))
            } else {
                response = page(
                    request, .unauthorized, fr: "Session expirée : reconnectez-vous.",
                    en: "Session expired: sign in again.")
            }
        } catch is ConsoleForgery {
            response = page(
                request, .forbidden, fr: "Formulaire refusé (jeton anti-falsification absent ou faux).",
                en: "Form refused (anti-forgery token missing or wrong).")
        } catch let p as Problem {
            response = page(request, HTTPResponse.Status(code: p.status), fr: p.detail, en: p.detail)
            if let retry = p.response.headers[.retryAfter] { response.headers[.retryAfter] = retry }
        } catch let e as TemoinError {
            let status = Problem.status(for: e)
            if e.id == .staffForbidden {
                response = page(
                    request, status, fr: "Ce rôle ne permet pas cela ; la tentative est inscrite au registre.",
                    en: e.reason)
            } else {
                response = page(request, status, fr: ConsoleText.french(e) ?? e.reason, en: e.reason)
            }
        }
        ConsoleHeaders.apply(&response.headers)
        return response
    }

    func page(_ request: Request, _ status: HTTPResponse.Status, fr: String, en: String) -> Response {
        let lang = Console.lang(request)
        var p = console.page(nil, lang: lang, path: request.uri.path)
        p["status"] = status.code
        p["message"] = lang == "en" ? en : fr
        return console.html("error", p, status: status)
    }
}
