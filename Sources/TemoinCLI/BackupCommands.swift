import ArgumentParser
import Foundation
import TemoinCore
import TemoinLedger

/// `temoin backup`: a consistent copy of a data folder, while the service runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "Sauvegarde cohérente, service en marche / a consistent backup while the service runs (never the "
            + "master key: keep it apart).")

    @OptionGroup var options: DataOption
    @Option(help: "Dossier de sauvegarde à créer / the backup folder to create.") var out: String

    func run() async throws {
        let summary = try Backup.make(of: options.directory, to: out)
        Output.line(
            "Sauvegarde écrite / backup written: \(out) (\(summary.size) entrées/entries, \(summary.blobs) blobs, "
                + "racine/root \(summary.root))")
        Output.line(
            "La clé maîtresse n'y est pas : gardez-la à part / the master key is not in it: keep it apart "
                + "(\(options.directory.keysFolder)/\(Backup.masterKeyName)).")
    }
}

/// `temoin restore`: a backup into an empty folder, audited before it is declared good.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract:
            "Restaure une sauvegarde dans un dossier vide / restore a backup into an empty folder, then audit it.")

    @Option(help: "Dossier de sauvegarde / the backup folder.") var backup: String
    @Option(help: "Fichier de la clé maîtresse / the master key file, kept apart from backups.") var masterKey: String
    @Option(name: .customLong("data"), help: "Dossier à créer / the (empty) data folder to restore into.")
    var data: String

    func run() async throws {
        let summary = try Backup.restore(from: backup, masterKey: masterKey, into: data)
        let report = try Auditor(directory: DataDirectory(data)).run()
        for p in report.problems { Output.line("ÉCHEC / FAIL  \(p)") }
        guard report.passed else {
            throw TemoinError(
                .backupCorrupt, category: .invalidEvidence,
                "the restored ledger fails the audit (\(report.problems.count) problems); do not use it", context: data)
        }
        Output.line(
            "Restauré et vérifié / restored and audited: \(data) (\(summary.size) entrées/entries, origine/origin "
                + "\(summary.origin)); le service reprend à ce point de contrôle / the service continues from this "
                + "checkpoint.")
    }
}
