import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Logging
import NIOEmbedded
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinIngest
import TemoinLedger
import Testing

/// A data folder with an enrolled phone that has two trusted contacts, and the live-location page
/// on a router driven in memory (`InMemoryApp`'s way). Alerts are opened on the writer as the
/// service does, and each text's link made as the dispatcher makes it (`markSending`).
final class LivePageFixture: @unchecked Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-live-\(UUID().uuidString)")
    let directory: DataDirectory
    let writer: LedgerWriter
    let reader: LedgerReader
    let device: DeviceID
    let metrics = ServiceMetrics()
    /// Milliseconds added to the page's clock (not the writer's).
    let offset: Box<Int64>
    let responder: Router<BasicRequestContext>.Responder

    static let author = ContactBook.Author(actor: "0123456789abcdef0123456789abcdef", role: "caseworker")
    static let contacts = [("Camille Martin", "+33612345678"), ("Jean Dupont", "06 98 76 54 32")]
    static let paris = "geo:48.8566,2.3522;u=10"

    final class Box<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: T
        init(_ value: T) { stored = value }
        var value: T {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }
    }

    /// `fullService`: every route of the service (`buildRouter`), with its own clock; otherwise the
    /// page alone, on the fixture's clock and with `countInterval`.
    init(
        settings: FanoutSettings = FanoutSettings(), countInterval: Duration = .zero, fullService: Bool = false
    ) async throws {
        directory = DataDirectory(root.appendingPathComponent("data").path)
        _ = try await Ledger.initialize(directory: directory, origin: "test.example/live")
        writer = try LedgerWriter(directory: directory)
        reader = try LedgerReader(directory: directory)
        let phone = try Ed25519PrivateKey.generate()
        device = DeviceID.derive(publicKey: phone.publicKey)
        _ = try await writer.append(EntryDraft(enrolling: device, publicKey: phone.publicKey))
        let book = ContactBook(writer: writer, reader: reader)
        for (name, number) in Self.contacts {
            _ = try await book.add(device, name: name, phone: PhoneNumber(number)!, by: Self.author)
        }
        let offset = Box<Int64>(0)
        self.offset = offset
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        if fullService {
            var configuration = ServiceConfiguration()
            configuration.fanout = settings
            let service = DeviceService(
                writer: writer, ingestor: try AudioIngestor(writer: writer), limiter: RateLimiter(perMinute: 600),
                quota: ByteQuota(bytesPerHour: 1 << 30), metrics: metrics, configuration: configuration)
            responder = try TemoinService.buildRouter(
                directory: directory, service: service, publicLog: PublicLog(reader: reader), logger: logger
            ).buildResponder()
        } else {
            let router = Router(context: BasicRequestContext.self)
            router.middlewares.add(ProblemMiddleware(known: KnownRoutes()))
            try LivePage(
                reader: reader, writer: writer, settings: settings, metrics: metrics, logger: logger,
                clock: { Timestamp(millisecondsSinceEpoch: systemClock().millisecondsSinceEpoch + offset.value) },
                countInterval: countInterval
            ).addRoutes(to: router)
            responder = router.buildResponder()
        }
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    struct Answer {
        let status: Int
        let headers: HTTPFields
        let body: String
        subscript(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    }

    func send(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) async throws -> Answer {
        let request = Request(
            head: HTTPRequest(
                method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer()))
        let context = BasicRequestContext(
            source: .init(channel: NIOAsyncTestingChannel(), logger: Logger(label: "test")))
        let response = try await responder.respond(to: request, context: context)
        let box = InMemoryApp.Collector.Box()
        try await response.body.write(InMemoryApp.Collector(box: box))
        return Answer(
            status: Int(response.status.code), headers: response.headers,
            body: String(decoding: box.bytes, as: UTF8.self))
    }

    func page(_ token: CapabilityToken, method: HTTPRequest.Method = .get) async throws -> Answer {
        try await send("/l/" + token.text, method: method)
    }

    static func now(minus milliseconds: Int64 = 0) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: systemClock().millisecondsSinceEpoch - milliseconds)
    }

    /// Opens an alert of the phone (with a first fix captured `ago` ms before now, if given) and
    /// prepares its texts: one link per contact, by contact.
    func openAlert(
        fix: String? = paris, ago: Int64 = 120_000
    ) async throws -> (alert: AlertID, links: [(contact: ContactID, token: CapabilityToken)]) {
        let alert = AlertID.random()
        _ = try await writer.append(
            EntryDraft(
                kind: .alertOpened, alert: alert, device: device,
                [("opened-at", Self.now(minus: ago).description), ("statement-sig", "none")]))
        if let fix { try await addFix(alert, fix, ago: ago) }
        var links = [(contact: ContactID, token: CapabilityToken)]()
        for row in try reader.outbox(alert: alert) {
            let token = try CapabilityToken.random()
            let filler = SHA256.hash(Array("\(alert) \(row.contact)".utf8))
            try await writer.markSending(
                alert: alert, contact: row.contact,
                prepared: PreparedMessage(
                    sealed: [1, 2, 3], messageHash: filler, numberHash: filler, linkHash: token.hash))
            links.append((row.contact, token))
        }
        #expect(links.count == Self.contacts.count)
        return (alert, links)
    }

    /// A location entry as the service writes it: a salted commitment, the fix in its side row.
    func addFix(_ alert: AlertID, _ fix: String, ago: Int64 = 0) async throws {
        let salt = Array(SHA256.hash(Array("salt \(fix) \(UUID())".utf8)).bytes)
        var draft = EntryDraft(
            kind: .location, alert: alert,
            [
                ("captured-at", Self.now(minus: ago).description),
                ("commitment", SHA256.hash(salt + Array(fix.utf8)).hex), ("statement-sig", "none"),
            ])
        draft.sideRow = .location(salt: salt, fix: fix)
        _ = try await writer.append(draft)
    }

    func close(_ alert: AlertID) async throws {
        _ = try await writer.append(
            EntryDraft(
                kind: .alertClosed, alert: alert,
                [
                    ("closed-by", "device"), ("reason", "released"), ("closed-at", Self.now().description),
                    ("last-seq", "0"), ("statement-sig", "none"),
                ]))
    }

    func revoke(_ alert: AlertID, _ contact: ContactID) async throws {
        _ = try await writer.append(
            EntryDraft(
                kind: .linkRevoked, alert: alert,
                [("contact", contact.rawValue), ("actor", Self.author.actor), ("role", Self.author.role)]))
    }

    func linkViewedEntries(_ alert: AlertID) throws -> [Entry] {
        try reader.entries(alert: alert).map(\.entry).filter { $0.kind == .linkViewed }
    }

    func row(_ token: CapabilityToken) throws -> LinkRow? { try reader.link(tokenHash: token.hash) }
}

