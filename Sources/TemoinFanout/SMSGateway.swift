public import TemoinCore

/// One text to send: the recipient, the text, and the key that makes a repeat harmless (the same
/// for every attempt of one alert and contact, across restarts: `Fanout.idempotencyKey`).
public struct SMSMessage: Sendable, Equatable {
    public let to: PhoneNumber
    public let text: String
    public let idempotencyKey: String

    public init(to: PhoneNumber, text: String, idempotencyKey: String) {
        self.to = to
        self.text = text
        self.idempotencyKey = idempotencyKey
    }
}

/// What a provider answered to one attempt.
public enum SMSOutcome: Sendable, Equatable {
    /// Accepted for delivery. `status`: the provider's word for it, as an entry token
    /// (`accepted`, `queued`, `delivered`…); `reference`: its id for the message, if it gave one.
    case accepted(status: String, reference: String?)
    /// Not sent this time; worth trying again (a timeout, a refused connection, 5xx, 429). `after`:
    /// how long the provider asked to wait (`Retry-After`), if it did. `reason`: an entry token.
    case retry(reason: String, after: Duration?)
    /// Refused for good (an invalid number, a refused credential, another 4xx): not tried again.
    case rejected(reason: String)
}

/// An SMS provider. Adapters never throw: every failure is an outcome, with a reason that can go in
/// the ledger (an entry token: 1 to 64 of `a-z 0-9 . _ -`).
public protocol SMSGateway: Sendable {
    /// The adapter's name, an entry token (`log`, `http`, `ovh`): the `gateway` field of `sms.*`.
    var name: String { get }
    /// One attempt, bounded in time by the adapter (a timeout is `.retry(reason: "timeout")`).
    func send(_ message: SMSMessage) async -> SMSOutcome
    /// After a crash between an attempt and its record, asks the provider whether the message with
    /// this key was accepted, for providers that keep no idempotency key of their own. nil: the
    /// provider drops repeats itself, or cannot tell (the message is then sent again with its key).
    func acceptedBefore(_ message: SMSMessage) async -> SMSOutcome?
    /// Releases connections (called once, at shutdown).
    func shutdown() async
}

extension SMSGateway {
    public func acceptedBefore(_ message: SMSMessage) async -> SMSOutcome? { nil }
    public func shutdown() async {}
}
