import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TemoinAPI
import TemoinCore
import TemoinCrypto
import TemoinExport
import TemoinFanout
import TemoinLedger

/// The staff API (`/v1/staff/…`, Docs/api.md): accounts and roles (`StaffRole`), every read of
/// evidence recorded in the ledger before it is served.
///
/// Each request goes: authenticate (401) → role allows it (403, the refusal itself recorded) →
/// input and target checked (400, 404: nothing served, nothing recorded) → `access` or
/// `staff.access` entry durably appended (if that fails, nothing is served) → answer.
struct StaffAPI: Sendable {
    let service: DeviceService
    let reader: LedgerReader
    let authenticator: StaffAuthenticator
    /// Heavy staff work (recordings, exports) runs here, off the cooperative pool and one at a
    /// time, so that staff reading evidence cannot slow the phones' receipts much.
    let heavy: BlockingIO
    let exports: ThreadTaskExecutor

    var writer: LedgerWriter { service.writer }
    var metrics: ServiceMetrics { service.metrics }

    /// The trusted contacts and links as `account` changes them: each change commits, with its
    /// own entry, a `staff.access` (the action, the device's id as target).
    func contacts(_ account: StaffAccount) -> ContactOperations {
        ContactOperations(
            book: ContactBook(writer: writer, reader: reader),
            author: .init(actor: account.id, role: account.role.rawValue)
        ) { action, target in [general(account, action: action, target: target)] }
    }

    /// A staff member, authenticated, allowed `permission` (a refusal is recorded, then thrown).
    func allow(_ request: Request, _ permission: StaffPermission) async throws -> StaffAccount {
        let account = try await authenticator.authenticate(request)
        try await check(account, permission, request)
        return account
    }

    /// `account` may do `permission`, or the refusal is recorded and thrown (403). The console
    /// calls this with the account of its session.
    func check(_ account: StaffAccount, _ permission: StaffPermission, _ request: Request) async throws {
        guard account.role.may(permission) else {
            metrics.staffRefused.increment()
            // The attempt is evidence too: who tried what they may not.
            _ = try await writer.append(
                general(account, action: "refused." + permission.rawValue, target: target(of: request)))
            throw TemoinError(
                .staffForbidden,
                "the \(account.role.rawValue) role may not do this (\(permission.rawValue)); the attempt is recorded")
        }
    }

    /// An `access` entry: `account` did `permission` on `alert`, for `reason`.
    func access(_ account: StaffAccount, _ permission: StaffPermission, alert: AlertID, reason: String) -> EntryDraft {
        EntryDraft(
            kind: .access, alert: alert,
            [
                ("actor", account.id), ("role", account.role.rawValue),
                ("action", permission.rawValue), ("reason", reason),
            ])
    }

    /// A `staff.access` entry: what is not one alert's (listings, devices, accounts, refusals).
    func general(_ account: StaffAccount, action: String, target: String) -> EntryDraft {
        EntryDraft(
            kind: .staffAccess,
            [
                ("actor", account.id), ("role", account.role.rawValue), ("action", action),
                ("target", String(String.UnicodeScalarView(target.unicodeScalars.prefix(StaffText.maximumLength)))),
            ])
    }

