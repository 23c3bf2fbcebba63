import Foundation
import HTTPTypes
import Logging
package import TemoinCore
import TemoinCrypto
package import TemoinLedger
import TemoinIngest
package import TemoinAPI

/// The device API: every statement verified against the enrolled key before anything is stored,
/// every answer a signed receipt given only after the entry is durable.
package struct DeviceService: Sendable {
    let writer: LedgerWriter
    let ingestor: AudioIngestor
    /// The read side: lookups never queue behind the writer's commits.
    var reader: LedgerReader { ingestor.reader }
    let limiter: RateLimiter
    let quota: ByteQuota
    let metrics: ServiceMetrics
    let configuration: ServiceConfiguration
    /// The last few recordings built for staff (dropped when an alert is erased).
    let recordings = RecordingCache()
    /// Where the retention sweep stopped reading closings, and the alerts it must look at again.
    let retention = RetentionState()
    /// Blob deletions of erasures run here, off the cooperative pool, at low priority.
    let erasing = BlockingIO(threads: 1, name: "temoin-erase", niceness: 10)

    /// An alert id from a request path: parsed here, once (`alert.bad-id`, 400).
    package static func parseAlert(_ text: some StringProtocol) throws(TemoinError) -> AlertID {
        guard let alert = AlertID(text) else {
            throw TemoinError(.alertBadID, "alert ids are 128 random bits as 32 lowercase hex digits")
        }
        return alert
    }

    /// A device id from a request body: parsed here, once. An id that cannot be one is answered
    /// like an id that is not enrolled (`device.unknown`, 403).
    package static func parseDevice(_ text: some StringProtocol) throws(TemoinError) -> DeviceID {
        guard let device = DeviceID(text) else { throw TemoinError(.deviceUnknown, "this device is not enrolled") }
        return device
    }

    package static func parseTime(_ text: String, _ what: String) throws(TemoinError) -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else {
            throw TemoinError(.timeBad, "\(what) must read YYYY-MM-DDTHH:MM:SS.mmmZ (UTC)")
        }
        return t
    }

    package static func parseSignature(_ text: String) throws(TemoinError) -> [UInt8] {
        guard let s = Base64.decode(text), s.count == 64 else {
            throw TemoinError(.statementBadSignatureEncoding, "the signature must be 64 bytes in base64")
        }
        return s
    }

    /// Checks the device's signature over each statement, then the device's rate limit. Only a
    /// verified device is counted: requests with made-up ids or forged signatures leave no state
    /// and cannot spend a real phone's quota.
    func verify(_ statements: [(DeviceStatement, [UInt8])], device: DeviceID) async throws {
        guard let (key, revoked) = try reader.deviceCredential(device: device) else {
            throw TemoinError(.deviceUnknown, "this device is not enrolled")
        }
        guard !revoked else {
            throw TemoinError(.deviceRevoked, "this device was revoked: its statements are refused")
        }
        for (statement, signature) in statements {
            guard Ed25519().isValid(signature: signature, of: statement.bytes, publicKey: key) else {
                throw TemoinError(.statementBadSignature, "the device signature does not verify; nothing was stored")
            }
        }
        guard await limiter.allow(device) else {
            throw TemoinError(.rateLimited, "too many requests from this device; retry shortly")
        }
    }

    func verify(_ statement: DeviceStatement, signature: [UInt8], device: DeviceID) async throws {
        try await verify([(statement, signature)], device: device)
    }

    /// A sequence number from outside: 0 to `DeviceStatement.maximumSequence`.
    package static func parseSequence(_ value: UInt64, _ what: String) throws(TemoinError) -> UInt64 {
        guard value <= DeviceStatement.maximumSequence else {
            throw TemoinError(.chunkBadSeq, "\(what) is a decimal from 0 to \(DeviceStatement.maximumSequence)")
        }
        return value
    }

    /// The device an alert belongs to, from its `alert.opened` entry.
    func device(of alert: AlertID) async throws -> DeviceID {
        guard let opening = try reader.opening(alert: alert), let device = try opening.parsed().device else {
            throw TemoinError(.alertUnknown, "alert \(alert) was never opened")
        }
        return device
    }

    /// The answer for an entry found already stored (a retry, a conflict): its receipt and the
    /// latest checkpoint, both from the read side.
    func response(_ status: String, _ stored: StoredEntry, keptIndex: UInt64? = nil) throws -> ReceiptResponse {
        response(
            status, stored, receipt: try writer.receipt(for: stored), checkpoint: try reader.latestCheckpoint(),
            keptIndex: keptIndex)
    }

    /// The answer for what the writer returned: everything is in `a`, no further call.
    func response(_ status: String, _ a: Appended, keptIndex: UInt64? = nil) throws -> ReceiptResponse {
        metrics.ledgerSize.set(Double(a.checkpoint.checkpoint.size))
        return response(status, a.stored, receipt: try a.receipt(), checkpoint: a.checkpoint, keptIndex: keptIndex)
    }

    func response(
        _ status: String, _ stored: StoredEntry, receipt: SignedReceipt, checkpoint: SignedCheckpoint,
        keptIndex: UInt64?
    ) -> ReceiptResponse {
        ReceiptResponse(
            status: status, index: stored.index, leafHash: stored.leafHash.base64,
            receipt: String(decoding: receipt.bytes, as: UTF8.self),
            checkpoint: String(decoding: checkpoint.bytes, as: UTF8.self), keptIndex: keptIndex)
    }

    func response(_ a: Appended) throws -> (created: Bool, ReceiptResponse) {
        (a.isNew, try response(a.isNew ? "appended" : "duplicate", a))
    }

    /// Opens an alert, with its first location if the phone sent one: both statements are
    /// verified first, then both entries are committed together or not at all. Opening it again
    /// with the same statement is harmless (the same receipt); another statement is a conflict.
    func open(alert: AlertID, _ r: OpenAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let (opening, location) = try Self.openingDraft(alert: alert, origin: writer.origin, r)
        try await verify(
            [(opening.statement, opening.signature)] + (location.map { [($0.statement, $0.signature)] } ?? []),
            device: opening.device)
        let appended = try await writer.append(group: [opening.draft] + (location.map { [$0.draft] } ?? []))
        return try response(appended[0])
    }

    /// An open-alert body read without the ledger: the statements the device must have signed
    /// and the drafts of the entries (the opening, and the first fix if any).
    package static func openingDraft(
        alert: AlertID, origin: String, _ r: OpenAlertRequest
    ) throws(TemoinError)
        -> (
            opening: (statement: DeviceStatement, signature: [UInt8], device: DeviceID, draft: EntryDraft),
            location: (statement: DeviceStatement, signature: [UInt8], draft: EntryDraft)?
        )
    {
        let openedAt = try parseTime(r.openedAt, "openedAt")
        let signature = try parseSignature(r.signature)
        let device = try parseDevice(r.device)
        let statement = try DeviceStatement(kind: .alertOpened, origin: origin, alert: alert, capturedAt: openedAt)
        let location = try r.location.map { l throws(TemoinError) in try locationDraft(alert: alert, origin: origin, l)
        }
        var opened = EntryDraft(
            kind: .alertOpened, alert: alert, device: device,
            [
                ("opened-at", openedAt.description),
                ("statement-sig", Base64.encode(signature)),
            ])
        opened.idempotency = .sameFields(["device", "opened-at"], exclusive: true)
        return ((statement, signature, device, opened), location)
    }

    /// Stores a chunk: verified, then in order (early ones wait, late ones are accepted).
    func putChunk(
        alert: AlertID, device: DeviceID, seq: UInt64, body: [UInt8], format: OriginalFormat, capturedAt: Timestamp,
        signature: [UInt8], isFinal: Bool, timing: ChunkTiming = ChunkTiming()
    ) async throws -> (status: HTTPResponse.Status, ReceiptResponse) {
        try await timing.measure(.verify) {
            let statement = try DeviceStatement(
                kind: .audioChunk, origin: writer.origin, alert: alert, seq: seq,
                capturedAt: capturedAt, sha256: SHA256.hash(body))
            try await verify(statement, signature: signature, device: device)
        }
        // The device's storage quota, counted after verification and before anything is stored;
        // a request that stores nothing gives its bytes back.
        var charged = body.count
        if let wait = await quota.reserve(device, bytes: body.count) {
            // Over the quota, a retry of what is already stored is still answered (it stores nothing).
            let hash = SHA256.hash(body)
            let isStored = try reader.chunkEntry(alert: alert, seq: seq)?.parsed().hash("original-sha256") == hash
            let isRecorded =
                try reader.conflictEntry(alert: alert, seq: seq, originalSHA256: hash, origin: writer.origin) != nil
            guard isStored || isRecorded else {
                throw Problem(
                    status: .tooManyRequests, code: .quotaDeviceBytes,
                    detail:
                        "this device is over its storage quota (\(configuration.deviceBytesPerHour) bytes an hour); "
                        + "nothing was stored; retry in \(wait) s",
                    retryAfter: wait)
            }
            charged = 0
        }
        metrics.chunkBytes.increment(by: Int64(body.count))
        let start = ContinuousClock.now
        let outcome: IngestOutcome
        do {
            outcome = try await ingestor.submit(
                ChunkUpload(
                    alert: alert, seq: seq, captureStart: capturedAt, original: body,
                    format: format, statementSignature: signature, isFinal: isFinal),
                timing: timing)
        } catch {
            await quota.refund(device, bytes: charged)
            throw error
        }
        // Nothing stored (a retry of what is already there): the bytes are given back.
        switch outcome {
        case .duplicate, .conflict(_, _, isNew: false): await quota.refund(device, bytes: charged)
        default: break
        }
        switch outcome {
        case .appended(let a):
            metrics.chunksAppended.increment()
            metrics.commitLatency.record(ContinuousClock.now - start)
            return (.created, try response("appended", a))
        case .duplicate(let stored):
            metrics.chunksDuplicate.increment()
            return (.ok, try response("duplicate", stored))
        case .conflict(let kept, let recorded, _):
            metrics.chunksConflict.increment()
            return (.conflict, try response("conflict", recorded, keptIndex: kept.index))
        }
    }

    /// A location fix: validated as an RFC 5870 geo URI, its statement built, its draft ready
    /// (a salted commitment in the ledger, the fix itself in the erasable table).
    package static func locationDraft(
        alert: AlertID, origin: String, _ r: LocationRequest
    ) throws(TemoinError)
        -> (statement: DeviceStatement, signature: [UInt8], draft: EntryDraft)
    {
        let capturedAt = try parseTime(r.capturedAt, "capturedAt")
        let signature = try parseSignature(r.signature)
        let fix = try GeoURI(parsing: r.fix)
        guard fix.isPlausible else {
            throw TemoinError(
                .locationBadFix, "the fix's uncertainty or altitude is beyond 10 000 km: it says nothing of a place")
        }
        let fixBytes = Array(fix.text.utf8)
        let statement = try DeviceStatement(
            kind: .location, origin: origin, alert: alert, capturedAt: capturedAt,
            sha256: SHA256.hash(fixBytes))
        var g = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        var draft = EntryDraft(
            kind: .location, alert: alert,
            [
                ("captured-at", capturedAt.description),
                ("commitment", SHA256.hash(salt + fixBytes).hex),
                ("statement-sig", Base64.encode(signature)),
            ])
        draft.sideRow = .location(salt: salt, fix: fix.text)
        // The same fix at the same time posted again is the same statement, whatever its
        // signature: one entry, the same receipt (found by its statement key, one indexed read).
        draft.idempotency = .sameStatement
        return (statement, signature, draft)
    }

    func addLocation(alert: AlertID, _ r: LocationRequest) async throws -> (created: Bool, ReceiptResponse) {
        let device = try await device(of: alert)
        let location = try Self.locationDraft(alert: alert, origin: writer.origin, r)
        try await verify(location.statement, signature: location.signature, device: device)
        return try response(await writer.append(location.draft))
    }

    /// Closes an alert: the chunks up to `lastSeq` that never came are recorded missing in the same
    /// group as the close (all or nothing). An alert is closed once: a repeated (or concurrent)
    /// close gets the entry already stored, and appends nothing.
    func close(alert: AlertID, _ r: CloseAlertRequest) async throws -> (created: Bool, ReceiptResponse) {
        let device = try await device(of: alert)
        let closing = try Self.closingDraft(alert: alert, origin: writer.origin, r)
        try await verify(closing.statement, signature: closing.signature, device: device)
        // The chunks that never came and the close, one group under the alert's lock.
        let closed = try response(
            await ingestor.close(alert: alert, recordingMissingThrough: closing.lastSeq) { _ in closing.draft })
        // Its encoder and buffers are no longer needed (rebuilt from the ledger if a late chunk comes).
        await ingestor.release(alert: alert)
        return closed
    }

    /// A close body read without the ledger: the statement the device must have signed and the draft.
    package static func closingDraft(
        alert: AlertID, origin: String, _ r: CloseAlertRequest
    ) throws(TemoinError)
        -> (statement: DeviceStatement, signature: [UInt8], lastSeq: UInt64, draft: EntryDraft)
    {
        let closedAt = try parseTime(r.closedAt, "closedAt")
        let signature = try parseSignature(r.signature)
        let lastSeq = try parseSequence(r.lastSeq, "lastSeq")
        let statement = try DeviceStatement(
            kind: .alertClosed, origin: origin, alert: alert, seq: lastSeq, capturedAt: closedAt)
        var draft = EntryDraft(
            kind: .alertClosed, alert: alert,
            [
                ("closed-by", "device"), ("reason", "released"), ("closed-at", closedAt.description),
                ("last-seq", String(lastSeq)), ("statement-sig", Base64.encode(signature)),
            ])
        draft.idempotency = .oncePerAlert
        return (statement, signature, lastSeq, draft)
    }

    /// Erases an alert's data (`Erasure`), or finishes an erasure a crash interrupted, and drops
    /// what the service holds of it in memory: its encoder and key, its cached recording.
    func erase(alert: AlertID, actor: String, role: String, reason: String) async throws -> ErasedResponse {
        let appended = try await Erasure.run(
            alert: alert, actor: actor, role: role, reason: reason, writer: writer, io: erasing)
        await ingestor.forget(alert: alert)
        recordings.forget(alert: alert)
        return ErasedResponse(
            alert: alert.rawValue, status: appended.isNew ? "erased" : "already-erased", index: appended.index)
    }

    /// Places or releases a legal hold (`LegalHold`).
    func hold(
        alert: AlertID, placing: Bool, actor: String, role: String, reference: String
    ) async throws
        -> HoldResponse
    {
        let appended = try await writer.append(
            LegalHold.draft(alert: alert, placing: placing, actor: actor, role: role, reference: reference))
        return HoldResponse(
            alert: alert.rawValue, status: placing ? "placed" : "released", index: appended.index,
            holds: try reader.activeHolds(alert))
    }

    /// The retention period (`ServiceConfiguration.retentionSeconds`): erases each alert closed
    /// before `now` minus the period and not on legal hold, with a `data.erased` entry of role
    /// `service` and reason `retention`. Closings are read in log order from where the last sweep
    /// stopped (their times never go backwards); a held alert, or one whose erasure failed, is
    /// looked at again at every sweep. Returns the alerts erased.
    @discardableResult
    func applyRetention(now: Timestamp, logger: Logger) async -> [AlertID] {
        guard let seconds = configuration.retentionSeconds else { return [] }
        let cutoff = now.millisecondsSinceEpoch - Int64(seconds) * 1000
        var (cursor, candidates) = await retention.state()
        do {
            reading: while true {
                let page = try reader.closings(after: cursor, limit: 256)
                if page.isEmpty { break }
                for stored in page {
                    let entry = try stored.parsed()
                    if entry.time.millisecondsSinceEpoch > cutoff { break reading }
                    if let alert = entry.alert { candidates.insert(alert) }
                    cursor = stored.index
                }
            }
        } catch {
            logger.error("reading closed alerts for the retention period failed", metadata: ["error": "\(error)"])
        }
        var erased = [AlertID](), again = Set<AlertID>()
        for alert in candidates.sorted(by: { $0.rawValue < $1.rawValue }) {
            do {
                if try reader.isErased(alert) { continue }
                let held = try reader.activeHolds(alert)
                guard held.isEmpty else {
                    again.insert(alert)
                    continue
                }
                _ = try await erase(alert: alert, actor: Erasure.serviceActor, role: "service", reason: "retention")
                erased.append(alert)
                logger.notice("alert erased at the end of its retention period", metadata: ["alert": "\(alert)"])
            } catch {
                again.insert(alert)
                logger.error(
                    "erasing an alert past its retention period failed",
                    metadata: ["alert": "\(alert)", "error": "\(error)"])
            }
        }
        await retention.set(cursor: cursor, revisit: again)
        return erased
    }

    /// Closes alerts open longer than the limit (closed-by server, reason timeout).
    func closeExpiredAlerts(now: Timestamp, logger: Logger) async {
        let open: [AlertID]
        do {
            open = try reader.openAlerts()
        } catch {
            logger.error("listing open alerts failed", metadata: ["error": "\(error)"])
            open = []
        }
        // Each alert on its own: one that cannot be closed (damaged, busy) does not keep the others
        // open, nor the encoders below in memory (review: L1).
        for alert in open {
            do {
                guard let opening = try reader.opening(alert: alert)?.parsed(),
                    now.millisecondsSinceEpoch - opening.time.millisecondsSinceEpoch > Int64(
                        configuration.maximumAlertSeconds) * 1000
                else { continue }
                // `last-seq` is read under the alert's lock, in the close's own step: a chunk
                // committed meanwhile cannot make it stale.
                _ = try await ingestor.close(alert: alert, recordingMissingThrough: nil) { next in
                    EntryDraft(
                        kind: .alertClosed, alert: alert,
                        [
                            ("closed-by", "server"), ("reason", "timeout"),
                            ("closed-at", now.description),
                            ("last-seq", String(next == 0 ? 0 : next - 1)), ("statement-sig", "none"),
                        ])
                }
                await ingestor.release(alert: alert)
                logger.info("alert closed by the server after its time limit", metadata: ["alert": "\(alert)"])
            } catch {
                logger.error("closing an expired alert failed", metadata: ["alert": "\(alert)", "error": "\(error)"])
            }
        }
        // Encoders of alerts that went quiet are released; a later chunk rebuilds its own.
        await ingestor.releaseIdle(olderThan: .seconds(configuration.encoderIdleSeconds))
    }
}

/// Where the retention sweep stopped (the last `alert.closed` index it read) and the alerts it
/// must look at again (held, or whose erasure failed).
actor RetentionState {
    private var cursor: UInt64?
    private var revisit = Set<AlertID>()

    func state() -> (UInt64?, Set<AlertID>) { (cursor, revisit) }

    func set(cursor: UInt64?, revisit: Set<AlertID>) {
        self.cursor = cursor
        self.revisit = revisit
    }
}
