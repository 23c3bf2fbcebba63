import ArgumentParser
import Foundation
import TemoinCore
import TemoinLedger

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exporte une alerte / write an alert's signed export bundle for police or a court (Docs/export.md).")

    @OptionGroup var options: DataOption
    @Option(help: "Identifiant de l'alerte / alert id.") var alert: String
    @Option(help: "Dossier à créer / the folder to create.") var out: String
    @Option(help: "Demandeur / requester (e.g. the investigating officer's unit).") var requester: String
    @Option(help: "Référence / reference (e.g. the procedure number).") var reference: String

    func run() async throws {
        let writer: LedgerWriter
        switch try Administration.route(options.directory) {
        case .local(let w): writer = w
        case .service:
            throw TemoinError(.usage, code: "export.service-running",
                              "exports are written with the service stopped for now (the export API comes with staff roles)")
        }
        let exported = try await Exporter(directory: options.directory).export(
            alert: alert, to: out, requester: requester, reference: reference, writer: writer)
        Output.line("Export écrit / export written: \(exported.folder) (\(exported.files.count + 2) fichiers/files, entrée/entry \(exported.exportIndex))")
        Output.line("Vérifier / verify: openssl cms -verify -binary -inform DER -in \(out)/manifest.json.p7s -content \(out)/manifest.json -CAfile \(out)/export-cert.pem -out /dev/null")
    }
}
