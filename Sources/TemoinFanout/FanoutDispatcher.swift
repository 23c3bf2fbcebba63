public import Logging
import TemoinCore
public import TemoinLedger
import TemoinCrypto
import Foundation

/// Sends the outbox's texts (Docs/fanout.md, "Sending"): woken by each commit that opens an
/// alert, and by its own timer for retries.
///
/// One text goes through three durable steps: (1) `sending` is committed with the message composed
/// and sealed, and its link, before the gateway is called; (2) the gateway is called with the
/// text's idempotency key; (3) the outcome is committed as an `sms.sent` or `sms.failed` entry
/// with the outbox row's new state. A crash between (1) and (3) leaves the row `sending`: after a
/// restart the same message is sent again under the same key (or, for a provider that keeps no
/// key, asked for first: `SMSGateway.acceptedBefore`), so a provider that honours the key texts
/// each contact once per alert.
public actor FanoutDispatcher {
    /// Where a test may stop the process (it is killed there, as by a power cut).
    public enum Step: String, Sendable {
        /// `sending` is committed, the gateway not yet called.
        case prepared = "after-prepare"
        /// The gateway answered, its outcome not yet committed.
        case sent = "after-send"
    }

    nonisolated let writer: LedgerWriter
    nonisolated let reader: LedgerReader
    public nonisolated let gateway: any SMSGateway
    nonisolated let settings: FanoutSettings
    nonisolated let composer: MessageComposer
    nonisolated let logger: Logger
    nonisolated let clock: WallClock
    /// Tests: called after each step; returning true stops the attempt there as a crash would
    /// (nothing more is written). `temoin serve` kills the process there when asked to.
    nonisolated let stepHook: (@Sendable (Step) -> Bool)?
    /// How many texts are with the gateway at once.
    nonisolated let concurrency: Int

    private nonisolated let wakeStream: AsyncStream<Void>
    private nonisolated let wakeContinuation: AsyncStream<Void>.Continuation
    private var inFlight = Set<String>()
    /// How many times the loop looked at the outbox (tests: an idle sender must not spin).
    private(set) var rounds = 0
    private var tasks = [String: Task<Void, Never>]()

    public init(
        writer: LedgerWriter, reader: LedgerReader, gateway: any SMSGateway, settings: FanoutSettings,
        logger: Logger, clock: @escaping WallClock = systemClock, concurrency: Int = 8,
        stepHook: (@Sendable (Step) -> Bool)? = nil
    ) {
        self.writer = writer
        self.reader = reader
        self.gateway = gateway
        self.settings = settings
        composer = MessageComposer(settings: settings)
        self.logger = logger
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self.stepHook = stepHook
        (wakeStream, wakeContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks the dispatcher to look at the outbox now (a commit opened an alert).
    public nonisolated func wake() { wakeContinuation.yield() }

    /// Sends until the task is cancelled; texts left `pending` or `sending` are sent at the next
    /// start.
    public func run() async {
        var wakes = wakeStream.makeAsyncIterator()
        while !Task.isCancelled {
            var nextDue: Int64?
            do throws(TemoinError) {
                try launchDue()
                nextDue = try reader.nextOutboxAttempt()
            } catch {
                logger.error("fan-out: cannot read the outbox", metadata: ["error": "\(error)"])
            }
            let now = clock().millisecondsSinceEpoch
            // Wake at the next retry (rows in flight are due again only once their attempt ends).
            let delayMs = nextDue.map { max(50, min(60_000, $0 - now)) } ?? 60_000
            let timer = Task { [wakeContinuation] in
                // Only a timer that ran out wakes the loop: a cancelled one (another wake came
                // first) must not, or each wake would beget the next and the loop would spin.
                do {
                    try await Task.sleep(for: .milliseconds(delayMs))
                    wakeContinuation.yield()
                } catch {}
            }
            _ = await wakes.next()
            timer.cancel()
            rounds += 1
        }
        for task in tasks.values { task.cancel() }
        for task in tasks.values { await task.value }
    }

    /// Starts every due text not already in flight, up to `concurrency` at once.
    private func launchDue() throws(TemoinError) {
        guard inFlight.count < concurrency else { return }
        let due = try reader.dueOutbox(now: clock().millisecondsSinceEpoch, limit: concurrency * 4)
        for row in due where inFlight.count < concurrency {
            let id = row.alert.rawValue + row.contact.rawValue
            guard !inFlight.contains(id) else { continue }
            inFlight.insert(id)
            tasks[id] = Task {
                await self.deliver(row)
                self.finished(id)
            }
        }
    }

    private func finished(_ id: String) {
        inFlight.remove(id)
        tasks[id] = nil
        wake()
    }

    // MARK: - One text

    /// One attempt at one text, from its outbox row.
    func deliver(_ row: OutboxRow) async {
        let alert = row.alert, contact = row.contact
        var meta: Logger.Metadata = ["alert": "\(alert)", "contact": "\(contact)"]
        do {
            if row.created + Int64(settings.maximumDelaySeconds) * 1000 < clock().millisecondsSinceEpoch {
                // Too late to be useful (after a long outage): given up before anything is composed,
                // so no link is made for a text never sent.
                try await record(
                    row, attempt: row.attempts, messageHash: row.messageHash ?? Self.noText,
                    numberHash: row.numberHash ?? Self.noText, outcome: .rejected(reason: "stale"))
                logger.error("fan-out: text given up", metadata: meta.merging(["reason": "stale"]) { $1 })
                return
            }
            let alertKey = try await writer.alertKey(for: alert)
            let message: SMSMessage
            let messageHash: Hash
            let numberHash: Hash
            let wasSending = row.state == .sending
            if let sealed = row.sealed {
                numberHash = row.numberHash ?? Self.noText
                (message, messageHash) = try Self.open(
                    sealed, alert: alert, contact: contact, numberHash: numberHash, key: alertKey)
                try await writer.markSending(alert: alert, contact: contact, prepared: nil)
            } else {
                guard let composed = try await compose(row) else {
                    // The contact was removed (or its device revoked) after the alert opened.
                    try await record(
                        row, attempt: row.attempts + 1, messageHash: Self.noText,
                        numberHash: row.numberHash ?? Self.noText,
                        outcome: .rejected(reason: "contact-removed"))
                    return
                }
                let sealed = try Self.seal(
                    composed.message, salt: composed.salt, alert: alert, contact: contact, key: alertKey)
                message = composed.message
                messageHash = SHA256.hash(Array(composed.message.text.utf8))
                numberHash = composed.numberHash
                try await writer.markSending(
                    alert: alert, contact: contact,
                    prepared: PreparedMessage(
                        sealed: sealed, messageHash: messageHash, numberHash: numberHash, linkHash: composed.linkHash))
            }
            let attempt = row.attempts + 1
            meta["attempt"] = "\(attempt)"
            meta["to"] = "\(message.to.masked)"
            if stepHook?(.prepared) == true { return }
            var outcome: SMSOutcome
            // Any attempt after the first may repeat one the provider took (a crash, a timeout, a
            // 5xx after it created the job): a provider that keeps no key is asked first.
            if wasSending || row.attempts > 0, let before = await gateway.acceptedBefore(message) {
                outcome = before
            } else {
                outcome = await gateway.send(message)
            }
            if stepHook?(.sent) == true { return }
            if case .retry(let reason, let after) = outcome, attempt >= UInt64(settings.maximumAttempts) {
                _ = after
                outcome = .rejected(reason: Self.token(reason + "-gave-up", fallback: "gave-up"))
            }
            try await record(row, attempt: attempt, messageHash: messageHash, numberHash: numberHash, outcome: outcome)
            switch outcome {
            case .accepted(let status, _):
                // From the opening's commit to the provider's acceptance (Docs/fanout.md, "Speed").
                let latency = clock().millisecondsSinceEpoch - row.created
                logger.notice(
                    "fan-out: text accepted",
                    metadata: meta.merging(["status": "\(status)", "since-opening-ms": "\(latency)"]) { $1 })
            case .retry(let reason, _):
                logger.warning(
                    "fan-out: text not sent, will retry", metadata: meta.merging(["reason": "\(reason)"]) { $1 })
            case .rejected(let reason):
                logger.error("fan-out: text given up", metadata: meta.merging(["reason": "\(reason)"]) { $1 })
            }
        } catch let error as TemoinError where error.id == .alertErased {
            logger.notice("fan-out: the alert was erased; its texts are dropped", metadata: meta)
        } catch let error as TemoinError where error.id == .keysUnwrapFailed || error.id == .ledgerCorrupt {
            // A sealed text or contact that no longer opens (a changed row, another master key) will
            // not open next time either: given up, named in the ledger, instead of retried for ever.
            logger.error("fan-out: text unreadable, given up", metadata: meta.merging(["error": "\(error)"]) { $1 })
            try? await record(
                row, attempt: row.attempts, messageHash: row.messageHash ?? Self.noText,
                numberHash: row.numberHash ?? Self.noText, outcome: .rejected(reason: "unreadable"))
        } catch {
            // The row stays as it was (`pending` or `sending`): tried again after a pause.
            logger.error("fan-out: attempt failed", metadata: meta.merging(["error": "\(error)"]) { $1 })
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// The outcome as an entry of the alert, committed with the outbox row's new state.
    private func record(
        _ row: OutboxRow, attempt: UInt64, messageHash: Hash, numberHash: Hash, outcome: SMSOutcome
    ) async throws {
        let now = clock().millisecondsSinceEpoch
        var fields: [(String, String)] = [
            ("contact", row.contact.rawValue), ("attempt", String(attempt)),
            ("gateway", Self.token(gateway.name, fallback: "gateway")),
            ("message-sha256", messageHash.hex), ("number-sha256", numberHash.hex),
        ]
        let kind: EntryKind
        let state: OutboxState
        var next = now
        var error: String?
        switch outcome {
        case .accepted(let status, let reference):
            kind = .smsSent
            state = .sent
            fields += [
                ("status", Self.token(status, fallback: "accepted")), ("provider-ref", Self.text(reference ?? "none")),
            ]
        case .retry(let reason, let after):
            kind = .smsFailed
            state = .pending
            let wait = after.map { Int64($0.components.seconds) * 1000 } ?? Self.backoffMs(attempt: attempt)
            next = now + min(max(wait, 1000), 3_600_000)
            error = reason
            fields += [("outcome", "retry"), ("reason", Self.token(reason, fallback: "error"))]
        case .rejected(let reason):
            kind = .smsFailed
            state = .failed
            error = reason
            fields += [("outcome", "given-up"), ("reason", Self.token(reason, fallback: "error"))]
        }
        var draft = EntryDraft(kind: kind, alert: row.alert, fields)
        draft.sideRow = .outboxOutcome(contact: row.contact, state: state, nextAttempt: next, error: error)
        _ = try await writer.append(draft)
    }

    /// 2 s, 4 s, 8 s… up to 5 min, with ±20 % jitter so that texts failed together spread out.
    static func backoffMs(attempt: UInt64) -> Int64 {
        let base: Int64 = min(300_000, Int64(2000) << min(Int64(attempt) - 1, 8))
        let jitter = Int64.random(in: -(base / 5)...(base / 5))
        return base + jitter
    }

    /// The `message-sha256` of a text never composed (its contact was removed first).
    static let noText = SHA256.hash([UInt8]())

    struct Composed {
        let message: SMSMessage
        let numberHash: Hash
        let salt: [UInt8]
        let linkHash: Hash
    }

    /// The first attempt's text: from the contact (opened with its device's key), the person's
    /// name, the alert's opening and latest fix, and a new capability link.
    private func compose(_ row: OutboxRow) async throws -> Composed? {
        // A phone that sends its first fix just after the opening, rather than with it: wait for it
        // a moment (at most until `firstFixWaitMs` after the opening), so the text can say where.
        let waitUntil = row.created + Self.firstFixWaitMs
        while clock().millisecondsSinceEpoch < waitUntil, try reader.latestFixes(alert: row.alert, limit: 1).isEmpty {
            try await Task.sleep(for: .milliseconds(100))
        }
        return try composeNow(row)
    }

    /// How long the first text waits for a first fix after the opening.
    static let firstFixWaitMs: Int64 = 1500

    private func composeNow(_ row: OutboxRow) throws(TemoinError) -> Composed? {
        guard let (deviceKey, sealedPerson) = try reader.deviceKey(row.device),
            let contactRow = try reader.contactRows(device: row.device).first(where: { $0.id == row.contact })
        else { return nil }
        let contact = try ContactSealing.open(contactRow, key: deviceKey)
        // Checked again here, whatever the row says: a name changed by hand in the database that
        // carries a number or a link is not put in the text (the generic wording goes instead).
        let person = try sealedPerson.map { p throws(TemoinError) in
            try ContactSealing.openPerson(p, device: row.device, key: deviceKey)
        }.flatMap { try? ContactText.parsePerson($0) }
        guard let (opened, _) = try reader.openingAndClosing(alert: row.alert) else {
            throw TemoinError(.ledgerAlertNotOpen, "alert \(row.alert) has no alert.opened entry")
        }
        var position: MessageComposer.Position?
        if let latest = try reader.latestFixes(alert: row.alert, limit: 1).first,
            let fix = try? GeoURI(parsing: latest.fix.fix), let at = latest.entry.time("captured-at")
        {
            position = MessageComposer.Position(fix: fix, capturedAt: at)
        }
        let token = try CapabilityToken.random()
        let text = composer.text(
            person: person, openedAt: opened.time, position: position, now: clock(), link: settings.link(token))
        return Composed(
            message: SMSMessage(
                to: contact.phone, text: text,
                idempotencyKey: Fanout.idempotencyKey(alert: row.alert, contact: row.contact)),
            numberHash: contact.numberHash, salt: contact.salt, linkHash: token.hash)
    }

    // MARK: - The sealed message

    static let label = "temoin/sms/v1\n"

    /// `temoin/sms/v1\n` number `\n` base64(the contact's salt) `\n` text, sealed under the alert's
    /// key (additional data: the label, the alert id, `\n`, the contact id). The salt lets `open`
    /// check the number against the row's `number-sha256`: a text resealed to another number by
    /// whoever holds the keys does not open.
    static func seal(
        _ m: SMSMessage, salt: [UInt8], alert: AlertID, contact: ContactID, key: SymmetricKey
    ) throws(TemoinError) -> [UInt8] {
        try SealedRecord.seal(
            Array((label + m.to.e164 + "\n" + Base64.encode(salt) + "\n" + m.text).utf8), key: key,
            aad: Array((label + alert.rawValue + "\n" + contact.rawValue).utf8))
    }

    static func open(
        _ sealed: [UInt8], alert: AlertID, contact: ContactID, numberHash: Hash, key: SymmetricKey
    ) throws(TemoinError) -> (SMSMessage, Hash) {
        let plain = try SealedRecord.open(
            sealed, key: key, aad: Array((label + alert.rawValue + "\n" + contact.rawValue).utf8),
            what: "the text of alert \(alert) to contact \(contact)")
        let s = String(decoding: plain, as: UTF8.self)
        guard s.hasPrefix(label) else { throw TemoinError(.ledgerCorrupt, "a sealed text is malformed") }
        let parts = s.dropFirst(label.count).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let phone = PhoneNumber(String(parts[0])), let salt = Base64.decode(String(parts[1]))
        else {
            throw TemoinError(.ledgerCorrupt, "a sealed text is malformed")
        }
        guard SHA256.hash(salt + Array(phone.e164.utf8)) == numberHash else {
            throw TemoinError(.ledgerCorrupt, "the text of alert \(alert) to contact \(contact) names another number")
        }
        let text = String(parts[2])
        return (
            SMSMessage(to: phone, text: text, idempotencyKey: Fanout.idempotencyKey(alert: alert, contact: contact)),
            SHA256.hash(Array(text.utf8))
        )
    }

    /// A provider's word as an entry token: lowercased, other characters as `-`, at most 64.
    static func token(_ raw: String, fallback: String) -> String {
        let mapped = String(
            raw.lowercased().unicodeScalars.prefix(64).map { c -> Character in
                let ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
                return ok ? Character(c) : "-"
            })
        return EntryFieldType.token.accepts(mapped) ? mapped : fallback
    }

    /// A provider's reference as an entry text: control characters dropped, trimmed, at most 200.
    static func text(_ raw: String) -> String {
        let kept = String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }))
            .trimmingCharacters(in: .whitespaces)
        let short = String(kept.prefix(200)).trimmingCharacters(in: .whitespaces)
        return EntryFieldType.text.accepts(short) ? short : "none"
    }
}
