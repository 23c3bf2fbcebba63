import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import TemoinCore

/// A generic HTTP relay (Docs/fanout.md, "HTTP"): one `POST` of
/// `{"idempotencyKey": …, "text": …, "to": "+33…"}` per attempt, with `Authorization: Bearer` and
/// `Idempotency-Key`. The relay is expected to drop repeats of a key, as SMS APIs with idempotency
/// keys do, so a text resent after a crash reaches the contact once.
public struct HTTPGateway: SMSGateway {
    public let name = "http"
    public let settings: HTTPGatewaySettings
    private let http: ProviderHTTP
    private let logger: Logger

    public init(settings: HTTPGatewaySettings, logger: Logger) {
        self.settings = settings
        self.http = ProviderHTTP(timeout: settings.timeout)
        self.logger = logger
    }

    public func send(_ message: SMSMessage) async -> SMSOutcome {
        let body = HTTPGatewayBody(to: message.to.e164, text: message.text, idempotencyKey: message.idempotencyKey)
        let headers = [
            ("Authorization", "Bearer " + settings.token.value), ("Content-Type", "application/json"),
            ("Accept", "application/json"), ("Idempotency-Key", message.idempotencyKey),
        ]
        let outcome: SMSOutcome
        switch await http.exchange(.POST, settings.url, headers: headers, body: ProviderJSON.encode(body)) {
        case .failure(let failure): outcome = failure.outcome
        case .success(let reply) where (200..<300).contains(reply.status): outcome = Self.accepted(reply.body)
        case .success(let reply):
            outcome = ProviderStatus.outcome(
                reply, invalidNumber: ProviderJSON.mentions(reply.body, fields: ["error", "code"]))
        }
        logger.debug(
            "sms gateway answered",
            metadata: ["gateway": "http", "to": "\(message.to.masked)", "outcome": "\(outcome)"])
        return outcome
    }

    public func shutdown() async { await http.shutdown() }

    /// A 2xx: the relay's `status` and `id` (or `messageId`) if its body is a JSON object with them.
    static func accepted(_ body: [UInt8]) -> SMSOutcome {
        let json = ProviderJSON.value(body)
        let status = json?["status"]?.string.flatMap(ProviderText.token) ?? "accepted"
        let id = json?["id"] ?? json?["messageId"]
        return .accepted(status: status, reference: id?.text.flatMap(ProviderText.reference))
    }
}

private struct HTTPGatewayBody: Encodable {
    let to: String
    let text: String
    let idempotencyKey: String
}

/// One HTTP client per gateway: no redirect followed (a text must not be replayed to another
/// host), no connection retried inside an attempt (the dispatcher retries), every attempt bounded by
/// the gateway's timeout from the connection to the last byte of the answer.
final class ProviderHTTP: Sendable {
    /// What is read of an answer; the rest is dropped (only a status and a few fields matter).
    static let maximumBody = 64 * 1024

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    enum Failure: Error, Equatable {
        case timeout
        case connection

        var outcome: SMSOutcome {
            switch self {
            case .timeout: return .retry(reason: "timeout", after: nil)
            case .connection: return .retry(reason: "connection", after: nil)
            }
        }
    }

    private let client: HTTPClient
    private let timeout: Duration

    init(timeout: Duration) {
        let amount = TimeAmount.nanoseconds(timeout.nanoseconds)
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: amount, read: amount))
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.timeout = timeout
    }

    /// One request and its answer, or why there is none.
    func exchange(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?
    ) async -> Result<Reply, Failure> {
        let client = client
        let timeout = timeout
        do {
            return try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = method
                    request.headers.add(name: "User-Agent", value: "temoin-fanout")
                    for (name, value) in headers { request.headers.add(name: name, value: value) }
                    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
                    let response = try await client.execute(
                        request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
                    var received = [UInt8]()
                    for try await chunk in response.body {
                        received.append(contentsOf: chunk.readableBytesView.prefix(Self.maximumBody - received.count))
                        if received.count >= Self.maximumBody { break }
                    }
                    return Reply(status: Int(response.status.code), headers: response.headers, body: received)
                }
                // The deadline above ends the wait for the head; this one, a body that never ends.
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let reply = first else { return .failure(.timeout) }
                return .success(reply)
            }
        } catch {
            return .failure(Self.classify(error))
        }
    }

    static func classify(_ error: any Error) -> Failure {
        let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .cancelled]
        if let e = error as? HTTPClientError, timeouts.contains(e) { return .timeout }
        if error is CancellationError { return .timeout }
        if let e = error as? ChannelError, case .connectTimeout = e { return .timeout }
        return .connection
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// How a provider's HTTP status becomes an outcome (Docs/fanout.md, "Outcomes").
enum ProviderStatus {
    /// The longest wait a provider can ask for with `Retry-After`.
    static let maximumRetryAfter = Duration.seconds(3600)