    /// What a request asked for, as the `target` of its entry: method and path (and the query).
    func target(of request: Request) -> String {
        var t = request.method.rawValue + " " + request.uri.path
        if let q = request.uri.query, !q.isEmpty { t += "?" + q }
        let cleaned = String(t.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f })
        return cleaned.isEmpty ? "-" : cleaned
    }

    /// An alert id from the path, and the alert's existence (404 before anything is recorded).
    func existingAlert(_ context: BasicRequestContext) throws -> AlertID {
        let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
        guard try reader.opening(alert: alert) != nil else {
            throw TemoinError(.alertUnknown, "there is no alert \(alert)")
        }
        return alert
    }

    /// An erased alert's audio is gone: `410 alert.erased`, before any access is recorded (its
    /// metadata and custody history are still served).
    func notErased(_ alert: AlertID) throws -> AlertID {
        if try reader.isErased(alert) {
            throw TemoinError(.alertErased, "the data of alert \(alert) was erased: there is no audio to serve")
        }
        return alert
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        let staff = router.group("v1/staff")

        staff.get("me") { request, _ in
            let account = try await authenticator.authenticate(request)
            return try TemoinService.Reply.json(
                .ok,
                WhoAmIResponse(
                    id: account.id, name: account.name, role: account.role.rawValue,
                    permissions: account.role.permissions.map(\.rawValue).sorted()))
        }

        // Alerts.
        staff.get("alerts") { request, _ in
            let account = try await allow(request, .listAlerts)
            let query = try StaffQuery(
                request, allowed: ["status", "device", "openedAfter", "openedBefore", "limit", "cursor"])
            var filter = AlertFilter()
            if let s = query["status"] {
                guard let status = AlertSummary.Status(rawValue: s) else {
                    throw TemoinError(.queryBad, "status is open or closed")
                }
                filter.status = status
            }
            if let d = query["device"] {
                guard let device = DeviceID(d) else {
                    throw TemoinError(.queryBad, "device is 32 lowercase hex digits")
                }
                filter.device = device
            }
            filter.openedAfter = try query.time("openedAfter")
            filter.openedBefore = try query.time("openedBefore")
            let limit = try query.number("limit", in: 1...200) ?? 50
            let cursor = try query.number("cursor", in: 1...UInt64(Int64.max))
            let page = try await alerts(account, filter, before: cursor, limit: Int(limit), target: target(of: request))
            return try TemoinService.Reply.json(
                .ok, AlertListResponse(alerts: page.alerts.map(StaffViews.summary), next: page.next.map(String.init)))
        }

        staff.get("alerts/:alert") { request, context in
            let account = try await allow(request, .readAlert)
            let alert = try existingAlert(context)
            let reason = try StaffQuery(request, allowed: ["reason"]).reason()
            let read = try await readAlert(account, alert, reason: reason)
            return try TemoinService.Reply.json(
                .ok,
                StaffViews.detail(
                    read.detail, label: read.label, withLocations: account.role.may(.readLocations),
                    checkpointSize: read.checkpointSize))
        }

        staff.get("alerts/:alert/recording") { request, context in
            let account = try await allow(request, .listen)
            let alert = try existingAlert(context)
            // The request is checked whole (400) before the alert's erasure is (410).
            let reason = try StaffQuery(request, allowed: ["reason"]).reason()
            return try await recording(account, alert, reason: reason, request: request)
        }

        staff.get("alerts/:alert/custody") { request, context in
            let account = try await allow(request, .readCustody)
            let alert = try existingAlert(context)
            let reason = try StaffQuery(request, allowed: ["reason"]).reason()
            return try TemoinService.Reply.json(.ok, try await custody(account, alert, reason: reason))
        }

        staff.post("alerts/:alert/exports") { request, context in
            let account = try await allow(request, .export)
            let alert = try existingAlert(context)
            let body = try await TemoinService.Reply.decode(ExportRequest.self, request)
            return try await export(account, alert, requester: body.requester, reference: body.reference)
        }

        // Erasure (legal only): the `data.erased` entry records who, with which role and why.
        staff.post("alerts/:alert/erase") { request, context in
            let account = try await allow(request, .erase)
            let alert = try existingAlert(context)
            let body = try await TemoinService.Reply.decode(EraseRequest.self, request)
            let reason = try StaffText.parse(body.reason, field: "reason")
            let erased = try await service.erase(
                alert: alert, actor: account.id, role: account.role.rawValue, reason: reason)
            metrics.staffRequests.increment()
            return try TemoinService.Reply.json(.ok, erased)
        }

        // Devices.
        staff.get("devices") { request, _ in
            let account = try await allow(request, .manageDevices)
            _ = try StaffQuery(request, allowed: [])
            return try TemoinService.Reply.json(
                .ok, DeviceListResponse(devices: try await devices(account, target: target(of: request))))
        }

        staff.post("devices") { request, _ in
            let account = try await allow(request, .manageDevices)
            let body = try await TemoinService.Reply.decode(StaffEnrollRequest.self, request)
            return try TemoinService.Reply.json(
                .created,
                try await enroll(account, publicKey: body.publicKey, label: body.label, replaces: body.replaces))
        }

        staff.post("devices/:device/revoke") { request, context in
            let account = try await allow(request, .manageDevices)
            return try TemoinService.Reply.json(
                .ok, try await revokeDevice(account, try context.parameters.require("device")))
        }

        // Trusted contacts (issue 13): third parties' names and numbers, for who manages devices.
        staff.get("devices/:device/contacts") { request, context in
            let account = try await allow(request, .manageDevices)
            _ = try StaffQuery(request, allowed: [])
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let listed = try await contacts(account).list(device)
            metrics.staffRequests.increment()
            return try TemoinService.Reply.json(.ok, listed)
        }

        staff.post("devices/:device/contacts") { request, context in
            let account = try await allow(request, .manageDevices)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let body = try await TemoinService.Reply.decode(ContactRequest.self, request)
            return try TemoinService.Reply.json(.created, try await contacts(account).add(device, body))
        }

        staff.put("devices/:device/contacts/person") { request, context in
            let account = try await allow(request, .manageDevices)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let body = try await TemoinService.Reply.decode(PersonRequest.self, request)
            return try TemoinService.Reply.json(.ok, try await contacts(account).setPerson(device, body))
        }

        staff.delete("devices/:device/contacts/:contact") { request, context in
            let account = try await allow(request, .manageDevices)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let contact = try ContactOperations.contact(try context.parameters.require("contact"))
            return try TemoinService.Reply.json(.ok, try await contacts(account).remove(device, contact: contact))
        }

        // The alert's texts to the contacts, and their live-location links.
        staff.get("alerts/:alert/fanout") { request, context in
            let account = try await allow(request, .readAlert)
            let alert = try existingAlert(context)
            let reason = try StaffQuery(request, allowed: ["reason"]).reason()
            return try TemoinService.Reply.json(.ok, try await fanout(account, alert, reason: reason))
        }

        staff.post("alerts/:alert/links/:contact/revoke") { request, context in
            let account = try await allow(request, .manageDevices)
            let alert = try existingAlert(context)
            let contact = try ContactOperations.contact(try context.parameters.require("contact"))
            _ = try StaffQuery(request, allowed: [])
            return try TemoinService.Reply.json(
                .ok, try await contacts(account).revokeLink(alert: alert, contact: contact))
        }

        // Accounts.
        staff.get("accounts") { request, _ in
            let account = try await allow(request, .manageAccounts)
            _ = try StaffQuery(request, allowed: [])
            _ = try await writer.append(general(account, action: "list-accounts", target: target(of: request)))
            return try TemoinService.Reply.json(
                .ok, AccountListResponse(accounts: try reader.accounts().map(StaffViews.account)))
        }

        staff.post("accounts") { request, _ in
            let account = try await allow(request, .manageAccounts)
            let body = try await TemoinService.Reply.decode(AccountRequest.self, request)
            let created = try await Accounts(writer: writer, reader: reader).create(
                name: body.name, role: body.role
            ) { general(account, action: "create-account", target: $0) }
            return try TemoinService.Reply.json(.created, created)
        }

        staff.post("accounts/:account/revoke") { request, context in
            let account = try await allow(request, .manageAccounts)
            let id = try context.parameters.require("account")
            guard let target = try reader.accounts().first(where: { $0.id == id }) else {
                throw TemoinError(.accountUnknown, "there is no account \(id.prefix(64))")
            }
            let revoked = try await Accounts(writer: writer, reader: reader).revoke(target) {
                general(account, action: "revoke-account", target: $0)
            }
            return try TemoinService.Reply.json(.ok, revoked)
        }
    }

    // The operations, each with its entry appended before anything is served; the API's routes
    // and the console's pages (Console.swift) both call these, after `allow` or `check`.

    /// One page of alerts; the listing is recorded (`staff.access`) first.
    func alerts(
        _ account: StaffAccount, _ filter: AlertFilter, before cursor: UInt64?, limit: Int, target: String
    ) async throws -> (alerts: [AlertSummary], next: UInt64?) {
        _ = try await writer.append(general(account, action: StaffPermission.listAlerts.rawValue, target: target))
        let page = try reader.alerts(matching: filter, before: cursor, limit: limit)
        metrics.staffRequests.increment()
        return page
    }

    /// An alert's detail, its `access` entry appended first.
    func readAlert(
        _ account: StaffAccount, _ alert: AlertID, reason: String
    ) async throws -> (detail: AlertDetail, label: String?, checkpointSize: UInt64) {
        _ = try await writer.append(access(account, .readAlert, alert: alert, reason: reason))
        guard let detail = try reader.alertDetail(alert) else {
            throw TemoinError(.alertUnknown, "there is no alert \(alert)")
        }
        let size = try reader.size()
        let label = try reader.deviceLabel(device: detail.summary.device)
        metrics.staffRequests.increment()
        return (detail, label, size)
    }

    /// The recording (a range of it), its `access` entry appended first.
    func recording(_ account: StaffAccount, _ alert: AlertID, reason: String, request: Request) async throws -> Response
    {
        // An erased alert has no audio: 410 before any access is recorded.
        _ = try notErased(alert)
        _ = try await writer.append(access(account, .listen, alert: alert, reason: reason))
        let recording = try await service.recordings.recording(alert: alert, reader: reader, io: heavy)
        metrics.staffRequests.increment()
        return try RangeReply.response(
            recording.bytes, etag: recording.etag, type: "audio/ogg", request: request, filename: "\(alert).opus")
    }

    /// The custody history, its `access` entry appended first: the history includes this access.
    func custody(_ account: StaffAccount, _ alert: AlertID, reason: String) async throws -> CustodyResponse {
        _ = try await writer.append(access(account, .readCustody, alert: alert, reason: reason))
        let entries = try reader.alertEntries(alert)
        let checkpoint = try reader.latestCheckpoint()
        metrics.staffRequests.increment()
        return CustodyResponse(
            alert: alert.rawValue,
            entries: try entries.map { stored throws(TemoinError) in
                let e = try stored.parsed()
                return CustodyResponse.Item(
                    index: stored.index, kind: e.kind.rawValue, time: e.time.description,
                    leafHash: stored.leafHash.base64,
                    fields: zip(e.kind.fields, e.values).map { [$0.name, $1] },
                    entry: String(decoding: stored.bytes, as: UTF8.self))
            }, checkpoint: String(decoding: checkpoint.bytes, as: UTF8.self))
    }

    /// A signed export bundle as a zip download, its `access` entry appended first.
    func export(
        _ account: StaffAccount, _ alert: AlertID, requester rawRequester: String, reference given: String?
    ) async throws -> Response {
        let requester = try StaffText.parse(rawRequester, field: "requester")
        let reference: String
        if let given {
            reference = try StaffText.parse(given, field: "reference")
            // `-` is what the ledger writes when no reference was given: as a reference it
            // would let the police export without one, and read as "none" in the custody.
            guard reference != "-" else {
                throw TemoinError(.exportBadReference, "the reference '-' means none; give the legal reference")
            }
        } else if account.role.exportNeedsReference {
            throw TemoinError(
                .exportBadReference, "the police role exports with a legal reference (réquisition or PV number)")
        } else {
            reference = "-"
        }
        // An erased alert has nothing to export: 410, before any access is recorded.
        _ = try notErased(alert)
        _ = try await writer.append(access(account, .export, alert: alert, reason: reference))
        let response = try await StaffExports.response(
            alert: alert, requester: requester, reference: reference, writer: writer, reader: reader,
            directory: reader.directory, executor: exports)
        metrics.staffRequests.increment()
        return response
    }

    /// The alert's texts to its device's contacts (no name, no number), its `access` entry
    /// (`read-alert`) appended first.
    func fanout(_ account: StaffAccount, _ alert: AlertID, reason: String) async throws -> FanoutResponse {
        _ = try await writer.append(access(account, .readAlert, alert: alert, reason: reason))
        let texts = try ContactOperations.fanout(alert, reader: reader)
        metrics.staffRequests.increment()
        return texts
    }

    /// Every device; the listing is recorded first.
    func devices(_ account: StaffAccount, target: String) async throws -> [DeviceView] {
        _ = try await writer.append(general(account, action: "list-devices", target: target))
        metrics.staffRequests.increment()
        return try reader.devices().map(StaffViews.device)
    }

    /// Enrolls a device (revoking the one it replaces in the same step, and moving its trusted
    /// contacts to the new one: `ContactBook.replace` adds the new device's `contacts.changed`).
    func enroll(
        _ account: StaffAccount, publicKey: String, label: String?, replaces: String?
    ) async throws -> StaffEnrolledResponse {
        let enroll = try DeviceEnrollment(publicKey: publicKey, label: label)
        var drafts = [EntryDraft]()
        var replaced: DeviceID?
        if let old = replaces {
            guard let old = DeviceID(old) else {
                throw TemoinError(.deviceUnknown, category: .usage, "replaces is a device id (32 hex digits)")
            }
            var revocation = EntryDraft(kind: .deviceRevoked, [("device", old.rawValue), ("reason", "replaced")])
            revocation.sideRow = .contactsTransfer(to: enroll.device)
            drafts.append(revocation)
            replaced = old
        }
        drafts.append(enroll.draft)
        drafts.append(general(account, action: "enroll-device", target: enroll.device.rawValue))
        let appended: [Appended]
        if let replaced {
            appended = try await contacts(account).book.replace(
                replaced, with: enroll.device, by: .init(actor: account.id, role: account.role.rawValue), group: drafts)
        } else {
            appended = try await writer.append(group: drafts)
        }
        return StaffEnrolledResponse(
            device: enroll.device.rawValue, index: appended[replaced == nil ? 0 : 1].index,
            revokedIndex: replaced == nil ? nil : appended[0].index)
    }

    /// Revokes a device, and records who did.
    func revokeDevice(_ account: StaffAccount, _ id: String) async throws -> DeviceRevokedResponse {
        guard let device = DeviceID(id) else {
            throw TemoinError(.deviceUnknown, category: .usage, "device ids are 32 lowercase hex digits")
        }
        let appended = try await writer.append(group: [
            EntryDraft(kind: .deviceRevoked, [("device", device.rawValue), ("reason", "revoked")]),
            general(account, action: "revoke-device", target: device.rawValue),
        ])
        return DeviceRevokedResponse(device: device.rawValue, index: appended[0].index)
    }
}

