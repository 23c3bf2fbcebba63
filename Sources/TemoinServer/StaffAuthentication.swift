import Foundation
import HTTPTypes
import Hummingbird
import Logging
package import TemoinCore
import TemoinCrypto
import TemoinLedger

/// Staff bearer tokens: `tmn_` and 43 characters of base64url (256 random bits). Only the SHA-256
/// of a token is stored; the token is shown once, when its account is created.
package enum StaffToken {
    package static let prefix = "tmn_"

    package static func generate() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let base64 = Base64.encode(bytes).replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return prefix + base64
    }

    package static func hash(_ token: String) -> Hash { SHA256.hash(Array(token.utf8)) }

    /// A fresh 128-bit pseudonymous id (accounts).
    package static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })
    }
}

/// Failed authentications across all clients: a bucket of `burst` that refills at `perMinute`.
/// A valid token is never slowed by it (it is checked first), so guessing cannot lock staff out;
/// past the limit a failure is answered 429 without a log line (the counter still counts it).
actor AuthenticationFailures {
    private var buckets: TokenBuckets<String>

    init(perMinute: Int, burst: Int) {
        buckets = TokenBuckets(capacity: Double(burst), perSecond: Double(perMinute) / 60, maximumKeys: 1)
    }

    /// True while failures are under the limit (and counts this one).
    func admit() -> Bool { buckets.take("all", 1) == nil }
}

/// Requests per staff account: a bucket of `perMinute` that refills continuously. Every staff
/// request that reaches the ledger appends an entry; this bounds how fast one account (or a
/// stolen token) can grow the log, and a browser seeking through a recording stays far below it.
actor StaffRequestLimiter {
    private var buckets: TokenBuckets<String>

    init(perMinute: Int) {
        buckets = TokenBuckets(capacity: Double(perMinute), perSecond: Double(perMinute) / 60, maximumKeys: 10_000)
    }

    /// Nil if the account may make one more request now, else the seconds to wait.
    func admit(_ account: String) -> Double? { buckets.take(account, 1) }
}

/// Who a staff request comes from: the account of its bearer token, checked on every request
/// against the database (a revoked token stops working at once, even one revoked by the command
/// line while the service runs).
struct StaffAuthenticator: Sendable {
    let reader: LedgerReader
    let failures: AuthenticationFailures
    let perAccount: StaffRequestLimiter
    let metrics: ServiceMetrics
    let logger: Logger

    func authenticate(_ request: Request) async throws -> StaffAccount {
        try await authenticate(
            authorization: request.headers[.authorization], method: request.method.rawValue, path: request.uri.path)
    }

    /// The same check for an `Authorization` value given another way (the console's sign-in form).
    func authenticate(authorization: String?, method: String, path: String) async throws -> StaffAccount {
        let outcome: String
        if let header = authorization {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer", parts[1].utf8.count <= 512 {
                if let account = try reader.account(tokenHash: StaffToken.hash(String(parts[1]))) {
                    if !account.isRevoked {
                        if let wait = await perAccount.admit(account.id) {
                            throw Problem(
                                status: .tooManyRequests, code: .rateLimited,
                                detail: "too many requests from this account; nothing was recorded or served",
                                retryAfter: Int(wait.rounded(.up)))
                        }
                        return account
                    }
                    outcome = "revoked account \(account.id)"
                } else {
                    outcome = "unknown token"
                }
            } else {
                outcome = "malformed Authorization header"
            }
        } else {
            outcome = "no token"
        }
        metrics.staffAuthFailures.increment()
        guard await failures.admit() else {
            throw Problem(
                status: .tooManyRequests, code: .staffTooManyFailures,
                detail: "too many failed authentications; retry later", retryAfter: 10)
        }
        // Never the token itself: only why it failed and where.
        logger.notice(
            "staff authentication failed",
            metadata: ["reason": "\(outcome)", "method": "\(method)", "path": "\(path)"])
        throw TemoinError(.staffUnauthorized, "this needs a valid staff token (Authorization: Bearer …)")
    }

    /// The account of a console session, looked up on every request: nil once it is revoked, so
    /// that a revocation ends its sessions at once. Rate-limited like a token's requests.
    func account(id: String) async throws -> StaffAccount? {
        guard let account = try reader.accounts().first(where: { $0.id == id }), !account.isRevoked else {
            return nil
        }
        if let wait = await perAccount.admit(account.id) {
            throw Problem(
                status: .tooManyRequests, code: .rateLimited,
                detail: "too many requests from this account; nothing was recorded or served",
                retryAfter: Int(wait.rounded(.up)))
        }
        return account
    }
}