/// The live-location page `/l/{token}` (Docs/fanout.md).
struct LivePageTests {
    typealias Fixture = LivePageFixture

    /// The headers every answer of the route carries, whatever its status.
    static func checkHeaders(_ a: Fixture.Answer, _ what: String) {
        #expect(a["Content-Type"] == "text/html; charset=utf-8", "\(what)")
        #expect(a["Cache-Control"] == "no-store", "\(what)")
        #expect(a["Referrer-Policy"] == "no-referrer", "\(what)")
        #expect(a["X-Robots-Tag"] == "noindex, nofollow", "\(what)")
        #expect(a["X-Content-Type-Options"] == "nosniff", "\(what)")
        let csp = a["Content-Security-Policy"] ?? ""
        #expect(csp.hasPrefix("default-src 'none'; style-src 'sha256-"), "\(what): \(csp)")
        for part in ["frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"] {
            #expect(csp.contains(part), "\(what): \(csp)")
        }
        #expect(!csp.contains("unsafe") && !csp.contains("script-src") && !csp.contains("http"), "\(what): \(csp)")
    }

    static let unknownShapes: [String] = [
        "/l/", "/l", "/l/a", "/l/short", "/l/" + String(repeating: "A", count: 23),
        "/l/" + String(repeating: "A", count: 25), "/l/" + String(repeating: "A", count: 10_000),
        "/l/" + String(repeating: "A", count: 23) + "=", "/l/" + String(repeating: "A", count: 23) + "+",
        "/l/" + String(repeating: "A", count: 23) + ".", "/l/../console/", "/l/../../etc/passwd",
        "/l/..%2F..%2Fetc%2Fpasswd", "/l/%2e%2e/", "/l/" + String(repeating: "%41", count: 24),
        "/l/" + String(repeating: "é", count: 24), "/l/" + String(repeating: "Ａ", count: 24),
        "/l/" + String(repeating: "A", count: 22) + "\u{0301}A", "/l/AAAAAAAAAAAAAAAAAAAAAAA%00",
        "/l/AAAAAAAAAAAAAAAAAAAAAAAA/extra", "/l/AAAAAAAAAAAAAAAAAAAAAAAA/../x", "/l/<script>",
        "/l/AAAAAAAAAAAAAAAAAAAAAAAA", "/l/abcdefghijklmnopqrstuvwx", "/l/------------------------",
    ]