    /// A status that is not 2xx. `invalidNumber`: the answer's body says the number is wrong.
    static func outcome(
        _ reply: ProviderHTTP.Reply, invalidNumber: Bool, now: Date = Date()
    ) -> SMSOutcome {
        let code = reply.status
        switch code {
        case 429:
            return .retry(reason: "rate-limited", after: retryAfter(reply.headers.first(name: "Retry-After"), now: now))
        case 408, 425, 500...599:
            return .retry(reason: "http-\(code)", after: retryAfter(reply.headers.first(name: "Retry-After"), now: now))
        case 401, 403: return .rejected(reason: "unauthorized")
        case 400 where invalidNumber, 422 where invalidNumber: return .rejected(reason: "invalid-number")
        case 400...499: return .rejected(reason: "http-\(code)")
        // A redirect (never followed) or anything else: nothing was sent; a moved relay is fixed in its
        // configuration, and until then the text is tried again rather than given up.
        default: return .retry(reason: "http-\(min(max(code, 0), 999))", after: nil)
        }
    }

    /// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3), at most an hour; nil if
    /// absent or unreadable.
    static func retryAfter(_ value: String?, now: Date) -> Duration? {
        guard let raw = value?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard raw.utf8.count <= 9, let seconds = Int64(raw) else { return maximumRetryAfter }
            return min(.seconds(seconds), maximumRetryAfter)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: raw) else { return nil }
        let seconds = max(0, date.timeIntervalSince(now).rounded(.up))
        return min(.seconds(Int64(min(seconds, 3600))), maximumRetryAfter)
    }
}

/// Reading providers' JSON answers: loosely, since only a few fields matter and a provider that
/// changes its body must not turn an accepted text into a failure.
enum ProviderJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, arrays and booleans only: encoding cannot fail.
        return Array(try! encoder.encode(value))
    }

    static func value(_ body: [UInt8]) -> JSONValue? {
        guard !body.isEmpty else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(body))
    }

    /// Whether one of `fields` (top level, or inside an `error` object) mentions one of `words`
    /// (by default, says that the number is wrong).
    static func mentions(
        _ body: [UInt8], fields: [String], words: [String] = ["number", "recipient", "receiver"]
    ) -> Bool {
        guard let json = value(body) else { return false }
        var values = fields.compactMap { json[$0]?.string }
        if let nested = json["error"], case .object = nested {
            values += (fields + ["message"]).compactMap { nested[$0]?.string }
        }
        return values.contains { v in words.contains { v.lowercased().contains($0) } }
    }
}

/// A JSON value as decoded, without Foundation's bridging (where `1` and `true` can be the same
/// number): the kind of each value is the one written.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A string as it is, an integer in decimal (a provider's id can be either).
    var text: String? {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        default: return nil
        }
    }
}

/// Provider words made fit for the ledger.
enum ProviderText {
    /// An entry token (1 to 64 of `a-z 0-9 . _ -`): lowercased, anything else becomes `-`.
    static func token(_ raw: String) -> String? {
        var out = [UInt8]()
        for c in raw.lowercased().unicodeScalars.prefix(64) {
            let ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
            out.append(ok ? UInt8(c.value) : UInt8(ascii: "-"))
        }
        guard out.contains(where: { $0 != UInt8(ascii: "-") }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// An entry text (`provider-ref`): control and bidirectional characters removed, trimmed, at
    /// most 200 characters; nil if nothing is left.
    static func reference(_ raw: String) -> String? {
        let kept = raw.unicodeScalars.filter { c in
            !(c.value < 0x20 || (0x7f...0x9f).contains(c.value) || c.properties.isBidiControl)
        }
        let text = String(String.UnicodeScalarView(kept.prefix(200))).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }
}
