import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOConcurrencyHelpers
import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinLedger

/// The live-location page `/l/{token}` (Docs/fanout.md): what a trusted contact opens from the
/// text sent when an alert opens. No sign-in: the token is the capability. The page shows the
/// association's name, whether the alert is open, the latest fix (coordinates, accuracy, age), a
/// trace of the previous fixes drawn on the server, a button to call 17 and a `geo:` link — and
/// nothing about the person (no name, no device, no alert id): a leaked link must reveal as little
/// as possible.
///
/// Looking a link up is **constant time in the token**: the path segment is checked for shape
/// (24 base64url characters), hashed with SHA-256, and the `links` row is found by one indexed
/// read of that hash (the table's primary key). The token's text is never compared with anything
/// stored, so how long a request takes does not depend on how much of a real token it matches;
/// the index compares hashes, which say nothing about the tokens they come from.
///
/// Answers: 200 for a live link; 404 for a segment that is not a token or a token whose hash is
/// unknown (erased alerts' links are deleted, so they are unknown too); 410 for a revoked link or
/// one whose alert closed more than `linkLifetimeSeconds` ago. The 404 and 410 pages are neutral,
/// padded to one size, with the same headers as the live page.
///
/// The first view of a link appends `link.viewed` (evidence that the contact was reached), once
/// even under concurrent first loads: the writer checks for the contact's entry inside its
/// transaction (`Idempotency.sameFields`). Later views are counted outside the ledger (`views`,
/// `last_viewed`), at most once per `countInterval` per link; no address or user agent is kept.
struct LivePage: Sendable {
    let reader: LedgerReader
    let writer: LedgerWriter
    let settings: FanoutSettings
    let metrics: ServiceMetrics
    let logger: Logger
    let clock: WallClock
    let throttle: LinkViewThrottle
    let resources: LivePageResources
    /// The time zone of the page's times; UTC (said on the page) if `settings.timeZone` is unknown.
    let zone: TimeZone
    let zoneIsFallback: Bool

    /// The most fixes drawn: the latest and up to 50 before it.
    static let traceFixes = 51
    /// A closed alert's page refreshes this slowly (seconds), so an open tab still turns into the
    /// 410 page once the link expires.
    static let closedRefreshSeconds = 60

    init(
        reader: LedgerReader, writer: LedgerWriter, settings: FanoutSettings, metrics: ServiceMetrics,
        logger: Logger, clock: @escaping WallClock = systemClock, countInterval: Duration = .seconds(1)
    ) throws {
        self.reader = reader
        self.writer = writer
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        throttle = LinkViewThrottle(interval: countInterval)
        resources = try LivePageResources.load()
        if let zone = TimeZone(identifier: settings.timeZone) {
            self.zone = zone
            zoneIsFallback = false
        } else {
            logger.warning(
                "unknown time zone for the live-location page: its times are shown in UTC",
                metadata: ["timeZone": "\(settings.timeZone)"])
            zone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
            zoneIsFallback = true
        }
    }