    @Test func malformedAndUnknownTokensGetTheNeutral404Page() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        var shapes = Self.unknownShapes
        // A real token, percent-encoded or changed by one character, is not that token.
        let real = links[0].token.text
        shapes.append("/l/%" + String(real.utf8.first!, radix: 16) + real.dropFirst())
        let flipped = (real.first == "A" ? "B" : "A") + real.dropFirst()
        shapes.append("/l/" + flipped)
        shapes.append("/l/" + real.lowercased() + (real == real.lowercased() ? "x" : ""))
        shapes.append("/l/" + real + "/")
        var bodies = Set<String>()
        for path in shapes {
            for method in [HTTPRequest.Method.get, .head] {
                let a = try await f.send(path, method: method)
                #expect(a.status == 404, "\(method) \(path.prefix(80))")
                Self.checkHeaders(a, "\(method) \(path.prefix(80))")
                if method == .get {
                    #expect(a.body.contains("Lien inconnu") && a.body.contains("Unknown link"), "\(path.prefix(80))")
                    #expect(!a.body.contains("application/problem"), "a page, never a problem document or a trace")
                    bodies.insert(a.body)
                } else {
                    #expect(a.body.isEmpty)
                }
            }
        }
        #expect(bodies.count == 1, "one neutral page, whatever was asked")
        // Other methods are the service's usual problem documents.
        for path in ["/l/" + real, "/l"] {
            let posted = try await f.send(path, method: .post)
            #expect([404, 405].contains(posted.status) && posted["Content-Type"] == "application/problem+json")
        }
        #expect(try f.linkViewedEntries(alert).isEmpty)
        #expect(try f.row(links[0].token)?.views == 0, "no view recorded")
    }

    @Test func aRevokedLinkIsANeutral410AndTheOtherContactsLinkStillWorks() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        try await f.revoke(alert, links[0].contact)
        let gone = try await f.page(links[0].token)
        #expect(gone.status == 410)
        Self.checkHeaders(gone, "410")
        #expect(gone.body.contains("Ce lien n’est plus actif") && gone.body.contains("This link is no longer active"))
        #expect(!gone.body.contains("48.8") && !gone.body.contains("<svg") && !gone.body.contains("Alerte en cours"))
        #expect((try await f.page(links[0].token, method: .head)).status == 410)
        #expect((try await f.page(links[1].token)).status == 200)
        #expect(try f.linkViewedEntries(alert).map { $0["contact"] } == [links[1].contact.rawValue])
    }

    @Test func aLinkWorksWhileItsAlertIsOpenAndExpiresItsLifetimeAfterTheClose() async throws {
        var settings = FanoutSettings()
        settings.linkLifetimeSeconds = 60
        let f = try await Fixture(settings: settings)
        let (open, openLinks) = try await f.openAlert()
        let (closed, closedLinks) = try await f.openAlert()
        try await f.close(closed)
        _ = open

        let ended = try await f.page(closedLinks[0].token)
        #expect(ended.status == 200)
        #expect(ended.body.contains("Alerte terminée à ") && ended.body.contains("Alert ended at "))
        #expect(ended.body.contains("48.85660° N"), "the last position stays visible until the link expires")
        #expect(ended.body.contains("content=\"60\""), "a closed alert's page refreshes slowly")

        // 61 s later by the page's clock: expired. The open alert's link never expires.
        f.offset.value = 61_000
        let expired = try await f.page(closedLinks[0].token)
        #expect(expired.status == 410)
        #expect(expired.body.contains("Ce lien n’est plus actif"))
        f.offset.value = 30 * 86_400_000
        #expect((try await f.page(openLinks[0].token)).status == 200)
        #expect((try await f.page(closedLinks[1].token)).status == 410)
    }

    @Test func anErasedAlertsLinksAreUnknown() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        #expect((try await f.page(links[0].token)).status == 200)
        try await f.close(alert)
        _ = try await Erasure.run(
            alert: alert, actor: Fixture.author.actor, role: "operator", reason: "test", writer: f.writer)
        for (_, token) in links {
            let a = try await f.page(token)
            #expect(a.status == 404)
            #expect(a.body.contains("Lien inconnu"))
        }
    }

    @Test func aLiveLinkShowsTheLatestFixItsAgeATraceTheCallButtonAndEveryHeader() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert(fix: "geo:48.85,2.35;u=30", ago: 300_000)
        try await f.addFix(alert, Fixture.paris, ago: 125_000)
        let a = try await f.page(links[0].token)
        #expect(a.status == 200)
        Self.checkHeaders(a, "200")
        let body = a.body
        #expect(body.hasPrefix("<!doctype html>\n<html lang=\"fr\">"))
        #expect(body.contains("<p class=\"org\">Témoin</p>"))
        #expect(body.contains("Alerte en cours") && body.contains("Alert in progress"))
        #expect(body.contains("48.85660° N, 2.35220° E"))
        #expect(body.contains("± 10 m"))
        #expect(body.contains("il y a 2 min") && body.contains("2 min ago"))
        #expect(body.contains("<svg") && body.contains("<polyline"), "the trace of both fixes")
        #expect(body.contains("<a class=\"call\" id=\"call\" href=\"tel:17\">Appeler le 17 (police)"))
        #expect(body.contains("En cas de danger immédiat"))
        #expect(
            body.contains("href=\"geo:48.85660,2.35220\"") && body.contains("Ouvrir dans une application de cartes"))
        #expect(body.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        #expect(!body.contains("<script") && !body.contains("style=\"") && !body.contains("src="))
        let outside = body.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!outside.contains("http:") && !outside.contains("https:"), "nothing from anywhere")
        // The one style block is the one the policy allows, by its hash.
        let style = try #require(body.range(of: "<style>")).upperBound
        let end = try #require(body.range(of: "</style>")).lowerBound
        let hash = Base64.encode(SHA256.hash(Array(body[style..<end].utf8)).bytes)
        #expect(a["Content-Security-Policy"]?.contains("style-src 'sha256-\(hash)'") == true)
        #expect(body.components(separatedBy: "<style").count == 2)
    }

    @Test func aNewFixAppearsOnTheNextLoad() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        #expect((try await f.page(links[0].token)).body.contains("48.85660° N, 2.35220° E"))
        try await f.addFix(alert, "geo:-33.8688,151.2093;u=5")
        let next = try await f.page(links[0].token)
        #expect(next.body.contains("33.86880° S, 151.20930° E"))
        #expect(next.body.contains("href=\"geo:-33.86880,151.20930\""))
        // Seconds ago (or a minute, on a loaded machine): the new fix's own capture time.
        #expect(next.body.range(of: #"il y a [0-9]+ (s|min) \("#, options: .regularExpression) != nil)
        #expect(!next.body.contains("48.85660° N"), "only the latest fix is written out")
    }

    @Test func anAlertWithoutAFixSaysNoPositionYet() async throws {
        let f = try await Fixture()
        let (_, links) = try await f.openAlert(fix: nil)
        let a = try await f.page(links[0].token)
        #expect(a.status == 200)
        #expect(a.body.contains("Position pas encore reçue") && a.body.contains("No position yet"))
        #expect(!a.body.contains("<svg") && !a.body.contains("geo:") && a.body.contains("tel:17"))
    }

    /// The field names of an entry, in order.
    static func names(_ entry: Entry?) -> [String] {
        guard let entry else { return [] }
        return String(decoding: entry.bytes, as: UTF8.self).split(separator: "\n").dropFirst(2).map {
            String($0.prefix { $0 != " " })
        }
    }

    @Test func theFirstViewAppendsExactlyOneLinkViewedEvenUnderTenConcurrentFirstLoads() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        let token = links[0].token
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 { group.addTask { try await f.page(token).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 10))
        let viewed = try f.linkViewedEntries(alert)
        #expect(viewed.count == 1)
        #expect(viewed.first?["contact"] == links[0].contact.rawValue)
        #expect(Self.names(viewed.first) == ["alert", "prev", "contact", "time"], "nothing else recorded")
        let row = try #require(try f.row(token))
        #expect(row.firstViewed != nil && row.views >= 1 && row.views <= 10)
        #expect(try f.row(links[1].token)?.views == 0, "the other contact has not looked")
    }

    @Test func laterViewsAreCountedOutsideTheLedger() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        let token = links[0].token
        _ = try await f.page(token)
        let size = try f.reader.size()
        for _ in 0..<5 { #expect((try await f.page(token)).status == 200) }
        #expect(try f.reader.size() == size, "no entry per refresh")
        #expect(try f.linkViewedEntries(alert).count == 1)
        let row = try #require(try f.row(token))
        #expect(row.views == 6)
        #expect(row.lastViewed! >= row.firstViewed!)
    }

    @Test func viewsAreCountedAtMostOncePerIntervalAndHeadOrPrefetchIsNoView() async throws {
        let f = try await Fixture(countInterval: .seconds(3600))
        let (alert, links) = try await f.openAlert()
        let token = links[0].token
        #expect((try await f.page(token, method: .head)).status == 200)
        #expect(
            (try await f.send("/l/" + token.text, headers: [HTTPField.Name("Sec-Purpose")!: "prefetch"])).status == 200)
        #expect(try f.row(token)?.views == 0 && f.linkViewedEntries(alert).isEmpty, "not a view")
        for _ in 0..<5 { _ = try await f.page(token) }
        #expect(try f.row(token)?.views == 1, "one count per hour")
        #expect(try f.linkViewedEntries(alert).count == 1)
    }

    @Test func thePageNeverNamesThePersonTheDeviceTheAlertTheContactOrTheToken() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        let book = ContactBook(writer: f.writer, reader: f.reader)
        _ = try await book.setPerson(f.device, person: "Sophie Leroy", by: Fixture.author)
        try await f.revoke(alert, links[1].contact)
        var answers = [Fixture.Answer]()
        answers.append(try await f.page(links[0].token))
        answers.append(try await f.page(links[0].token))
        answers.append(try await f.page(links[1].token))
        answers.append(try await f.send("/l/" + String(repeating: "Z", count: 24)))
        #expect(answers.map(\.status) == [200, 200, 410, 404])
        var secrets = [f.device.rawValue, alert.rawValue, "Sophie", "Leroy"]
        for (name, number) in Fixture.contacts {
            secrets += name.split(separator: " ").map(String.init)
            secrets.append(PhoneNumber(number)!.e164)
            secrets.append(String(PhoneNumber(number)!.e164.suffix(8)))
        }
        for (contact, token) in links {
            secrets += [contact.rawValue, token.text, token.hash.hex, token.hash.base64]
        }
        for a in answers {
            let all = a.body + a.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            for s in secrets { #expect(!all.contains(s), "\(a.status) contains \(s)") }
        }
    }

    @Test func headAnswersWithEveryHeaderAndNoBody() async throws {
        let f = try await Fixture()
        let (_, links) = try await f.openAlert()
        let a = try await f.page(links[0].token, method: .head)
        #expect(a.status == 200)
        Self.checkHeaders(a, "HEAD")
        #expect(a.body.isEmpty)
    }

    @Test func theNeutralPagesHaveOneSizeAndOneSetOfHeaders() async throws {
        let f = try await Fixture()
        let (alert, links) = try await f.openAlert()
        try await f.revoke(alert, links[0].contact)
        let gone = try await f.page(links[0].token)
        let unknown = try await f.send("/l/" + String(repeating: "Q", count: 24))
        #expect(gone.status == 410 && unknown.status == 404)
        #expect(gone.body.utf8.count == LivePage.neutralSize && unknown.body.utf8.count == LivePage.neutralSize)
        #expect(
            Dictionary(uniqueKeysWithValues: gone.headers.map { ($0.name.canonicalName, $0.value) })
                == Dictionary(uniqueKeysWithValues: unknown.headers.map { ($0.name.canonicalName, $0.value) }))
    }

    @Test func anUnknownTimeZoneFallsBackToUTCWithANote() async throws {
        var settings = FanoutSettings()
        settings.timeZone = "Mars/Olympus_Mons"
        let f = try await Fixture(settings: settings)
        let (_, links) = try await f.openAlert()
        let a = try await f.page(links[0].token)
        #expect(a.status == 200)
        #expect(a.body.contains("Heures en UTC.") && a.body.contains("Times are UTC."))
        let normal = try await Fixture()
        let usual = try await normal.page(try await normal.openAlert().links[0].token)
        #expect(usual.status == 200 && !usual.body.contains("UTC"))
    }

    @Test func theServiceRoutesTheLinksAndRobotsTxtDisallowsThem() async throws {
        let f = try await Fixture(fullService: true)
        let (_, links) = try await f.openAlert()
        let live = try await f.page(links[0].token)
        #expect(live.status == 200 && live.body.contains("48.85660° N"))
        Self.checkHeaders(live, "200 through buildRouter")
        let unknown = try await f.send("/l/" + String(repeating: "Q", count: 24))
        #expect(unknown.status == 404 && unknown.body.contains("Lien inconnu"))
        let robots = try await f.send("/robots.txt")
        #expect(robots.status == 200 && robots.body.contains("Disallow: /l/"))
        // The neighbouring routes are untouched.
        #expect((try await f.send("/healthz")).status == 200)
        #expect((try await f.send("/console/")).status == 200)
        let metrics = try await f.send("/metrics")
        #expect(metrics.body.contains("temoin_live_page_requests_total{outcome=\"unknown\"} 1"))
        #expect(metrics.body.contains("temoin_live_page_requests_total{outcome=\"live\"} 1"))
    }

    @Test func theRunningServiceAnswersGetAndHeadOverHTTP() async throws {
        let box = LivePageFixture.Box<String>("")
        let s = try await LiveServer(prepare: { w in
            let reader = try LedgerReader(directory: w.directory)
            let key = try Ed25519PrivateKey.generate()
            let phone = DeviceID.derive(publicKey: key.publicKey)
            _ = try await w.append(EntryDraft(enrolling: phone, publicKey: key.publicKey))
            _ = try await ContactBook(writer: w, reader: reader).add(
                phone, name: "Camille Martin", phone: PhoneNumber("+33612345678")!, by: Fixture.author)
            let alert = LiveServer.alert(1)
            _ = try await w.append(
                EntryDraft(
                    kind: .alertOpened, alert: alert, device: phone,
                    [("opened-at", Fixture.now().description), ("statement-sig", "none")]))
            let row = try #require(try reader.outbox(alert: alert).first)
            let token = try CapabilityToken.random()
            try await w.markSending(
                alert: alert, contact: row.contact,
                prepared: PreparedMessage(
                    sealed: [1], messageHash: token.hash, numberHash: token.hash, linkHash: token.hash))
            box.value = token.text
        })
        defer { Task { await s.stop() } }
        for method in ["GET", "HEAD"] {
            var request = URLRequest(url: URL(string: s.url.absoluteString + "/l/" + box.value)!)
            request.httpMethod = method
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 200, "\(method)")
            #expect(http.value(forHTTPHeaderField: "Content-Type") == "text/html; charset=utf-8")
            #expect(http.value(forHTTPHeaderField: "Referrer-Policy") == "no-referrer")
            #expect(http.value(forHTTPHeaderField: "Cache-Control") == "no-store")
            #expect(http.value(forHTTPHeaderField: "X-Robots-Tag") == "noindex, nofollow")
            #expect(http.value(forHTTPHeaderField: "Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
            let text = String(decoding: data, as: UTF8.self)
            #expect(method == "HEAD" ? data.isEmpty : text.contains("Position pas encore reçue"), "\(method)")
        }
        let (status, text) = try await s.raw("GET", "l/" + String(repeating: "Q", count: 24))
        #expect(status == 404 && text.contains("Lien inconnu"))
        let (robots, rules) = try await s.raw("GET", "robots.txt")
        #expect(robots == 200 && rules == "User-agent: *\nDisallow: /l/\n")
    }
}

