public import TemoinCore
import TemoinCrypto

/// The secret of a live-location link (`/l/{token}`): 144 random bits as 24 base64url characters,
/// one per alert and contact. Only its SHA-256 is stored; whoever holds the text holds the link.
public struct CapabilityToken: Sendable, Equatable {
    public static let byteCount = 18
    public static let length = 24

    public let text: String

    /// A new token from the system's random generator.
    public static func random() throws(TemoinError) -> CapabilityToken {
        CapabilityToken(checked: Base64URL.encode(try SecureRandom.bytes(byteCount)))
    }

    /// Exactly 24 of `A-Z a-z 0-9 - _`, nothing else (a path segment as received).
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == Self.length,
            text.utf8.allSatisfy({ c in
                (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d
                    || c == 0x5f
            })
        else { return nil }
        self.text = String(text)
    }

    private init(checked: String) { text = checked }

    /// What the database stores and looks the link up by: SHA-256 of the token's 24 ASCII bytes.
    public var hash: Hash { SHA256.hash(Array(text.utf8)) }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), for tokens in paths.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        var s = Base64.encode(bytes)
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}

/// Names shared by the fan-out's parts.
public enum Fanout {
    /// The key sent to the provider with every attempt of one alert's text to one contact, the
    /// same across crashes and restarts: `tmn-` and the first 32 hex digits of SHA-256 of
    /// `temoin/sms-idempotency/v1\n`, the alert id, `\n`, the contact id.
    public static func idempotencyKey(alert: AlertID, contact: ContactID) -> String {
        let digest = SHA256.hash(Array("temoin/sms-idempotency/v1\n\(alert.rawValue)\n\(contact.rawValue)".utf8))
        return "tmn-" + String(digest.hex.prefix(32))
    }
}