/// An enrollment checked before it reaches the writer: a 32-byte key in base64, a label on one line.
struct DeviceEnrollment {
    let device: DeviceID
    let draft: EntryDraft

    init(publicKey: String, label: String?) throws(TemoinError) {
        guard let key = Base64.decode(publicKey), key.count == 32 else {
            throw TemoinError(.enrollBadKey, "publicKey is a raw 32-byte Ed25519 key in base64")
        }
        device = DeviceID.derive(publicKey: key)
        var draft = EntryDraft(enrolling: device, publicKey: key)
        if let label { draft.sideRow = .deviceLabel(device: device, label: try StaffText.parse(label, field: "label")) }
        self.draft = draft
    }
}

/// Ledger views to API bodies.
enum StaffViews {
    static func summary(_ s: AlertSummary) -> AlertSummaryView {
        AlertSummaryView(
            alert: s.alert.rawValue, device: s.device.rawValue, status: s.status.rawValue,
            openedAt: s.openedAt.description,
            openedAtDevice: s.openedAtDevice.description, closedAt: s.closedAt?.description, closedBy: s.closedBy,
            closeReason: s.closeReason, chunks: s.chunks)
    }

    static func detail(
        _ d: AlertDetail, label: String?, withLocations: Bool, checkpointSize: UInt64
    )
        -> AlertDetailResponse
    {
        AlertDetailResponse(
            summary: summary(d.summary), deviceLabel: label, durationMs: Double(d.durationMicroseconds) / 1000,
            chunks: d.chunks.map {
                .init(
                    seq: $0.seq, index: $0.index, captureStart: $0.captureStart.description,
                    durationMs: Double($0.durationMicroseconds) / 1000, deviceSigned: $0.signed,
                    recordedAt: $0.recordedAt.description)
            },
            gaps: d.gaps.map { .init(firstSeq: $0.firstSeq, lastSeq: $0.lastSeq, reason: $0.reason, index: $0.index) },
            conflicts: d.conflicts.map { .init(seq: $0.seq, index: $0.index, keptEntry: $0.keptEntry) },
            locations: withLocations
                ? d.locations.map { .init(index: $0.index, capturedAt: $0.capturedAt.description, fix: $0.fix) } : nil,
            exports: d.exports, accesses: d.accesses, erased: d.erased, headIndex: d.headIndex,
            checkpointSize: checkpointSize)
    }

