import Foundation
public import Logging
import NIOHTTP1
import TemoinCore
import TemoinCrypto

/// OVHcloud's SMS API (Docs/fanout.md, "OVHcloud"): one signed
/// `POST {endpoint}/sms/{service}/jobs` per attempt, the idempotency key as the job's `tag`.
///
/// OVHcloud keeps no idempotency key: a job posted twice is sent twice. After a crash between an
/// attempt and its record, `acceptedBefore` asks `GET /sms/{service}/outgoing?tag=KEY` whether
/// the text went out, and the dispatcher records it instead of sending it again. That list holds
/// texts that have left OVHcloud's queue; a job still queued (`GET /sms/{service}/jobs`, which
/// cannot be searched by tag without reading every job) is not in it. So a text accepted in the
/// second or so before a crash, and still queued when the service is back, is sent twice: the
/// contact gets the same text twice, never none.
public struct OVHGateway: SMSGateway {
    public let name = "ovh"
    public let settings: OVHGatewaySettings
    private let http: ProviderHTTP
    private let clock = OVHClock()
    private let logger: Logger

    public init(settings: OVHGatewaySettings, logger: Logger) {
        self.settings = settings
        self.http = ProviderHTTP(timeout: settings.timeout)
        self.logger = logger
    }

    public func send(_ message: SMSMessage) async -> SMSOutcome {
        let url = "\(settings.endpoint)/sms/\(settings.service)/jobs"
        let body = ProviderJSON.encode(OVHJob(message, sender: settings.sender))
        var result = await signed(.POST, url, body: body)
        // A refused timestamp: OVHcloud's clock moved away from ours. The job was not created, so it
        // is sent again at once, signed with the time read afresh.
        if case .success(let reply) = result, Self.isClockRefusal(reply) {
            await clock.forget()
            result = await signed(.POST, url, body: body)
        }
        let outcome: SMSOutcome
        switch result {
        case .failure(let failure): outcome = failure.outcome
        case .success(let reply) where Self.isClockRefusal(reply): outcome = .retry(reason: "timestamp", after: nil)
        case .success(let reply): outcome = Self.outcome(reply)
        }
        logger.debug(
            "sms gateway answered", metadata: ["gateway": "ovh", "to": "\(message.to.masked)", "outcome": "\(outcome)"])
        return outcome
    }