/// The page's words and numbers.
struct LiveTextTests {
    @Test(arguments: [
        ("geo:48.8566,2.3522", "48.85660° N, 2.35220° E", "geo:48.85660,2.35220"),
        ("geo:-33.8688,151.2093", "33.86880° S, 151.20930° E", "geo:-33.86880,151.20930"),
        ("geo:40.7128,-74.006", "40.71280° N, 74.00600° W", "geo:40.71280,-74.00600"),
        ("geo:0,0", "0.00000° N, 0.00000° E", "geo:0.00000,0.00000"),
        ("geo:-0.000001,-179.999999", "0.00000° N, 180.00000° W", "geo:0.00000,-180.00000"),
        ("geo:-90,180", "90.00000° S, 180.00000° E", "geo:-90.00000,180.00000"),
        ("geo:45.1234567,4.000004", "45.12346° N, 4.00000° E", "geo:45.12346,4.00000"),
    ])
    func coordinatesHaveFiveDecimalsAndAHemisphere(fix: String, text: String, link: String) throws {
        let geo = try GeoURI(parsing: fix)
        #expect(LiveText.coordinates(geo) == text)
        #expect(LiveText.geoLink(geo) == link)
    }

    static func both(_ t: (fr: String, en: String)) -> [String] { [t.fr, t.en] }

