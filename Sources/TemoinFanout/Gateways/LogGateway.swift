public import Logging
import TemoinCore
import TemoinCrypto

/// The embedded default: sends nothing, writes each text to the service's log at `notice`, so that
/// a deployment without a provider (a trial, a test bench) shows what would have been sent.
///
/// A log is read by more people and kept longer than a text: the text itself is never written (it
/// holds the victim's position and the name her contacts know her by), only its length and its
/// SHA-256 — the `message-sha256` of the ledger's `sms.sent` — and the number masked
/// (`+336••••••78`), so that no line of the log tells where she is, who was texted, or opens a link.
public struct LogGateway: SMSGateway {
    public let name = "log"
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(_ message: SMSMessage) async -> SMSOutcome {
        logger.notice(
            "sms not sent (log gateway)",
            metadata: [
                "to": "\(message.to.masked)", "idempotency-key": "\(message.idempotencyKey)",
                "characters": "\(message.text.count)",
                "message-sha256": "\(SHA256.hash(Array(message.text.utf8)).hex)",
            ])
        return .accepted(status: "logged", reference: nil)
    }

    /// The text with the token of every `/l/{token}` cut to its first four characters and `…`.
    public static func maskingLinks(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard i + 3 <= scalars.count, scalars[i] == "/", scalars[i + 1] == "l", scalars[i + 2] == "/" else {
                out.append(scalars[i])
                i += 1
                continue
            }
            out.append(contentsOf: scalars[i..<(i + 3)])
            i += 3
            var end = i
            while end < scalars.count, isTokenCharacter(scalars[end]) { end += 1 }
            if end - i > 4 {
                out.append(contentsOf: scalars[i..<(i + 4)])
                out.append("…")
            } else {
                out.append(contentsOf: scalars[i..<end])
            }
            i = end
        }
        return String(out)
    }

    /// `A-Z a-z 0-9 - _`: a capability token's alphabet (base64url).
    private static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-" || c == "_"
    }
}
