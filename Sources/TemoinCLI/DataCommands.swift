import ArgumentParser
import Foundation
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
