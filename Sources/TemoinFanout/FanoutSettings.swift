public import TemoinCore
import Foundation

/// How the fan-out behaves (`temoin serve` flags, Docs/fanout.md). The gateway is chosen apart
/// (`SMSGatewayConfiguration`).
public struct FanoutSettings: Sendable {
    /// Who the text says it comes from: the association's name, at most 40 characters.
    public var associationName = "Témoin"
    /// The service's address as contacts reach it (the links' base): `https://…`, or `http://` on
    /// loopback for tests. Nil: the texts carry no link (the page cannot be reached).
    public var publicURL: String?
    /// How long a link works after its alert closes (seconds; default 24 h). While the alert is open
    /// it always works (unless revoked).
    public var linkLifetimeSeconds = 24 * 3600
    /// How often the live-location page refreshes itself (seconds).
    public var pageRefreshSeconds = 5
    /// The time zone of the times in texts and on the page.
    public var timeZone = "Europe/Paris"
    /// Attempts per text before it is given up.
    public var maximumAttempts = 8
    /// A text not sent within this time after its alert opened is given up (`stale`): after a long
    /// outage, a text about an alert of yesterday would mislead.
    public var maximumDelaySeconds = 6 * 3600

    public init() {}

    public func validate() throws(TemoinError) {
        let name = associationName
        guard !name.isEmpty, name.count <= 40, EntryFieldType.text.accepts(name) else {
            throw TemoinError(.smsGatewayConfig, "the association's name is 1 to 40 characters on one line")
        }
        if let url = publicURL {
            let lower = url.lowercased()
            let loopback = ["http://127.", "http://localhost", "http://[::1]"].contains { lower.hasPrefix($0) }
            guard lower.hasPrefix("https://") || loopback, !url.contains(" "), !url.hasSuffix("/") || url.count > 8
            else {
                throw TemoinError(
                    .smsGatewayConfig,
                    "the public URL is https://… (http:// only on loopback): contacts open it from their phones")
            }
        }
        guard TimeZone(identifier: timeZone) != nil else {
            throw TemoinError(.smsGatewayConfig, "unknown time zone '\(timeZone)' (an IANA name: Europe/Paris)")
        }
        guard linkLifetimeSeconds > 0, pageRefreshSeconds > 0, maximumAttempts > 0, maximumDelaySeconds > 0 else {
            throw TemoinError(.serveBadLimit, "the fan-out's limits must be positive")
        }
    }

    /// The link of a token: the public URL without its trailing `/`, then `/l/` and the token.
    public func link(_ token: CapabilityToken) -> String? {
        guard var base = publicURL else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/l/" + token.text
    }
}
