import Foundation
import HTTPTypes
import Logging
import TemoinCore
import TemoinCrypto
import TemoinLedger

/// What the phone sends to open an alert (`PUT /v1/alerts/{alert}`).
struct OpenAlertRequest: Decodable {
    let device: String
    let openedAt: String
    let signature: String
    /// An optional first location fix, with its own signed statement.
    let location: LocationRequest?
}

/// A location fix (`POST /v1/alerts/{alert}/locations`); `fix` is an RFC 5870 geo URI.
struct LocationRequest: Decodable {
    let capturedAt: String
    let fix: String
    let signature: String
}

/// The end of an alert (`POST /v1/alerts/{alert}/close`).
struct CloseAlertRequest: Decodable {
    let closedAt: String
    let lastSeq: UInt64
    let signature: String
}

/// The answer to every accepted device request.
struct ReceiptResponse: Encodable {
    /// `appended`, `duplicate` (already stored: same receipt) or `conflict` (quarantined, recorded).
    let status: String
    let index: UInt64
    let leafHash: String
    /// The signed receipt (temoin/receipt/v1), byte for byte.
    let receipt: String
    /// A signed checkpoint that covers the entry.
    let checkpoint: String
    /// For a conflict: the entry of the chunk that was kept.
    let keptIndex: UInt64?
}

/// The device API: every statement verified against the enrolled key before anything is stored,
/// every answer a signed receipt given only after the entry is durable.
struct DeviceService: Sendable {
    let writer: LedgerWriter
    let ingestor: AudioIngestor
    let limiter: RateLimiter
    let metrics: ServiceMetrics
    let configuration: ServiceConfiguration

    static func parseAlert(_ text: String) throws(TemoinError) -> String {
        guard EntryFieldType.id128.accepts(text) else {
            throw TemoinError(.usage, code: "alert.bad-id", "alert ids are 128 random bits as 32 lowercase hex digits")
        }
        return text
    }

