public import ArgumentParser
import TemoinCore
import TemoinCrypto
import TemoinLedger

/// `temoin`: the service and its administration.
public struct Temoin: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "temoin",
        abstract: "Témoin — preuves audio horodatées et signées / signed, auditable audio evidence.",
        subcommands: [
            Init.self, Serve.self, Enroll.self, Users.self, BackupCommand.self, RestoreCommand.self, Ingest.self,
            RecordingCommand.self, Export.self, Keys.self,
            Audit.self,
            Log.self, Migrate.self, Erase.self, Hold.self, Release.self, Contacts.self, Links.self,
        ]
    )

    public init() {}

    /// Runs the command line and exits with 0 (success), 1 (invalid or tampered evidence) or
    /// 2 (unusable input, usage, environment). Every error is mapped here, explicitly.
    public static func runMain(_ arguments: [String]? = nil) async -> Int32 {
        await CommandLineRunner.run(Temoin.self, arguments)
    }
}

/// Runs a root command (`temoin`, `temoin-bench`) and maps every outcome to the exit codes of
/// Docs/architecture.md: 0 success (help included), 1 invalid or tampered evidence, 2 otherwise.
package enum CommandLineRunner {
    package static func run(_ root: any ParsableCommand.Type, _ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try root.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as TemoinError {
            Output.error("erreur / error: \(error)")
            return error.exitCode
        } catch let error as CommandFailed {
            return error.exitCode
        } catch {
            // Help and version requests are successes; every other parser error is a usage error.
            if root.exitCode(for: error) == .success {
                Output.line(root.fullMessage(for: error))
                return 0
            }
            Output.error(root.fullMessage(for: error))
            return 2
        }
    }
}

/// A command that already reported its outcome and only needs to exit non-zero.
package struct CommandFailed: Error {
    package let exitCode: Int32

    package init(exitCode: Int32) {
        self.exitCode = exitCode
    }
}

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "Dossier de données / data folder.")
    var data: String = "./temoin-data"

    var directory: DataDirectory { DataDirectory(data) }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Crée un registre / create a ledger: keys, database, genesis entry, local ingest device.")

    @OptionGroup var options: DataOption
    @Option(help: "Origine du journal (C2SP) / log origin, e.g. example.org/temoin. Default: a unique random one.")
    var origin: String?

    func run() async throws {
        let created = try await Ledger.initialize(directory: options.directory, origin: origin)
        Output.line("Registre créé / ledger created: \(options.data)")
        Output.line("Origine / origin: \(created.origin)")
        Output.line("Appareil d'enregistrement local / local ingest device: \(created.ingestDevice)")
        Output.line(
            "Empreinte du certificat d'export / export certificate SHA-256: \(created.exportCertificateSHA256.hex)")
        Output.line("Clé de vérification du journal / log verifier key:")
        Output.line(created.verifierKey.description)
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Vérifie tout le registre / re-verify every entry, node, blob and checkpoint.")

    @OptionGroup var options: DataOption

    func run() async throws {
        let report = try Auditor(directory: options.directory).run()
        for p in report.problems { Output.line("ÉCHEC / FAIL  \(p)") }
        let counts =
            "\(report.entries) entrées/entries, \(report.nodes) nœuds/nodes, \(report.checkpoints) points de "
            + "contrôle/checkpoints, \(report.blobs) blobs"
        for alert in report.erasedAlerts {
            Output.line(
                "EFFACÉE / ERASED  alerte/alert \(alert)"
                    + (report.unfinishedErasures.contains(alert)
                        ? " — à terminer / to finish: temoin erase --data \(options.data) --alert \(alert) "
                            + "--reason …"
                        : ""))
        }
        for (alert, references) in report.heldAlerts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            Output.line("GEL / HELD  alerte/alert \(alert): " + references.joined(separator: ", "))
        }
        for rotation in report.masterKeyRotations {
            Output.line(
                "CLÉ MAÎTRESSE / MASTER KEY  renouvelée / rotated: entrée/entry \(rotation.index), "
                    + "\(rotation.time), nouvelle / new \(rotation.id)")
        }
        if report.unfinishedMasterKeyRotation {
            Output.line(
                "ATTENTION / WARNING  rotation de la clé maîtresse interrompue / master-key rotation cut short: "
                    + "temoin keys rotate-master --data \(options.data)")
        }
        if report.plaintextBlobs > 0 {
            Output.line(
                "ATTENTION / WARNING  \(report.plaintextBlobs) blob(s) non chiffré(s) / not encrypted yet: "
                    + "temoin migrate --data \(options.data)")
        }
        if report.passed {
            Output.line("RÉUSSI / PASS  \(counts)")
        } else {
            Output.line("ÉCHEC / FAIL  \(report.problems.count) problème(s) / problem(s); \(counts)")
            throw CommandFailed(exitCode: 1)
        }
    }
}

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Point de contrôle et preuves / checkpoint and proofs, byte for byte.",
        subcommands: [CheckpointCommand.self, Prove.self])

    struct CheckpointCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Écrit le dernier point de contrôle signé / write the latest signed checkpoint.")

        @OptionGroup var options: DataOption

        func run() async throws {
            Output.write(try LedgerReader(directory: options.directory).latestCheckpoint().bytes)
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Écrit une preuve tlog-proof de l'entrée N / write a C2SP tlog-proof of entry N.")

        @OptionGroup var options: DataOption
        @Option(help: "Index de l'entrée / entry index.")
        var index: UInt64

        func run() async throws {
            Output.write(try LedgerReader(directory: options.directory).proof(index: index).bytes)
        }
    }
}