    @Test func agesReadNaturallyInBothLanguages() {
        #expect(Self.both(LiveText.age(milliseconds: -5000)) == ["il y a 0 s", "0 s ago"])
        #expect(Self.both(LiveText.age(milliseconds: 59_999)) == ["il y a 59 s", "59 s ago"])
        #expect(Self.both(LiveText.age(milliseconds: 125_000)) == ["il y a 2 min", "2 min ago"])
        #expect(Self.both(LiveText.age(milliseconds: 3_600_000)) == ["il y a 1 h", "1 h ago"])
        #expect(Self.both(LiveText.age(milliseconds: 3_900_000)) == ["il y a 1 h 5 min", "1 h 5 min ago"])
        #expect(Self.both(LiveText.age(milliseconds: 3 * 86_400_000)) == ["il y a 3 j", "3 d ago"])
    }

    @Test func accuracyIsInMetresOrKilometres() {
        #expect(LiveText.accuracy(10) == "± 10 m")
        #expect(LiveText.accuracy(0.2) == "± 1 m")
        #expect(LiveText.accuracy(1500) == "± 1.5 km")
        #expect(LiveText.accuracy(3000) == "± 3 km")
    }

    @Test func closingTimesAreLocalWithTheDayWhenNotToday() throws {
        let paris = try #require(TimeZone(identifier: "Europe/Paris"))
        let closed = try #require(Timestamp(rfc3339: "2026-11-29T16:05:00.000Z"))
        let sameDay = try #require(Timestamp(rfc3339: "2026-11-29T20:00:00.000Z"))
        let nextDay = try #require(Timestamp(rfc3339: "2026-11-30T09:00:00.000Z"))
        #expect(Self.both(LiveText.when(closed, now: sameDay, zone: paris)) == ["à 17:05", "at 17:05"])
        #expect(
            Self.both(LiveText.when(closed, now: nextDay, zone: paris)) == ["le 29/11 à 17:05", "on 29/11 at 17:05"])
        let summer = try #require(Timestamp(rfc3339: "2026-07-01T16:05:09.000Z"))
        #expect(LiveText.clock(summer, zone: paris, seconds: true) == "18:05:09")
    }
}
