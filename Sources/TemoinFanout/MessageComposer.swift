public import TemoinCore
import Foundation

/// The text a trusted contact receives when an alert opens (Docs/fanout.md, "The text"): French,
/// short, no jargon — who sends it, that the person triggered her alert and when, where she was
/// last known to be, the link to follow her position, and the police's number.
///
/// The position is coordinates with their accuracy, not a street address: turning it into an
/// address would mean sending the victim's position to a third-party geocoder.
public struct MessageComposer: Sendable {
    public let settings: FanoutSettings
    private let zone: TimeZone

    public init(settings: FanoutSettings) {
        self.settings = settings
        zone = TimeZone(identifier: settings.timeZone) ?? TimeZone(identifier: "UTC")!
    }

    /// A fix and when the phone took it.
    public struct Position: Sendable {
        public let fix: GeoURI
        public let capturedAt: Timestamp

        public init(fix: GeoURI, capturedAt: Timestamp) {
            self.fix = fix
            self.capturedAt = capturedAt
        }
    }

    public func text(
        person: String?, openedAt: Timestamp, position: Position?, now: Timestamp, link: String?
    )
        -> String
    {
        var parts = [String]()
        let who = person ?? "Une personne qui vous a choisi(e) comme contact de confiance"
        parts.append(
            "\(settings.associationName) - ALERTE : \(who) a déclenché son alerte à \(clock(openedAt)).")
        if let position {
            let age = Self.age(from: position.capturedAt, to: now)
            parts.append("Dernière position connue (\(age)) : \(Self.coordinates(position.fix)).")
        } else {
            parts.append("Position pas encore connue.")
        }
        if let link { parts.append("Suivre sa position : \(link)") }
        parts.append("En cas de danger, appelez le 17.")
        return parts.joined(separator: " ")
    }

    /// `14h32`, or `14h32 le 30/11` when the alert did not open today (in the configured zone).
    func clock(_ t: Timestamp) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = Date(timeIntervalSince1970: Double(t.millisecondsSinceEpoch) / 1000)
        let c = calendar.dateComponents([.day, .month, .hour, .minute], from: date)
        let today = calendar.dateComponents([.day, .month], from: Date())
        let hm = "\(c.hour ?? 0)h" + String(format: "%02d", c.minute ?? 0)
        if c.day == today.day && c.month == today.month { return hm }
        return hm + " le " + String(format: "%02d/%02d", c.day ?? 0, c.month ?? 0)
    }

    /// `à l'instant`, `il y a 3 min`, `il y a 2 h`.
    static func age(from then: Timestamp, to now: Timestamp) -> String {
        let seconds = max(0, (now.millisecondsSinceEpoch - then.millisecondsSinceEpoch) / 1000)
        if seconds < 60 { return "à l'instant" }
        if seconds < 3600 { return "il y a \(seconds / 60) min" }
        return "il y a \(seconds / 3600) h"
    }

    /// `48,85660 N 2,35220 E, à 20 m près` (French decimal comma, five decimals: about 1 m).
    static func coordinates(_ g: GeoURI) -> String {
        func degrees(_ v: Double, _ positive: String, _ negative: String) -> String {
            // No degree sign: it is not in the GSM 03.38 alphabet, and one such character sends the
            // whole text as UCS-2, in twice as many segments.
            String(format: "%.5f", abs(v)).replacingOccurrences(of: ".", with: ",") + " "
                + (v < 0 ? negative : positive)
        }
        var s = degrees(g.latitude, "N", "S") + " " + degrees(g.longitude, "E", "O")
        if let u = g.uncertainty, u.isFinite { s += ", à \(Int(saturating: u.rounded())) m près" }
        return s
    }
}
