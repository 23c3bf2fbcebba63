import Foundation
import HTTPTypes
import Logging
package import TemoinCore
import TemoinCrypto
package import TemoinLedger

/// What the phone sends to open an alert (`PUT /v1/alerts/{alert}`).
package struct OpenAlertRequest: Decodable {
    package let device: String
    package let openedAt: String
    package let signature: String
    /// An optional first location fix, with its own signed statement.
    package let location: LocationRequest?
}

/// A location fix (`POST /v1/alerts/{alert}/locations`); `fix` is an RFC 5870 geo URI.
package struct LocationRequest: Decodable {
    package let capturedAt: String
    package let fix: String
    package let signature: String
}

/// The end of an alert (`POST /v1/alerts/{alert}/close`).
package struct CloseAlertRequest: Decodable {
    package let closedAt: String
    package let lastSeq: UInt64
    package let signature: String
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
package struct DeviceService: Sendable {
    let writer: LedgerWriter
    let ingestor: AudioIngestor
    let limiter: RateLimiter
    let metrics: ServiceMetrics
    let configuration: ServiceConfiguration

    package static func parseAlert(_ text: String) throws(TemoinError) -> String {
        guard EntryFieldType.id128.accepts(text) else {
            throw TemoinError(.usage, code: "alert.bad-id", "alert ids are 128 random bits as 32 lowercase hex digits")
        }
        return text
    }

    package static func parseTime(_ text: String, _ what: String) throws(TemoinError) -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else {
            throw TemoinError(.usage, code: "time.bad", "\(what) must read YYYY-MM-DDTHH:MM:SS.mmmZ (UTC)")
        }
        return t
    }

    package static func parseSignature(_ text: String) throws(TemoinError) -> [UInt8] {
        guard let s = Base64.decode(text), s.count == 64 else {
            throw TemoinError(.usage, code: "statement.bad-signature-encoding", "the signature must be 64 bytes in base64")
        }
        return s
    }

    /// Checks the device's signature over each statement, then the device's rate limit. Only a
    /// verified device is counted: requests with made-up ids or forged signatures leave no state
    /// and cannot spend a real phone's quota.
    func verify(_ statements: [(DeviceStatement, [UInt8])], device: String) async throws {
        guard let key = try await writer.deviceKey(device: device) else {
            throw TemoinError(.usage, code: "device.unknown", "this device is not enrolled")
        }
        for (statement, signature) in statements {
            guard Ed25519().isValid(signature: signature, of: statement.bytes, publicKey: key) else {
                throw TemoinError(.usage, code: "statement.bad-signature", "the device signature does not verify; nothing was stored")
            }
        }
        guard await limiter.allow(device) else {
            throw TemoinError(.usage, code: "rate.limited", "too many requests from this device; retry shortly")
        }
    }

    func verify(_ statement: DeviceStatement, signature: [UInt8], device: String) async throws {
        try await verify([(statement, signature)], device: device)
    }

    /// A sequence number from outside: 0 to `DeviceStatement.maximumSequence`.
    package static func parseSequence(_ value: UInt64, _ what: String) throws(TemoinError) -> UInt64 {
        guard value <= DeviceStatement.maximumSequence else {
            throw TemoinError(.usage, code: "chunk.bad-seq", "\(what) is a decimal from 0 to \(DeviceStatement.maximumSequence)")
        }
        return value
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

    func response(_ a: Appended) async throws -> (created: Bool, ReceiptResponse) {
        (a.isNew, try await response(a.isNew ? "appended" : "duplicate", a))
    }

    /// Opens an alert, with its first location if the phone sent one: both statements are
    /// verified first, then both entries are committed together or not at all. Opening it again
    /// with the same statement is harmless (the same receipt); another statement is a conflict.
    func open(alert: String, _ r: OpenAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let (opening, location) = try Self.openingDraft(alert: alert, origin: writer.origin, r)
        try await verify([(opening.statement, opening.signature)] + (location.map { [($0.statement, $0.signature)] } ?? []), device: r.device)
        let appended = try await writer.append(group: [opening.draft] + (location.map { [$0.draft] } ?? []))
        return try await response(appended[0])
    }

    /// An open-alert body read without the ledger: the statements the device must have signed
    /// and the drafts of the entries (the opening, and the first fix if any).
    package static func openingDraft(alert: String, origin: String, _ r: OpenAlertRequest) throws(TemoinError)
        -> (opening: (statement: DeviceStatement, signature: [UInt8], draft: EntryDraft),
            location: (statement: DeviceStatement, signature: [UInt8], draft: EntryDraft)?) {
        let openedAt = try parseTime(r.openedAt, "openedAt")
        let signature = try parseSignature(r.signature)
        guard EntryFieldType.id128.accepts(r.device) else { throw TemoinError(.usage, code: "device.unknown", "this device is not enrolled") }
        let statement = try DeviceStatement(kind: .alertOpened, origin: origin, alert: alert, capturedAt: openedAt)
        let location = try r.location.map { l throws(TemoinError) in try locationDraft(alert: alert, origin: origin, l) }
        var opened = EntryDraft(kind: .alertOpened, [
            ("alert", alert), ("device", r.device), ("opened-at", openedAt.description), ("statement-sig", Base64.encode(signature)),
        ])
        opened.idempotency = .sameFields(["device", "opened-at"], exclusive: true)
        return ((statement, signature, opened), location)
    }

    /// Stores a chunk: verified, then in order (early ones wait, late ones are accepted).
    func putChunk(alert: String, device: String, seq: UInt64, body: [UInt8], format: OriginalFormat, capturedAt: Timestamp,
                  signature: [UInt8], isFinal: Bool) async throws -> (status: HTTPResponse.Status, ReceiptResponse) {
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

    /// A location fix: validated as an RFC 5870 geo URI, its statement built, its draft ready
    /// (a salted commitment in the ledger, the fix itself in the erasable table).
    package static func locationDraft(alert: String, origin: String, _ r: LocationRequest) throws(TemoinError)
        -> (statement: DeviceStatement, signature: [UInt8], draft: EntryDraft) {
        let capturedAt = try parseTime(r.capturedAt, "capturedAt")
        let signature = try parseSignature(r.signature)
        let fix = try GeoURI(parsing: r.fix)
        let fixBytes = Array(fix.text.utf8)
        let statement = try DeviceStatement(kind: .location, origin: origin, alert: alert, capturedAt: capturedAt,
                                            sha256: SHA256.hash(fixBytes))
        var g = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        var draft = EntryDraft(kind: .location, [
            ("alert", alert), ("captured-at", capturedAt.description), ("commitment", SHA256.hash(salt + fixBytes).hex),
            ("statement-sig", Base64.encode(signature)),
        ])
        draft.sideRow = .location(salt: salt, fix: fix.text)
        // The same signed fix posted again is the same statement: one entry, the same receipt.
        draft.idempotency = .sameFields(["statement-sig"], exclusive: false)
        return (statement, signature, draft)
    }

    func addLocation(alert: String, _ r: LocationRequest) async throws -> (created: Bool, ReceiptResponse) {
        let device = try await device(of: alert)
        let location = try Self.locationDraft(alert: alert, origin: writer.origin, r)
        try await verify(location.statement, signature: location.signature, device: device)
        return try await response(writer.append(location.draft))
    }

    /// Closes an alert: the chunks up to `lastSeq` that never came are recorded missing first.
    /// An alert is closed once: a repeated (or concurrent) close gets the entry already stored.
    func close(alert: String, _ r: CloseAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let device = try await device(of: alert)
        let closing = try Self.closingDraft(alert: alert, origin: writer.origin, r)
        try await verify(closing.statement, signature: closing.signature, device: device)
        try await ingestor.recordMissing(alert: alert, through: closing.lastSeq, reason: "closed")
        return try await response(writer.append(closing.draft))
    }

    /// A close body read without the ledger: the statement the device must have signed and the draft.
    package static func closingDraft(alert: String, origin: String, _ r: CloseAlertRequest) throws(TemoinError)
        -> (statement: DeviceStatement, signature: [UInt8], lastSeq: UInt64, draft: EntryDraft) {
        let closedAt = try parseTime(r.closedAt, "closedAt")
        let signature = try parseSignature(r.signature)
        let lastSeq = try parseSequence(r.lastSeq, "lastSeq")
        let statement = try DeviceStatement(kind: .alertClosed, origin: origin, alert: alert, seq: lastSeq, capturedAt: closedAt)
        var draft = EntryDraft(kind: .alertClosed, [
            ("alert", alert), ("closed-by", "device"), ("reason", "released"), ("closed-at", closedAt.description),
            ("last-seq", String(lastSeq)), ("statement-sig", Base64.encode(signature)),
        ])
        draft.idempotency = .oncePerAlert
        return (statement, signature, lastSeq, draft)
    }

    /// Closes alerts open longer than the limit (closed-by server, reason timeout).
    func closeExpiredAlerts(now: Timestamp, logger: Logger) async {
        do {
            for alert in try await writer.openAlerts() {
                guard let opening = try await writer.opening(alert: alert)?.parsed(),
                      now.millisecondsSinceEpoch - opening.time.millisecondsSinceEpoch > Int64(configuration.maximumAlertSeconds) * 1000 else { continue }
                let next = try await ingestor.nextSequence(alert: alert)
                var draft = EntryDraft(kind: .alertClosed, [
                    ("alert", alert), ("closed-by", "server"), ("reason", "timeout"), ("closed-at", now.description),
                    ("last-seq", String(next == 0 ? 0 : next - 1)), ("statement-sig", "none"),
                ])
                draft.idempotency = .oncePerAlert
                _ = try await writer.append(draft)
                logger.info("alert closed by the server after its time limit", metadata: ["alert": "\(alert)"])
            }
        } catch {
            logger.error("closing expired alerts failed", metadata: ["error": "\(error)"])
        }
    }
}
