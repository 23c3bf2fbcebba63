import ArgumentParser
import Foundation
import TemoinAPI
import TemoinCore
import TemoinLedger

/// `temoin migrate`: seals the blobs of a data folder made before encryption at rest.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Chiffre un dossier ancien / encrypt the blobs of a data folder made before encryption at rest "
            + "(resumable; the service must be stopped).")

    @OptionGroup var options: DataOption

    func run() async throws {
        let report = try await BlobMigration.run(directory: options.directory)
        Output.line(
            "Chiffrés / sealed: \(report.sealed) blob(s), déjà chiffrés / already sealed: \(report.alreadySealed), "
                + "\(report.alerts) alerte(s)/alert(s)")
        if report.temporaryFilesRemoved > 0 {
            Output.line("Fichiers temporaires supprimés / temporary files removed: \(report.temporaryFilesRemoved)")
        }
        for alert in report.erasedSkipped {
            Output.line("Effacement à terminer / erasure to finish: temoin erase --alert \(alert) (blobs remain)")
        }
    }
}

/// `temoin erase`: crypto-shredding of one alert's data, through the running service if there is
/// one (as `temoin enroll`).
struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Efface les données d'une alerte / erase an alert's data: its key destroyed, its audio and "
            + "locations deleted; the ledger keeps its entries (Docs/security.md).")

    @OptionGroup var options: DataOption
    @Option(help: "Alerte / alert id (32 hex digits).") var alert: String
    @Option(help: "Motif / reason (court order, request), recorded in the ledger.") var reason: String

    func run() async throws {
        guard let id = AlertID(alert) else {
            throw TemoinError(.alertBadID, "alert ids are 32 lowercase hex digits")
        }
        let reason = try StaffText.parse(self.reason, field: "reason")
        let erased: ErasedResponse
        switch try Administration.route(options.directory) {
        case .local(let writer):
            guard try LedgerReader(directory: options.directory).opening(alert: id) != nil else {
                throw TemoinError(.alertUnknown, "there is no alert \(id)")
            }
            let appended = try await Erasure.run(
                alert: id, actor: localOperatorID(), role: "operator", reason: reason, writer: writer)
            erased = ErasedResponse(
                alert: id.rawValue, status: appended.isNew ? "erased" : "already-erased", index: appended.index)
        case .service(let url, let token):
            let data = try await Administration.post(
                url, "v1/admin/alerts/\(id)/erase", token: token,
                json: JSONEncoder().encode(EraseRequest(reason: reason)),
                headers: ["Temoin-Operator": localOperatorID()])
            erased = try JSONDecoder().decode(ErasedResponse.self, from: data)
        }
        Output.line(
            (erased.status == "erased" ? "Données effacées / data erased" : "Déjà effacées / already erased")
                + ": alerte/alert \(erased.alert), entrée/entry \(erased.index)")
    }
}

/// `temoin hold` and `temoin release`: a legal hold blocks erasure (by staff, the operator or the
/// retention period) until it is released; both are ledger entries.
struct Hold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Place un gel juridique / place a legal hold on an alert: its data cannot be erased until released.")

    @OptionGroup var options: DataOption
    @Option(help: "Alerte / alert id (32 hex digits).") var alert: String
    @Option(help: "Référence / legal reference (case number, court order), recorded in the ledger.")
    var reference: String

    func run() async throws {
        try await HoldCommand.run(options, alert: alert, reference: reference, placing: true)
    }
}

struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lève un gel juridique / release a legal hold placed under the same reference.")

    @OptionGroup var options: DataOption
    @Option(help: "Alerte / alert id (32 hex digits).") var alert: String
    @Option(help: "Référence du gel / the hold's reference.") var reference: String

    func run() async throws {
        try await HoldCommand.run(options, alert: alert, reference: reference, placing: false)
    }
}

enum HoldCommand {
    static func run(_ options: DataOption, alert: String, reference raw: String, placing: Bool) async throws {
        guard let id = AlertID(alert) else {
            throw TemoinError(.alertBadID, "alert ids are 32 lowercase hex digits")
        }
        let reference = try StaffText.parse(raw, field: "reference")
        let done: HoldResponse
        switch try Administration.route(options.directory) {
        case .local(let writer):
            let reader = try LedgerReader(directory: options.directory)
            guard try reader.opening(alert: id) != nil else {
                throw TemoinError(.alertUnknown, "there is no alert \(id)")
            }
            let appended = try await writer.append(
                LegalHold.draft(
                    alert: id, placing: placing, actor: localOperatorID(), role: "operator", reference: reference))
            done = HoldResponse(
                alert: id.rawValue, status: placing ? "placed" : "released", index: appended.index,
                holds: try reader.activeHolds(id))
        case .service(let url, let token):
            let data = try await Administration.post(
                url, "v1/admin/alerts/\(id)/\(placing ? "hold" : "release")", token: token,
                json: JSONEncoder().encode(HoldRequest(reference: reference)),
                headers: ["Temoin-Operator": localOperatorID()])
            done = try JSONDecoder().decode(HoldResponse.self, from: data)
        }
        Output.line(
            (placing ? "Gel placé / hold placed" : "Gel levé / hold released")
                + ": alerte/alert \(done.alert), entrée/entry \(done.index)")
        Output.line(
            done.holds.isEmpty
                ? "Aucun gel en cours / no hold in force: the alert can be erased"
                : "Gels en cours / holds in force: " + done.holds.joined(separator: ", "))
    }
}