    static func device(_ d: DeviceSummary) -> DeviceView {
        DeviceView(
            device: d.device.rawValue, label: d.label, enrolledAt: d.enrolledAt.description,
            enrolledEntry: d.enrolledIndex,
            revokedAt: d.revokedAt?.description, lastAlert: d.lastAlert?.rawValue,
            lastAlertOpenedAt: d.lastAlertOpenedAt?.description)
    }

    static func account(_ a: StaffAccount) -> AccountView {
        AccountView(
            id: a.id, name: a.name, role: a.role.rawValue, createdEntry: a.createdEntry, revokedEntry: a.revokedEntry)
    }
}

/// A staff query string, read strictly: known names only, each once, percent-decoded.
struct StaffQuery {
    private var values: [String: String] = [:]

    init(_ request: Request, allowed: Set<String>) throws(TemoinError) {
        let raw = request.uri.query ?? ""
        guard !raw.isEmpty else { return }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: false) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(kv[0])
            guard allowed.contains(name) else {
                throw TemoinError(
                    .queryBad,
                    "unknown query parameter '\(name.prefix(64))'"
                        + (allowed.isEmpty
                            ? "; this takes none" : "; known: \(allowed.sorted().joined(separator: ", "))"))
            }
            guard values[name] == nil else { throw TemoinError(.queryBad, "\(name) is given twice") }
            guard kv.count == 2,
                let value = String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                !value.isEmpty
            else {
                throw TemoinError(.queryBad, "\(name) has no value or a malformed percent-encoding")
            }
            values[name] = value
        }
    }

    subscript(name: String) -> String? { values[name] }

    func time(_ name: String) throws(TemoinError) -> Timestamp? {
        guard let v = values[name] else { return nil }
        guard let t = Timestamp(rfc3339: v) else {
            throw TemoinError(.queryBad, "\(name) is a time like 2026-11-30T08:00:00.000Z")
        }
        return t
    }

    func number(_ name: String, in range: ClosedRange<UInt64>) throws(TemoinError) -> UInt64? {
        guard let v = values[name] else { return nil }
        guard let n = StrictDecimal.parse(v), range.contains(n) else {
            throw TemoinError(.queryBad, "\(name) is a decimal from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    /// The `reason` given for an access, or `-` when none is.
    func reason() throws(TemoinError) -> String {
        guard let v = values["reason"] else { return "-" }
        return try StaffText.parse(v, field: "reason")
    }
}
