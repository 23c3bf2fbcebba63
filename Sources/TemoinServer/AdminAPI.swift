import Foundation
import HTTPTypes
import Hummingbird
import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinLedger
import TemoinAPI
import TemoinExport

/// Administration through a running service, so `temoin enroll` and `temoin recording` work
/// whether or not it runs (the service holds the only writer). Authenticated by the token in
/// `keys/admin.token`, readable by the service's user alone; the service keeps only its hash.
struct AdminAPI: Sendable {
    let tokenHash: Hash
    let service: DeviceService
    let publicLog: PublicLog

    func authorize(_ request: Request) throws(TemoinError) {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            SHA256.hash(Array(header.dropFirst(7).utf8)) == tokenHash
        else {
            throw TemoinError(.adminUnauthorized, "administration needs the token of keys/admin.token")
        }
    }

    func enroll(_ r: EnrollRequest) async throws -> EnrolledResponse {
        guard let key = Base64.decode(r.publicKey), key.count == 32 else {
            throw TemoinError(.enrollBadKey, "publicKey is a raw 32-byte Ed25519 key in base64")
        }
        let device = DeviceID.derive(publicKey: key)
        var draft = EntryDraft(enrolling: device, publicKey: key)
        if let label = r.label { draft.sideRow = .deviceLabel(device: device, label: label) }
        return EnrolledResponse(device: device.rawValue, index: try await service.writer.append(draft).index)
    }

    /// The operator's pseudonymous id (`Temoin-Operator`), for the entries an operator causes.
    func operatorID(_ request: Request) throws(TemoinError) -> String {
        let id = request.headers[HTTPField.Name("Temoin-Operator")!] ?? ""
        guard EntryFieldType.id128.accepts(id) else {
            throw TemoinError(.adminBadOperator, "Temoin-Operator is a 32-hex-digit pseudonymous id")
        }
        return id
    }

    /// The contact and link operations as the operator of `request` (`Temoin-Operator`).
    func contacts(_ request: Request) throws(TemoinError) -> ContactOperations {
        ContactOperations.forOperator(try operatorID(request), writer: service.writer, reader: publicLog.reader)
    }

    /// The recording of an alert; the access is appended to the ledger first.
    func recording(alert: AlertID, operatorID: String) async throws -> [UInt8] {
        guard EntryFieldType.id128.accepts(operatorID) else {
            throw TemoinError(.adminBadOperator, "Temoin-Operator is a 32-hex-digit pseudonymous id")
        }
        let bytes = try publicLog.recording(alert: alert)
        _ = try await service.writer.append(
            EntryDraft(
                kind: .access, alert: alert,
                [
                    ("actor", operatorID), ("role", "operator"), ("action", "recording"),
                    ("reason", "-"),
                ]))
        return bytes
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("v1/admin/devices") { request, _ in
            try authorize(request)
            let enrolled = try await enroll(TemoinService.Reply.decode(EnrollRequest.self, request))
            return try TemoinService.Reply.json(.created, enrolled)
        }
        router.post("v1/admin/alerts/:alert/recording") { request, context in
            try authorize(request)
            let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
            let bytes = try await recording(
                alert: alert, operatorID: request.headers[HTTPField.Name("Temoin-Operator")!] ?? "")
            return TemoinService.Reply.text(bytes, "audio/ogg")
        }
        // Erasure from the operator's shell (`temoin erase`).
        router.post("v1/admin/alerts/:alert/erase") { request, context in
            try authorize(request)
            let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
            let operatorID = try self.operatorID(request)
            let body = try await TemoinService.Reply.decode(EraseRequest.self, request)
            let reason = try StaffText.parse(body.reason, field: "reason")
            guard try publicLog.reader.opening(alert: alert) != nil else {
                throw TemoinError(.alertUnknown, "there is no alert \(alert)")
            }
            return try TemoinService.Reply.json(
                .ok, try await service.erase(alert: alert, actor: operatorID, role: "operator", reason: reason))
        }
        // Legal holds from the operator's shell (`temoin hold`, `temoin release`).
        for (route, placing) in [("hold", true), ("release", false)] {
            router.post("v1/admin/alerts/:alert/\(route)") { request, context in
                try authorize(request)
                let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
                let operatorID = try self.operatorID(request)
                let body = try await TemoinService.Reply.decode(HoldRequest.self, request)
                let reference = try StaffText.parse(body.reference, field: "reference")
                guard try publicLog.reader.opening(alert: alert) != nil else {
                    throw TemoinError(.alertUnknown, "there is no alert \(alert)")
                }
                return try TemoinService.Reply.json(
                    .ok,
                    try await service.hold(
                        alert: alert, placing: placing, actor: operatorID, role: "operator", reference: reference))
            }
        }
        // Trusted contacts and live-location links from the operator's shell (`temoin contacts …`,
        // `temoin links revoke`), as the operator (`Temoin-Operator`) with the role `operator`.
        router.get("v1/admin/devices/:device/contacts") { request, context in
            try authorize(request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            return try TemoinService.Reply.json(.ok, try await contacts(request).list(device))
        }
        router.post("v1/admin/devices/:device/contacts") { request, context in
            try authorize(request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let operations = try contacts(request)
            let body = try await TemoinService.Reply.decode(ContactRequest.self, request)
            return try TemoinService.Reply.json(.created, try await operations.add(device, body))
        }
        router.put("v1/admin/devices/:device/contacts/person") { request, context in
            try authorize(request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let operations = try contacts(request)
            let body = try await TemoinService.Reply.decode(PersonRequest.self, request)
            return try TemoinService.Reply.json(.ok, try await operations.setPerson(device, body))
        }
        router.delete("v1/admin/devices/:device/contacts/:contact") { request, context in
            try authorize(request)
            let device = try ContactOperations.device(try context.parameters.require("device"))
            let contact = try ContactOperations.contact(try context.parameters.require("contact"))
            return try TemoinService.Reply.json(.ok, try await contacts(request).remove(device, contact: contact))
        }
        router.post("v1/admin/alerts/:alert/links/:contact/revoke") { request, context in
            try authorize(request)
            let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
            let contact = try ContactOperations.contact(try context.parameters.require("contact"))
            return try TemoinService.Reply.json(
                .ok, try await contacts(request).revokeLink(alert: alert, contact: contact))
        }
        // Staff accounts from the operator's shell (`temoin users …`).
        router.post("v1/admin/accounts") { request, _ in
            try authorize(request)
            let body = try await TemoinService.Reply.decode(AccountRequest.self, request)
            let created = try await Accounts(writer: service.writer, reader: publicLog.reader).create(
                name: body.name, role: body.role)
            return try TemoinService.Reply.json(.created, created)
        }
        router.get("v1/admin/accounts") { request, _ in
            try authorize(request)
            return try TemoinService.Reply.json(
                .ok, AccountListResponse(accounts: try publicLog.reader.accounts().map(StaffViews.account)))
        }
        router.post("v1/admin/accounts/revoke") { request, _ in
            try authorize(request)
            let body = try await TemoinService.Reply.decode(AccountRevokeRequest.self, request)
            let name = try StaffText.parse(body.name, field: "name")
            guard let account = try publicLog.reader.accounts().first(where: { $0.name == name && !$0.isRevoked })
            else {
                throw TemoinError(.accountUnknown, "there is no active account named '\(name)'")
            }
            return try TemoinService.Reply.json(
                .ok, try await Accounts(writer: service.writer, reader: publicLog.reader).revoke(account))
        }
    }
}

extension PublicLog {
    func recording(alert: AlertID) throws(TemoinError) -> [UInt8] { try reader.recording(alert: alert).bytes }
}