    /// The page of a running service: its writer, fan-out settings and metrics.
    init(service: DeviceService, reader: LedgerReader, logger: Logger) throws {
        try self.init(
            reader: reader, writer: service.writer, settings: service.configuration.fanout, metrics: service.metrics,
            logger: logger)
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        // Every path under /l/ comes here (Hummingbird lets no `l/:token` sit beside `l/**`): the
        // whole raw path is `/l/` and a token, or the link is unknown. Nothing is percent-decoded.
        for path in ["l/**", "l"] {
            router.get(RouterPath(path)) { request, _ in await answer(request, Self.segment(request.uri.path)) }
            router.head(RouterPath(path)) { request, _ in await answer(request, Self.segment(request.uri.path)) }
        }
        router.get("robots.txt") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "User-agent: *\nDisallow: /l/\n")))
        }
    }

    /// The token's place in a path: everything after `/l/`.
    static func segment(_ path: String) -> Substring? {
        path.hasPrefix("/l/") ? path.dropFirst(3) : nil
    }

    // MARK: Answers

    /// What a link is now.
    enum State {
        case unknown
        case gone
        case live(tokenHash: Hash, row: LinkRow, opened: Entry, closed: Entry?, fixes: [(fix: GeoURI, entry: Entry)])
    }

    func answer(_ request: Request, _ segment: Substring?) async -> Response {
        let head = request.method == .head
        guard let segment, let token = CapabilityToken(segment) else {
            metrics.livePageUnknown.increment()
            return neutral(.unknown, head: head)
        }
        let now = clock()
        let state: State
        do throws(TemoinError) {
            state = try lookUp(token.hash, now: now)
        } catch {
            metrics.livePageUnavailable.increment()
            logger.error("the live-location page cannot read the ledger", metadata: ["code": "\(error.code)"])
            return neutral(.unavailable, head: head)
        }
        switch state {
        case .unknown:
            metrics.livePageUnknown.increment()
            return neutral(.unknown, head: head)
        case .gone:
            metrics.livePageGone.increment()
            return neutral(.gone, head: head)
        case .live(let hash, let row, let opened, let closed, let fixes):
            if !head && !Self.isPrefetch(request) {
                if await recordView(hash, row) == .erased {
                    // Erased between the read and the view: its link rows are gone.
                    metrics.livePageUnknown.increment()
                    return neutral(.unknown, head: head)
                }
            }
            metrics.livePageLive.increment()
            let html = render(opened: opened, closed: closed, fixes: fixes, now: now)
            return Self.response(.ok, html, style: resources, head: head)
        }
    }

    /// One indexed read by the token's hash, then the alert's opening and closing and its fixes.
    func lookUp(_ hash: Hash, now: Timestamp) throws(TemoinError) -> State {
        guard let row = try reader.link(tokenHash: hash) else { return .unknown }
        if row.revoked { return .gone }
        guard let (opened, closed) = try reader.openingAndClosing(alert: row.alert) else { return .unknown }
        if let closed,
            now.millisecondsSinceEpoch - closed.time.millisecondsSinceEpoch > Int64(settings.linkLifetimeSeconds) * 1000
        {
            return .gone
        }
        var fixes = [(fix: GeoURI, entry: Entry)]()
        for stored in try reader.latestFixes(alert: row.alert, limit: Self.traceFixes) {
            // Every stored fix was checked on the way in; one that does not parse is left out.
            if let geo = try? GeoURI(parsing: stored.fix.fix) { fixes.append((geo, stored.entry)) }
        }
        return .live(tokenHash: hash, row: row, opened: opened, closed: closed, fixes: fixes)
    }

    enum Recorded { case recorded, skipped, erased, failed }

    /// The first view appends `link.viewed` (with the view counted in its transaction); later
    /// views are counted, at most once per interval per link. A failure is logged and the page is
    /// served anyway: the contact seeing where the person is matters more than the record.
    func recordView(_ hash: Hash, _ row: LinkRow) async -> Recorded {
        do {
            if row.firstViewed == nil {
                var draft = EntryDraft(kind: .linkViewed, alert: row.alert, [("contact", row.contact.rawValue)])
                draft.sideRow = .linkView(tokenHash: hash, now: clock().millisecondsSinceEpoch)
                // Concurrent first views: the writer finds the contact's entry in its transaction,
                // so only one is appended (and counted); the others are answered with it.
                draft.idempotency = .sameFields(["contact"], exclusive: false)
                _ = try await writer.append(draft)
                throttle.mark(hash)
                return .recorded
            }
            guard throttle.take(hash) else { return .skipped }
            try await writer.recordLinkView(tokenHash: hash)
            return .recorded
        } catch let e as TemoinError where e.id == .alertErased {
            return .erased
        } catch {
            metrics.livePageUnrecorded.increment()
            logger.error(
                "a view of a live-location link was not recorded",
                metadata: ["code": "\((error as? TemoinError)?.code ?? "internal")"])
            return .failed
        }
    }

    /// A browser's speculative load is not a view (it is served, not recorded).
    static func isPrefetch(_ request: Request) -> Bool {
        for name in ["Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"] {
            if let value = request.headers[HTTPField.Name(name)!]?.lowercased(),
                value.contains("prefetch") || value.contains("prerender") || value.contains("preview")
            {
                return true
            }
        }
        return false
    }

    // MARK: Pages

    func render(
        opened: Entry, closed: Entry?, fixes: [(fix: GeoURI, entry: Entry)], now: Timestamp
    ) -> String {
        var p: [String: Any] = [
            "association": settings.associationName, "style": resources.style,
            "refresh": String(
                closed == nil
                    ? settings.pageRefreshSeconds : max(settings.pageRefreshSeconds, Self.closedRefreshSeconds)),
            "updated": LiveText.clock(now, zone: zone, seconds: true), "utcNote": zoneIsFallback,
            "open": closed == nil,
        ]
        if let closed {
            let when = LiveText.when(closed.time, now: now, zone: zone)
            p["closedFr"] = when.fr
            p["closedEn"] = when.en
        }
        if let latest = fixes.first {
            let geo = latest.fix
            var fix: [String: Any] = [
                "coordinates": LiveText.coordinates(geo), "geo": LiveText.geoLink(geo),
                "trace": LiveTrace.svg(
                    fixes.reversed().map {
                        LiveTrace.Point(
                            latitude: $0.fix.latitude, longitude: $0.fix.longitude, uncertainty: $0.fix.uncertainty)
                    }, title: "Trajet récent / Recent trace"),
            ]
            if let u = geo.uncertainty { fix["accuracy"] = LiveText.accuracy(u) }
            // The age is the phone's capture time against now (a phone clock ahead reads "0 s").
            let captured = latest.entry.time("captured-at") ?? latest.entry.time
            let age = LiveText.age(milliseconds: now.millisecondsSinceEpoch - captured.millisecondsSinceEpoch)
            fix["ageFr"] = age.fr
            fix["ageEn"] = age.en
            fix["time"] = LiveText.clock(captured, zone: zone, seconds: false)
            p["fix"] = fix
        }
        return resources.library.render(p, withTemplate: "page") ?? ""
    }

    enum Neutral {
        case unknown, gone, unavailable

        var status: HTTPResponse.Status {
            switch self {
            case .unknown: return .notFound
            case .gone: return .gone
            case .unavailable: return .serviceUnavailable
            }
        }

        var texts: [String: String] {
            switch self {
            case .unknown:
                return [
                    "titleFr": "Lien inconnu", "titleEn": "Unknown link",
                    "textFr": "Vérifiez que le lien est complet.", "textEn": "Check that the link is complete.",
                ]
            case .gone:
                return [
                    "titleFr": "Ce lien n’est plus actif", "titleEn": "This link is no longer active",
                    "textFr": "Il a expiré ou a été désactivé.", "textEn": "It has expired or was turned off.",
                ]
            case .unavailable:
                return [
                    "titleFr": "Service momentanément indisponible", "titleEn": "Service temporarily unavailable",
                    "textFr": "Réessayez dans un instant.", "textEn": "Try again in a moment.",
                ]
            }
        }
    }

    /// Every neutral page is padded to this many bytes, so a 404 and a 410 cannot be told apart by
    /// their size.
    static let neutralSize = 4096

    func neutral(_ kind: Neutral, head: Bool) -> Response {
        var values: [String: Any] = kind.texts
        values["style"] = resources.style
        var html = resources.library.render(values, withTemplate: "neutral") ?? ""
        let size = html.utf8.count
        if size < Self.neutralSize { html += String(repeating: " ", count: Self.neutralSize - size - 1) + "\n" }
        return Self.response(kind.status, html, style: resources, head: head)
    }

    /// The headers of every answer of the route: nothing cached, indexed, framed, loaded or sent
    /// on; the one style block allowed by its hash.
    static func headers(_ resources: LivePageResources) -> HTTPFields {
        [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Robots-Tag")!: "noindex, nofollow",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Content-Security-Policy")!: resources.contentSecurityPolicy,
        ]
    }

    static func response(
        _ status: HTTPResponse.Status, _ html: String, style: LivePageResources, head: Bool
    ) -> Response {
        Response(
            status: status, headers: headers(style),
            body: head ? .init() : .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// When each link was last counted, so that a refreshing page (or a script) counts at most once
/// per interval. Only live links reach it, so it holds at most the links viewed lately.
final class LinkViewThrottle: Sendable {
    let interval: Duration
    private let last = NIOLockedValueBox<[Hash: ContinuousClock.Instant]>([:])

    init(interval: Duration) { self.interval = interval }

    /// True (and the link marked) if the link was not counted within the interval.
    func take(_ hash: Hash) -> Bool {
        let now = ContinuousClock.now
        return last.withLockedValue { last in
            if let at = last[hash], now - at < interval { return false }
            prune(&last, now: now)
            last[hash] = now
            return true
        }
    }

    /// Marks the link counted now (its first view).
    func mark(_ hash: Hash) {
        let now = ContinuousClock.now
        last.withLockedValue { last in
            prune(&last, now: now)
            last[hash] = now
        }
    }

    private func prune(_ last: inout [Hash: ContinuousClock.Instant], now: ContinuousClock.Instant) {
        if last.count >= 4096 { last = last.filter { now - $0.value < interval } }
    }
}

/// The page's texts that are not in its template: coordinates, accuracy, ages, clock times.
enum LiveText {
    /// `48.85660° N, 2.35220° E`: five decimals (about a metre).
    static func coordinates(_ geo: GeoURI) -> String {
        degrees(geo.latitude, "N", "S") + ", " + degrees(geo.longitude, "E", "W")
    }

    static func degrees(_ value: Double, _ positive: String, _ negative: String) -> String {
        let units = Int(saturating: (abs(value) * 100_000).rounded())
        return "\(decimal(units))° \(units == 0 || value > 0 ? positive : negative)"
    }

    /// `geo:48.85660,2.35220` for maps apps (RFC 5870).
    static func geoLink(_ geo: GeoURI) -> String {
        func signed(_ v: Double) -> String {
            let units = Int(saturating: (abs(v) * 100_000).rounded())
            return (v < 0 && units != 0 ? "-" : "") + decimal(units)
        }
        return "geo:\(signed(geo.latitude)),\(signed(geo.longitude))"
    }

    /// Hundred-thousandths as a decimal with five places.
    static func decimal(_ units: Int) -> String {
        let fraction = String(units % 100_000)
        return "\(units / 100_000)." + String(repeating: "0", count: 5 - fraction.count) + fraction
    }

    /// `± 12 m`, `± 1.5 km`.
    static func accuracy(_ metres: Double) -> String {
        guard metres.isFinite else { return "" }
        if metres >= 1000 {
            let tenths = Int(saturating: (metres / 100).rounded())
            return "± \(tenths / 10)" + (tenths % 10 == 0 ? "" : ".\(tenths % 10)") + " km"
        }
        return "± \(max(1, Int(saturating: metres.rounded()))) m"
    }

    /// `il y a 2 min` / `2 min ago`; a time ahead of now counts as now.
    static func age(milliseconds: Int64) -> (fr: String, en: String) {
        let seconds = max(0, milliseconds / 1000)
        if seconds < 60 { return ("il y a \(seconds) s", "\(seconds) s ago") }
        let minutes = seconds / 60
        if minutes < 60 { return ("il y a \(minutes) min", "\(minutes) min ago") }
        let hours = minutes / 60
        if hours < 24 {
            let rest = minutes % 60
            let text = rest == 0 ? "\(hours) h" : "\(hours) h \(rest) min"
            return ("il y a \(text)", "\(text) ago")
        }
        return ("il y a \(hours / 24) j", "\(hours / 24) d ago")
    }

    /// `17:05` (or `17:05:12`) in `zone`.
    static func clock(_ t: Timestamp, zone: TimeZone, seconds: Bool) -> String {
        let c = components(t, zone)
        return two(c.hour) + ":" + two(c.minute) + (seconds ? ":" + two(c.second) : "")
    }

    /// `à 17:05` / `at 17:05` on the day of `now`, else `le 29/11 à 17:05` / `on 29/11 at 17:05`.
    static func when(_ t: Timestamp, now: Timestamp, zone: TimeZone) -> (fr: String, en: String) {
        let c = components(t, zone), today = components(now, zone)
        let time = clock(t, zone: zone, seconds: false)
        if c.year == today.year && c.month == today.month && c.day == today.day {
            return ("à \(time)", "at \(time)")
        }
        let day = two(c.day) + "/" + two(c.month)
        return ("le \(day) à \(time)", "on \(day) at \(time)")
    }

    private static func components(_ t: Timestamp, _ zone: TimeZone) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: Double(t.millisecondsSinceEpoch) / 1000))
    }

    private static func two(_ n: Int?) -> String {
        let v = n ?? 0
        return v < 10 ? "0\(v)" : "\(v)"
    }
}