    static func parseTime(_ text: String, _ what: String) throws(TemoinError) -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else {
            throw TemoinError(.usage, code: "time.bad", "\(what) must read YYYY-MM-DDTHH:MM:SS.mmmZ (UTC)")
        }
        return t
    }

    static func parseSignature(_ text: String) throws(TemoinError) -> [UInt8] {
        guard let s = Base64.decode(text), s.count == 64 else {
            throw TemoinError(.usage, code: "statement.bad-signature-encoding", "the signature must be 64 bytes in base64")
        }
        return s
    }

    /// Checks the rate limit, then the device's signature over `statement`.
    func verify(_ statement: DeviceStatement, signature: [UInt8], device: String) async throws {
        guard await limiter.allow(device) else {
            throw TemoinError(.usage, code: "rate.limited", "too many requests from this device; retry shortly")
        }
        guard let key = try await writer.deviceKey(device: device) else {
            throw TemoinError(.usage, code: "device.unknown", "this device is not enrolled")
        }
        guard Ed25519().isValid(signature: signature, of: statement.bytes, publicKey: key) else {
            throw TemoinError(.usage, code: "statement.bad-signature", "the device signature does not verify; nothing was stored")
        }
    }

    /// The device an alert belongs to, from its `alert.opened` entry.
    func device(of alert: String) async throws -> String {
        guard let opening = try await writer.opening(alert: alert), let device = try opening.parsed()["device"] else {
            throw TemoinError(.usage, code: "alert.unknown", "alert \(alert) was never opened")
        }
        return device
    }

    func response(_ status: String, _ stored: StoredEntry, keptIndex: UInt64? = nil) async throws -> ReceiptResponse {
        let receipt = try await writer.receipt(for: stored)
        guard let checkpoint = await writer.checkpoint else { throw TemoinError(.environment, code: "ledger.no-checkpoint", "no checkpoint yet") }
        await metrics.ledgerSize.set(Double(writer.size))
        return ReceiptResponse(status: status, index: stored.index, leafHash: stored.leafHash.base64,
                               receipt: String(decoding: receipt.bytes, as: UTF8.self),
                               checkpoint: String(decoding: checkpoint.bytes, as: UTF8.self), keptIndex: keptIndex)
    }

    func response(_ status: String, _ a: Appended, keptIndex: UInt64? = nil) async throws -> ReceiptResponse {
        try await response(status, StoredEntry(index: a.index, leafHash: a.leafHash, bytes: a.entry.bytes), keptIndex: keptIndex)
    }

    /// Opens an alert; opening it again with the same statement is harmless (same receipt).
    func open(alert: String, _ r: OpenAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let openedAt = try Self.parseTime(r.openedAt, "openedAt")
        let signature = try Self.parseSignature(r.signature)
        guard EntryFieldType.id128.accepts(r.device) else { throw TemoinError(.usage, code: "device.unknown", "this device is not enrolled") }
        let statement = try DeviceStatement(kind: .alertOpened, origin: writer.origin, alert: alert, capturedAt: openedAt)
        try await verify(statement, signature: signature, device: r.device)
        if let existing = try await writer.opening(alert: alert) {
            let e = try existing.parsed()
            guard e["device"] == r.device, e["opened-at"] == openedAt.description else {
                throw TemoinError(.usage, code: "alert.conflict", "alert \(alert) was already opened with another statement")
            }
            return (false, try await response("duplicate", existing))
        }
        if let location = r.location {
            // Checked before anything is stored, so a bad fix does not leave a half-opened alert.
            _ = try Self.parseTime(location.capturedAt, "location.capturedAt")
            _ = try Self.parseSignature(location.signature)
        }
        let appended = try await writer.append(EntryDraft(kind: .alertOpened, [
            ("alert", alert), ("device", r.device), ("opened-at", openedAt.description), ("statement-sig", Base64.encode(signature)),
        ]))
        if let location = r.location { _ = try await addLocation(alert: alert, location) }
        return (true, try await response("appended", appended))
    }

    /// Stores a chunk: verified, then in order (early ones wait, late ones are accepted).
    func putChunk(alert: String, seq: UInt64, body: [UInt8], format: OriginalFormat, capturedAt: Timestamp,
                  signature: [UInt8], isFinal: Bool) async throws -> (status: HTTPResponse.Status, ReceiptResponse) {
        let device = try await device(of: alert)
        let statement = try DeviceStatement(kind: .audioChunk, origin: writer.origin, alert: alert, seq: seq,
                                            capturedAt: capturedAt, sha256: SHA256.hash(body))
        try await verify(statement, signature: signature, device: device)
        metrics.chunkBytes.increment(by: Int64(body.count))
        let start = ContinuousClock.now
        let outcome = try await ingestor.submit(ChunkUpload(alert: alert, seq: seq, captureStart: capturedAt, original: body,
                                                            format: format, statementSignature: signature, isFinal: isFinal))
        switch outcome {
        case .appended(let a):
            metrics.chunksAppended.increment()
            metrics.commitLatency.record(ContinuousClock.now - start)
            return (.created, try await response("appended", a))
        case .duplicate(let stored):
            metrics.chunksDuplicate.increment()
            return (.ok, try await response("duplicate", stored))
        case .conflict(let kept, let recorded):
            metrics.chunksConflict.increment()
            return (.conflict, try await response("conflict", recorded, keptIndex: kept.index))
        }
    }

    func addLocation(alert: String, _ r: LocationRequest) async throws -> ReceiptResponse {
        let device = try await device(of: alert)
        let capturedAt = try Self.parseTime(r.capturedAt, "capturedAt")
        let signature = try Self.parseSignature(r.signature)
        guard r.fix.hasPrefix("geo:"), (5...256).contains(r.fix.utf8.count), r.fix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw TemoinError(.usage, code: "location.bad-fix", "the fix must be an RFC 5870 geo URI (geo:lat,lon;u=accuracy)")
        }
        let fixBytes = Array(r.fix.utf8)
        let statement = try DeviceStatement(kind: .location, origin: writer.origin, alert: alert, capturedAt: capturedAt,
                                            sha256: SHA256.hash(fixBytes))
        try await verify(statement, signature: signature, device: device)
        var g = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        var draft = EntryDraft(kind: .location, [
            ("alert", alert), ("captured-at", capturedAt.description), ("commitment", SHA256.hash(salt + fixBytes).hex),
            ("statement-sig", Base64.encode(signature)),
        ])
        draft.sideRow = .location(salt: salt, fix: r.fix)
        return try await response("appended", writer.append(draft))
    }

    /// Closes an alert: the chunks up to `lastSeq` that never came are recorded missing first.
    func close(alert: String, _ r: CloseAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let device = try await device(of: alert)
        let closedAt = try Self.parseTime(r.closedAt, "closedAt")
        let signature = try Self.parseSignature(r.signature)
        let statement = try DeviceStatement(kind: .alertClosed, origin: writer.origin, alert: alert, seq: r.lastSeq, capturedAt: closedAt)
        try await verify(statement, signature: signature, device: device)
        if let closed = try await writer.alertEntries(alert).first(where: { $0.1.kind == .alertClosed }) {
            return (false, try await response("duplicate", closed.0))
        }
        try await ingestor.recordMissing(alert: alert, through: r.lastSeq, reason: "closed")
        let appended = try await writer.append(EntryDraft(kind: .alertClosed, [
            ("alert", alert), ("closed-by", "device"), ("reason", "released"), ("closed-at", closedAt.description),
            ("last-seq", String(r.lastSeq)), ("statement-sig", Base64.encode(signature)),
        ]))
        return (true, try await response("appended", appended))
    }

    /// Closes alerts open longer than the limit (closed-by server, reason timeout).
    func closeExpiredAlerts(now: Timestamp, logger: Logger) async {
        do {
            for alert in try await writer.openAlerts() {
                guard let opening = try await writer.opening(alert: alert)?.parsed(),
                      now.millisecondsSinceEpoch - opening.time.millisecondsSinceEpoch > Int64(configuration.maximumAlertSeconds) * 1000 else { continue }
                let next = try await ingestor.nextSequence(alert: alert)
                _ = try await writer.append(EntryDraft(kind: .alertClosed, [
                    ("alert", alert), ("closed-by", "server"), ("reason", "timeout"), ("closed-at", now.description),
                    ("last-seq", String(next == 0 ? 0 : next - 1)), ("statement-sig", "none"),
                ]))
                logger.info("alert closed by the server after its time limit", metadata: ["alert": "\(alert)"])
            }
        } catch {
            logger.error("closing expired alerts failed", metadata: ["error": "\(error)"])
        }
    }
}