    /// Whether a text tagged with this message's key has left OVHcloud: `.accepted` with the first
    /// id if so; nil if not, or if OVHcloud cannot be asked (the text is then sent again).
    public func acceptedBefore(_ message: SMSMessage) async -> SMSOutcome? {
        let tag = Self.tag(message.idempotencyKey)
        let query = tag.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))
        let url = "\(settings.endpoint)/sms/\(settings.service)/outgoing?tag=\(query ?? tag)"
        guard case .success(let reply) = await signed(.GET, url, body: []) else { return nil }
        if Self.isClockRefusal(reply) { await clock.forget() }
        guard (200..<300).contains(reply.status), let first = ProviderJSON.value(reply.body)?.array?.first else {
            return nil
        }
        return .accepted(status: "accepted", reference: first.text.flatMap(ProviderText.reference))
    }

    public func shutdown() async { await http.shutdown() }

    /// `$1$` and the lowercase hex SHA-1 of `AS+CK+METHOD+URL+BODY+TIMESTAMP`, the URL with its
    /// query, the body as sent (empty for a GET): OVHcloud's request signature.
    public static func signature(
        applicationSecret: String, consumerKey: String, method: String, url: String, body: [UInt8], timestamp: Int64
    ) -> String {
        let signed =
            Array("\(applicationSecret)+\(consumerKey)+\(method)+\(url)+".utf8) + body
            + Array("+\(timestamp)".utf8)
        return "$1$" + Hex.encode(SHA1.hash(signed))
    }

    /// `7bit` if every character of the text is in the GSM 03.38 alphabet (with its extension
    /// table), else `8bit`: OVHcloud then sends it as Unicode, in shorter parts.
    public static func coding(_ text: String) -> String {
        text.unicodeScalars.allSatisfy { gsm.contains($0) } ? "7bit" : "8bit"
    }

    /// OVHcloud's tags are at most 128 characters (the keys are 36).
    static func tag(_ key: String) -> String { String(key.prefix(128)) }

    /// The GSM 03.38 default alphabet and its extension table (`^ { } \ [ ~ ] | €`, form feed).
    private static let gsm: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" + "^{}\\[~]|€\u{0C}").unicodeScalars)

    /// A POST's answer: 2xx with `invalidReceivers` is an invalid number, else the first of `ids`.
    static func outcome(_ reply: ProviderHTTP.Reply) -> SMSOutcome {
        guard (200..<300).contains(reply.status) else {
            if reply.status == 400,
                ProviderJSON.mentions(reply.body, fields: ["message", "errorCode"], words: ["signature"])
            {
                return .rejected(reason: "unauthorized")
            }
            return ProviderStatus.outcome(
                reply, invalidNumber: ProviderJSON.mentions(reply.body, fields: ["message", "errorCode"]))
        }
        let json = ProviderJSON.value(reply.body)
        if let invalid = json?["invalidReceivers"]?.array, !invalid.isEmpty {
            return .rejected(reason: "invalid-number")
        }
        let first = json?["ids"]?.array?.first
        return .accepted(status: "accepted", reference: first?.text.flatMap(ProviderText.reference))
    }

    /// A 400 saying the request's time is wrong (OVHcloud: `QUERY_TIME_OUT`, "Query out of time").
    static func isClockRefusal(_ reply: ProviderHTTP.Reply) -> Bool {
        reply.status == 400 && ProviderJSON.mentions(reply.body, fields: ["message", "errorCode"], words: ["time"])
    }

    private func signed(
        _ method: HTTPMethod, _ url: String, body: [UInt8]
    ) async -> Result<
        ProviderHTTP.Reply, ProviderHTTP.Failure
    > {
        let timestamp = await serverTime()
        let signature = Self.signature(
            applicationSecret: settings.applicationSecret.value, consumerKey: settings.consumerKey.value,
            method: method.rawValue, url: url, body: body, timestamp: timestamp)
        let headers = [
            ("X-Ovh-Application", settings.applicationKey), ("X-Ovh-Consumer", settings.consumerKey.value),
            ("X-Ovh-Timestamp", String(timestamp)), ("X-Ovh-Signature", signature),
            ("Content-Type", "application/json;charset=utf-8"), ("Accept", "application/json"),
        ]
        return await http.exchange(method, url, headers: headers, body: method == .GET ? nil : body)
    }

    /// OVHcloud's time: `GET /auth/time` once, then this machine's clock plus the difference. If
    /// it cannot be read, this machine's clock (and it is asked again next time).
    private func serverTime() async -> Int64 {
        if let delta = await clock.delta { return OVHClock.localNow() + delta }
        let asked = Date().timeIntervalSince1970
        if case .success(let reply) = await http.exchange(
            .GET, "\(settings.endpoint)/auth/time", headers: [], body: nil),
            reply.status == 200,
            let server = Int64(
                String(decoding: reply.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        {
            // OVHcloud read its clock somewhere within the round trip: its middle is the best
            // guess (taking the moment it was asked counted a slow round trip into the difference).
            let middle = (asked + Date().timeIntervalSince1970) / 2
            await clock.set(server - Int64(middle.rounded(.down)))
            return server
        }
        logger.notice("cannot read OVHcloud's time (GET /auth/time): signing with this machine's clock")
        return OVHClock.localNow()
    }
}

/// The difference between OVHcloud's clock and ours, in seconds, once known.
actor OVHClock {
    private(set) var delta: Int64?

    func set(_ delta: Int64) { self.delta = delta }
    func forget() { delta = nil }

    static func localNow() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}

/// The body of `POST /sms/{service}/jobs`.
private struct OVHJob: Encodable {
    let charset = "UTF-8"
    let coding: String
    let message: String
    let noStopClause = true
    let priority = "high"
    let receivers: [String]
    let sender: String?
    let senderForResponse: Bool?
    let tag: String

    init(_ m: SMSMessage, sender: String?) {
        coding = OVHGateway.coding(m.text)
        message = m.text
        receivers = [m.to.e164]
        self.sender = sender
        // Without a sender, a short number that contacts can answer.
        senderForResponse = sender == nil ? true : nil
        tag = OVHGateway.tag(m.idempotencyKey)
    }
}
