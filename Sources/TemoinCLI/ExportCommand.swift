import ArgumentParser
import Foundation
import TemoinCore
import TemoinLedger
import TemoinExport
import TemoinCrypto

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exporte une alerte / write an alert's signed export bundle for police or a court (Docs/export.md).")

    @OptionGroup var options: DataOption
    @Option(help: "Identifiant de l'alerte / alert id.") var alert: AlertID
    @Option(help: "Dossier à créer / the folder to create.") var out: String
    @Option(help: "Demandeur / requester (e.g. the investigating officer's unit).") var requester: String
    @Option(help: "Référence / reference (e.g. the procedure number).") var reference: String

    func run() async throws {
        let writer: LedgerWriter
        switch try Administration.route(options.directory) {
        case .local(let w): writer = w
        case .service:
            throw TemoinError(
                .exportServiceRunning,
                "the service is running and holds the ledger: export through it (the console's alert page, or "
                    + "POST /v1/staff/alerts/\(alert)/exports with a legal or police account: Docs/api.md), "
                    + "or stop it first")
        }
        let exported = try await Exporter(directory: options.directory).export(
            alert: alert, to: out, requester: requester, reference: reference, writer: writer)
        Output.line(
            "Export écrit / export written: \(exported.folder) (\(exported.files.count + 2) fichiers/files, "
                + "entrée/entry \(exported.exportIndex))"
        )
        Output.line(
            "Vérifier / verify: openssl cms -verify -binary -inform DER -partial_chain -in \(out)/manifest.json.p7s "
                + "-content \(out)/manifest.json -CAfile \(out)/export-cert.pem -out /dev/null"
        )
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clés / keys.", subcommands: [UseExportCertificate.self, RotateLog.self, RotateMaster.self])

    struct UseExportCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "use-export-certificate",
            abstract:
                "Installe sa propre clé et son certificat d'export / install your own ECDSA P-256 export key and "
                + "certificate (recorded as key.rotated)."
        )

        @OptionGroup var options: DataOption
        @Option(help: "Clé privée P-256 (PEM) / P-256 private key (PEM).") var key: String
        @Option(help: "Son certificat X.509 (PEM) / its X.509 certificate (PEM).") var cert: String

        func run() async throws {
            guard case .local(let writer) = try Administration.route(options.directory) else {
                throw TemoinError(.keysServiceRunning, "stop the service to change the export key")
            }
            let index = try await Exporter(directory: options.directory).useExportCertificate(
                keyPEM: readInput(key, limit: 1 << 16), certificatePEM: readInput(cert, limit: 1 << 20), writer: writer)
            Output.line(
                "Certificat d'export installé / export certificate installed (key.rotated, entrée/entry \(index))")
        }
    }

    struct RotateLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-log",
            abstract:
                "Change la clé du journal / make a new log key: key.rotated signed by the old and the new key "
                + "(Docs/ledger-format.md §3); the old private key is removed."
        )

        @OptionGroup var options: DataOption

        func run() async throws {
            guard case .local(let writer) = try Administration.route(options.directory) else {
                throw TemoinError(.keysServiceRunning, "stop the service to rotate the log key")
            }
            let old = writer.verifierKey
            let appended = try await writer.rotateLogKey(to: Ed25519PrivateKey.generate())
            Output.line(
                "Clé du journal changée / log key rotated (key.rotated, entrée/entry \(appended.index)); "
                    + "ancienne / old \(old.keyIDHex), nouvelle / new:")
            Output.line(writer.verifierKey.description)
        }
    }
}
