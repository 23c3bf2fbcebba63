import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOConcurrencyHelpers
import TemoinCore
import TemoinCrypto

/// Console sessions, server-side and in memory (Docs/console.md): a random id in the cookie names
/// an account and an expiry here, never the token. A restart signs everyone out; the account is
/// looked up on every request, so a revoked account's sessions are dead at once.
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        let account: String
        let expires: ContinuousClock.Instant
        /// The anti-forgery token every form of this session carries.
        let csrf: String
    }

    private let sessions = NIOLockedValueBox<[String: Session]>([:])
    let lifetime: Duration
    /// At most this many live sessions: the oldest goes first past it.
    let capacity: Int

    init(lifetime: Duration = .seconds(8 * 3600), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new session for `account`: its id (for the cookie) and its form token.
    func open(account: String) -> (id: String, session: Session) {
        let id = ConsoleRandom.token()
        let now = ContinuousClock.now
        let session = Session(account: account, expires: now + lifetime, csrf: ConsoleRandom.token())
        sessions.withLockedValue { all in
            all = all.filter { $0.value.expires > now }
            while all.count >= capacity, let oldest = all.min(by: { $0.value.expires < $1.value.expires }) {
                all[oldest.key] = nil
            }
            all[id] = session
        }
        return (id, session)
    }

    /// The live session of this id, or nil (an expired one is forgotten).
    func find(_ id: String) -> Session? {
        sessions.withLockedValue { all in
            guard let s = all[id] else { return nil }
            guard s.expires > ContinuousClock.now else {
                all[id] = nil
                return nil
            }
            return s
        }
    }

    func close(_ id: String) { _ = sessions.withLockedValue { $0.removeValue(forKey: id) } }
}

enum ConsoleRandom {
    /// 256 random bits in base64url.
    static func token() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Base64.encode(bytes).replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Equal strings, compared in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The console's headers on every page: no inline script, nothing from another origin.
enum ConsoleHeaders {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func apply(_ headers: inout HTTPFields) {
        headers[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Strict, on /console, Secure behind TLS.
    static func cookie(_ name: String, _ value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The request's cookies by name (the first of each name).
    static func cookies(_ request: Request) -> [String: String] {
        var result = [String: String]()
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, result[String(kv[0])] == nil { result[String(kv[0])] = String(kv[1]) }
            }
        }
        return result
    }

    /// Whether the request came over TLS (the proxy says so; Docs/deployment.md).
    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}

/// An `application/x-www-form-urlencoded` body, read strictly: each name once.
struct ConsoleForm {
    private(set) var values: [String: String] = [:]

    init(_ request: Request, limit: Int = 64 * 1024) async throws {
        let body = try await request.body.collect(upTo: limit)
        self.init(String(decoding: Data(buffer: body), as: UTF8.self))
    }

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(kv[0]), values[name] == nil else { continue }
            values[name] = kv.count == 2 ? decode(kv[1]) ?? "" : ""
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// The value, or nil when absent or only spaces.
    func given(_ name: String) -> String? {
        guard let v = values[name], !v.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return v
    }
}

/// One part of a `multipart/form-data` body (RFC 7578), found by its name: only what the console's
/// upload form sends (one file, one token) is read, and anything malformed is refused.
enum Multipart {
    static func boundary(_ contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for p in contentType.split(separator: ";") {
            let kv = p.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let b = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return b.isEmpty || b.count > 70 ? nil : b
            }
        }
        return nil
    }

    /// Each part's name and bytes.
    static func parts(_ body: [UInt8], boundary: String) -> [String: ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var result = [String: ArraySlice<UInt8>]()
        var starts = [Int]()
        var i = 0
        while let at = find(delimiter, in: body, from: i) {
            starts.append(at)
            i = at + delimiter.count
        }
        for (a, b) in zip(starts, starts.dropFirst()) {
            var start = a + delimiter.count
            guard start + 2 <= b, body[start] == 13, body[start + 1] == 10 else { continue }
            start += 2
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: start), headerEnd < b else { continue }
            let headers = String(decoding: body[start..<headerEnd], as: UTF8.self)
            guard let nameRange = headers.range(of: "name=\"") else { continue }
            let rest = headers[nameRange.upperBound...]
            guard let close = rest.firstIndex(of: "\"") else { continue }
            let name = String(rest[..<close])
            // The part ends with CRLF before the next delimiter.
            let contentStart = headerEnd + 4
            let contentEnd = b - 2
            guard contentEnd >= contentStart, result[name] == nil else { continue }
            result[name] = body[contentStart..<contentEnd]
        }
        return result
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// Times as the console shows them: Europe/Paris (with its offset, DST included) and UTC beside.
enum ConsoleTime {
    static let paris = TimeZone(identifier: "Europe/Paris")!