/// The page's templates and its one style sheet, read once from the target's resources
/// (`Resources/live/`); the style's SHA-256 goes into the Content-Security-Policy.
struct LivePageResources: Sendable {
    let library: MustacheLibrary
    let style: String
    let contentSecurityPolicy: String

    static func load() throws -> LivePageResources {
        let candidates = [Bundle.module.bundleURL, Bundle.module.resourceURL].compactMap {
            $0?.appendingPathComponent("Resources/live")
        }
        guard
            let root = candidates.first(where: {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("page.mustache").path)
            })
        else {
            throw TemoinError(.internalFailure, "the live-location page's resources are missing")
        }
        var templates = [String: MustacheTemplate]()
        for name in ["page", "neutral"] {
            let text = try String(contentsOf: root.appendingPathComponent(name + ".mustache"), encoding: .utf8)
            templates[name] = try MustacheTemplate(string: text)
        }
        let style = try String(contentsOf: root.appendingPathComponent("live.css"), encoding: .utf8)
        return LivePageResources(library: MustacheLibrary(templates: templates), style: style)
    }

    init(library: MustacheLibrary, style: String) {
        self.library = library
        self.style = style
        let hash = Base64.encode(SHA256.hash(Array(style.utf8)).bytes)
        contentSecurityPolicy =
            "default-src 'none'; style-src 'sha256-\(hash)'; frame-ancestors 'none'; base-uri 'none'; "
            + "form-action 'none'"
    }
}
