public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import TemoinCore
public import TemoinCrypto
public import TemoinAPI

/// A problem document (RFC 9457) the server sent back.
public struct ServerProblem: Error, Decodable, Sendable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let detail: String
    public var description: String { "HTTP \(status) \(code): \(detail)" }
}

/// What a phone does: signs its statements with its key, uploads with retries, checks every
/// receipt's signature, keeps every checkpoint it sees and checks that each is consistent with
/// the one before (each phone is a small witness of the log), and checks inclusion proofs.
public actor DeviceClient {
    public let server: URL
    public let key: Ed25519PrivateKey
    /// The log key the phone trusts now: the one it was given, or the key that proven log-key
    /// transitions led to from it (Docs/ledger-format.md §3).
    public private(set) var logKey: VerifierKey
    /// Every log key trusted so far, in order, the one given first.
    public private(set) var followedKeys: [VerifierKey]
    public nonisolated let origin: String
    public var device: DeviceID { DeviceID.derive(publicKey: key.publicKey) }
    /// Every distinct checkpoint seen, in order of size.
    public private(set) var checkpoints: [SignedCheckpoint] = []
    /// How long to keep retrying one request (network drops, server restarts).
    public var retryFor: Duration = .seconds(60)
    private let session: URLSession
    private let log: @Sendable (String) -> Void

    public init(
        server: URL, key: Ed25519PrivateKey, logKey: VerifierKey, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.server = server
        self.key = key
        self.logKey = logKey
        followedKeys = [logKey]
        origin = logKey.name
        self.log = log
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        session = URLSession(configuration: configuration)
    }

    public func setRetry(_ d: Duration) { retryFor = d }

    // MARK: Requests

    /// Opens an alert, with an optional first location fix (an RFC 5870 geo URI).
    public func openAlert(
        _ alert: AlertID, openedAt: Timestamp, firstFix: String? = nil
    ) async throws -> ReceiptResponse {
        let statement = try DeviceStatement(kind: .alertOpened, origin: origin, alert: alert, capturedAt: openedAt)
        let fix = try firstFix.map { text -> LocationRequest in
            let s = try DeviceStatement(
                kind: .location, origin: origin, alert: alert, capturedAt: openedAt,
                sha256: SHA256.hash(Array(text.utf8)))
            return LocationRequest(
                capturedAt: openedAt.description, fix: text, signature: Base64.encode(try key.sign(s.bytes)))
        }
        let body = OpenAlertRequest(
            device: device.rawValue, openedAt: openedAt.description,
            signature: Base64.encode(try key.sign(statement.bytes)),
            location: fix)
        return try await send(
            "PUT", "v1/alerts/\(alert)", body: JSONEncoder().encode(body), headers: ["Content-Type": "application/json"]
        )
    }

    public func putChunk(
        _ alert: AlertID, seq: UInt64, wav: [UInt8], capturedAt: Timestamp, isFinal: Bool
    ) async throws -> ReceiptResponse {
        let statement = try DeviceStatement(
            kind: .audioChunk, origin: origin, alert: alert, seq: seq, capturedAt: capturedAt,
            sha256: SHA256.hash(wav))
        let headers = [
            "Content-Type": "audio/wav", ChunkHeader.capturedAt: capturedAt.description,
            ChunkHeader.signature: Base64.encode(try key.sign(statement.bytes)),
            ChunkHeader.final: isFinal ? "true" : "false",
        ]
        return try await send("PUT", "v1/alerts/\(alert)/chunks/\(seq)", body: Data(wav), headers: headers)
    }

    public func addLocation(_ alert: AlertID, fix: String, capturedAt: Timestamp) async throws -> ReceiptResponse {
        let statement = try DeviceStatement(
            kind: .location, origin: origin, alert: alert, capturedAt: capturedAt,
            sha256: SHA256.hash(Array(fix.utf8)))
        let body = LocationRequest(
            capturedAt: capturedAt.description, fix: fix, signature: Base64.encode(try key.sign(statement.bytes)))
        return try await send(
            "POST", "v1/alerts/\(alert)/locations", body: JSONEncoder().encode(body),
            headers: ["Content-Type": "application/json"])
    }

    public func closeAlert(_ alert: AlertID, lastSeq: UInt64, closedAt: Timestamp) async throws -> ReceiptResponse {
        let statement = try DeviceStatement(
            kind: .alertClosed, origin: origin, alert: alert, seq: lastSeq, capturedAt: closedAt)
        return try await send(
            "POST", "v1/alerts/\(alert)/close",
            body: JSONEncoder().encode(
                CloseAlertRequest(
                    closedAt: closedAt.description, lastSeq: lastSeq,
                    signature: Base64.encode(try key.sign(statement.bytes)))),
            headers: ["Content-Type": "application/json"])
    }

    /// A C2SP tlog-proof of an entry, checked against the log key and the receipt's leaf hash.
    public func verifyInclusion(of receipt: ReceiptResponse) async throws -> TlogProof {
        let (data, status) = try await retrying("GET", "v1/proofs/inclusion?index=\(receipt.index)")
        guard status == 200 else { throw try problem(data, status) }
        let proof = try TlogProof(parsing: Array(data))
        try await verifyFollowing { key throws(TemoinError) in try proof.checkpoint.verify(key: key, using: Ed25519()) }
        try witness(proof.checkpoint)
        guard let leaf = Hash(base64: receipt.leafHash) else { throw TemoinError(.receiptBadLeaf, "bad leaf hash") }
        try MerkleVerifier(hasher: SHA256.merkle).verifyInclusion(
            index: proof.index, size: proof.checkpoint.checkpoint.size, leafHash: leaf, proof: proof.path,
            root: proof.checkpoint.checkpoint.root)
        return proof
    }

    // MARK: Checks

    /// Checks a receipt's signature and the checkpoint that came with it.
    func check(_ r: ReceiptResponse) async throws {
        let receipt = try SignedReceipt(parsing: Array(r.receipt.utf8))
        try await verifyFollowing { key throws(TemoinError) in try receipt.verify(key: key, using: Ed25519()) }
        guard receipt.receipt.index == r.index, receipt.receipt.leafHash.base64 == r.leafHash else {
            throw TemoinError(.receiptMismatch, "the receipt does not say what the response says")
        }
        let checkpoint = try SignedCheckpoint(parsing: Array(r.checkpoint.utf8))
        try await verifyFollowing { key throws(TemoinError) in try checkpoint.verify(key: key, using: Ed25519()) }
        guard r.index < checkpoint.checkpoint.size else {
            throw TemoinError(.receiptNotCovered, "the checkpoint does not cover the receipt's entry")
        }
        try await witness(checkpoint, fetchProofs: true)
    }

    /// Checks a signed note (receipt, checkpoint) with the log key held now. A note that key did
    /// not sign may be signed by a newer key of the log: the phone then fetches the log's key
    /// transitions and follows only those it can check from the key it holds, then checks again.
    func verifyFollowing(_ verify: (VerifierKey) throws(TemoinError) -> Void) async throws {
        do {
            try verify(logKey)
        } catch  where error.id == .noteUnsigned {
            try await followKeyTransitions()
            try verify(logKey)
        }
    }

    /// Follows the log-key transitions from the key held (`GET v1/proofs/log-keys`): for each, in
    /// log order, whose checkpoint the held key signed, checks the transition (the `key.rotated`
    /// entry of the log key, in the tree of a checkpoint signed by exactly the held key and the
    /// new one) and that checkpoint's consistency with every checkpoint kept, then trusts the new
    /// key. Throws `transition.missing` if none leads anywhere.
    func followKeyTransitions() async throws {
        let (data, status) = try await retrying("GET", "v1/proofs/log-keys")
        guard status == 200 else { throw try problem(data, status) }
        let response = try JSONDecoder().decode(LogKeyTransitionsResponse.self, from: data)
        var followed = false
        for t in response.transitions {
            guard let entry = Base64.decode(t.entry), let parsed = try? Entry(parsing: entry) else {
                throw TemoinError(.transitionInvalid, "the log sent a key transition whose entry does not parse")
            }
            let proof = try TlogProof(parsing: Array(t.proof.utf8))
            let new = try LogKeyTransition.newKey(of: parsed, origin: origin, hash: SHA256())
            // Transitions before the key held (its own included) are not for this phone.
            let signedByHeld = proof.checkpoint.note.signatures.contains {
                $0.name == logKey.name && $0.keyID == logKey.keyID
            }
            guard proof.index == t.index, signedByHeld, new != logKey, !followedKeys.contains(new) else { continue }
            let key = try LogKeyTransition(entry: entry, proof: proof).verify(
                from: logKey, hasher: SHA256.merkle, ed25519: Ed25519())
            try await witness(proof.checkpoint, fetchProofs: true)
            log("log key \(logKey.keyIDHex) → \(key.keyIDHex) (key.rotated, entry \(t.index))")
            logKey = key
            followedKeys.append(key)
            followed = true
        }
        guard followed else {
            throw TemoinError(
                .transitionMissing,
                "the log signs with a key this phone does not hold, and no proven transition leads to it from key "
                    + "\(logKey.keyIDHex)")
        }
    }

    /// Keeps a checkpoint and checks it is consistent with the largest smaller one seen.
    func witness(_ c: SignedCheckpoint) throws {
        guard !checkpoints.contains(c) else { return }
        checkpoints.append(c)
        checkpoints.sort { $0.checkpoint.size < $1.checkpoint.size }
    }

    private func witness(_ c: SignedCheckpoint, fetchProofs: Bool) async throws {
        guard !checkpoints.contains(c) else { return }
        let previous = checkpoints.last { $0.checkpoint.size <= c.checkpoint.size }
        if let p = previous?.checkpoint {
            if p.size == c.checkpoint.size {
                guard p.root == c.checkpoint.root else {
                    throw TemoinError(
                        .logForked, "two checkpoints of size \(p.size) with different roots: the log forked")
                }
            } else if p.size > 0 {
                let (data, status) = try await retrying(
                    "GET", "v1/proofs/consistency?first=\(p.size)&second=\(c.checkpoint.size)")
                guard status == 200 else { throw try problem(data, status) }
                let object = try JSONDecoder().decode([String: String].self, from: data)
                let hashes = (object["proof"] ?? "").split(separator: " ").compactMap { Hash(base64: $0) }
                try MerkleVerifier(hasher: SHA256.merkle).verifyConsistency(
                    first: p.size, second: c.checkpoint.size, firstRoot: p.root, secondRoot: c.checkpoint.root,
                    proof: hashes)
            }
        }
        try witness(c)
    }

    // MARK: HTTP

    /// Sends a request until it gets an answer that is not a transient failure, then checks it.
    private func send(
        _ method: String, _ path: String, body: Data, headers: [String: String]
    ) async throws -> ReceiptResponse {
        let (data, status) = try await retrying(method, path, body: body, headers: headers)
        guard status == 200 || status == 201 || status == 409 else { throw try problem(data, status) }
        let r = try JSONDecoder().decode(ReceiptResponse.self, from: data)
        try await check(r)
        return r
    }

    /// Repeats a request through network failures, 429 and 5xx answers, with exponential backoff
    /// (100 ms to 5 s), for at most `retryFor`. Every request of the API is idempotent.
    func retrying(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> (Data, Int) {
        let deadline = ContinuousClock.now + retryFor
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let (data, status) = try await fetch(method, path, body: body, headers: headers)
                if status != 429 && status < 500 { return (data, status) }
                log("retrying \(method) \(path): \(try problem(data, status))")
            } catch let error as URLError {
                log("retrying \(method) \(path): \(error.code)")
            }
            guard ContinuousClock.now + delay < deadline else {
                throw TemoinError(.deviceGaveUp, "the server did not answer \(method) \(path) in time")
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    func fetch(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> (Data, Int) {
        var request = URLRequest(
            url: server.appendingPathComponent(path.split(separator: "?").first.map(String.init) ?? path))
        if let q = path.split(separator: "?", maxSplits: 1).dropFirst().first {
            request.url = URL(string: request.url!.absoluteString + "?" + q)
        }
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    }

    func problem(_ data: Data, _ status: Int) throws -> ServerProblem {
        (try? JSONDecoder().decode(ServerProblem.self, from: data))
            ?? ServerProblem(
                status: status, code: "http.\(status)", detail: String(decoding: data.prefix(200), as: UTF8.self))
    }
}