    static func view(_ t: Timestamp) -> [String: Any] {
        let date = Date(timeIntervalSince1970: Double(t.millisecondsSinceEpoch) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = paris
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = paris.secondsFromGMT(for: date) / 3600
        let two = { (n: Int?) in String(format: "%02d", n ?? 0) }
        let local =
            "\(two(c.day))/\(two(c.month))/\(c.year ?? 0) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
        let utc = t.description
        let utcTime = utc.split(separator: "T").last.map { String($0.prefix(8)) } ?? utc
        return ["iso": utc, "paris": local, "offset": "UTC+\(offset)", "utc": utcTime + " UTC"]
    }
}

/// The location fixes drawn as SVG on the server: no map tiles, no outside origin. Positions are
/// projected equirectangularly (longitude scaled by the cosine of the mean latitude).
enum LocationPlot {
    static func svg(_ fixes: [(label: String, geo: GeoURI)], title: String) -> String {
        let width = 320.0, height = 200.0, pad = 24.0
        guard !fixes.isEmpty else { return "" }
        let lats = fixes.map(\.geo.latitude), lons = fixes.map(\.geo.longitude)
        let scale = cos((lats.reduce(0, +) / Double(lats.count)) * .pi / 180)
        let xs = lons.map { $0 * scale }
        let (minX, maxX, minY, maxY) = (xs.min()!, xs.max()!, lats.min()!, lats.max()!)
        let span = max(maxX - minX, maxY - minY, 1e-5)
        let k = min(width - 2 * pad, height - 2 * pad) / span
        func point(_ i: Int) -> (Double, Double) {
            let x = width / 2 + (xs[i] - (minX + maxX) / 2) * k
            let y = height / 2 - (lats[i] - (minY + maxY) / 2) * k
            return ((x * 10).rounded() / 10, (y * 10).rounded() / 10)
        }
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 320 200\" width=\"320\" height=\"200\" "
            + "role=\"img\" aria-labelledby=\"plot-title\" class=\"plot\">"
            + "<title id=\"plot-title\">\(escape(title))</title>"
            + "<rect x=\"0\" y=\"0\" width=\"320\" height=\"200\" fill=\"#ffffff\" stroke=\"#555555\"/>"
        if fixes.count > 1 {
            let points = fixes.indices.map {
                let p = point($0); return "\(p.0),\(p.1)"
            }.joined(separator: " ")
            out += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"2\"/>"
        }
        for i in fixes.indices {
            let (x, y) = point(i)
            out += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"5\" fill=\"#b91c1c\"/>"
            out += "<text x=\"\(x + 7)\" y=\"\(y - 7)\" font-size=\"12\" fill=\"#111111\">\(i + 1)</text>"
        }
        // The scale: how many metres the plot's width spans.
        let metres = Int((width / k) * 111_320)
        out += "<text x=\"8\" y=\"192\" font-size=\"11\" fill=\"#111111\">↔ \(metres) m</text></svg>"
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// The console's templates and static files, read once from the target's resources.
struct ConsoleResources: Sendable {
    let library: MustacheLibrary
    let files: [String: (type: String, bytes: [UInt8])]

    static func load() throws -> ConsoleResources {
        // The copied folder sits at the bundle's top (Linux) or in its resources (Darwin).
        let candidates = [Bundle.module.bundleURL, Bundle.module.resourceURL].compactMap {
            $0?.appendingPathComponent("Resources")
        }
        guard
            let root = candidates.first(where: {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("templates").path)
            })
        else {
            throw TemoinError(.internalFailure, "the console's resources are missing")
        }
        var templates = [String: MustacheTemplate]()
        let fm = FileManager.default
        let templateDir = root.appendingPathComponent("templates")
        for name in try fm.contentsOfDirectory(atPath: templateDir.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templateDir.appendingPathComponent(name), encoding: .utf8)
            templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        var files = [String: (type: String, bytes: [UInt8])]()
        let staticDir = root.appendingPathComponent("static")
        for name in try fm.contentsOfDirectory(atPath: staticDir.path) {
            let type =
                name.hasSuffix(".css")
                ? "text/css; charset=utf-8"
                : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "application/octet-stream"
            files[name] = (type, Array(try Data(contentsOf: staticDir.appendingPathComponent(name))))
        }
        return ConsoleResources(library: MustacheLibrary(templates: templates), files: files)
    }
}
