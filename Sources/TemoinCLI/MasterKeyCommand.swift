import ArgumentParser
import TemoinCore
import TemoinLedger

/// `temoin keys rotate-master`: a new master key, every wrapped key re-wrapped under it, the old
/// one destroyed (Docs/storage.md, "Rotating the master key"). The service must be stopped.
struct RotateMaster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-master",
        abstract:
            "Change la clé maîtresse / make a new master key: every alert and device key re-wrapped under it "
            + "(key.rotated), the old one destroyed; backups made before then need the old key (resumable).")

    @OptionGroup var options: DataOption
    @Option(
        name: .customLong("keep-old"),
        help: ArgumentHelp(
            "Écrit l'ancienne clé dans ce fichier (hors du dossier de données) pour restaurer les sauvegardes "
                + "d'avant / write the old key to this file (outside the data folder) to restore older backups."))
    var keepOld: String?

    func run() async throws {
        try MasterKeyRotation.checkKeepOld(keepOld, directory: options.directory)
        guard case .local(let writer) = try Administration.route(options.directory) else {
            throw TemoinError(.keysServiceRunning, "stop the service to rotate the master key")
        }
        let report = try await MasterKeyRotation.run(writer: writer, keepOld: keepOld)
        for line in Self.lines(report, data: options.data) { Output.line(line) }
    }

    static func lines(_ report: MasterKeyRotation.Report, data: String) -> [String] {
        var out = [String]()
        switch report.resumed {
        case .no: break
        case .beforeCommit:
            out.append(
                "Reprise d'une rotation interrompue avant sa validation / resuming a rotation cut before its commit")
        case .afterCommit:
            out.append(
                "Rotation interrompue après sa validation : nouvelle clé installée / a rotation cut after its "
                    + "commit: the new key is now installed")
        }
        if let entry = report.entry {
            out.append(
                "Clé maîtresse renouvelée / master key rotated (key.rotated, entrée/entry \(entry)): "
                    + "\(report.alertKeys) clé(s) d'alerte / alert key(s), \(report.deviceKeys) clé(s) d'appareil / "
                    + "device key(s) re-chiffrée(s) / re-wrapped")
        }
        out.append("Ancienne clé maîtresse / old master key: \(report.oldID)")
        out.append("Nouvelle clé maîtresse / new master key: \(report.newID)")
        out.append(
            "IMPORTANT : les sauvegardes faites avant maintenant ne s'ouvrent qu'avec l'ANCIENNE clé maîtresse "
                + "(\(report.oldID)). Détruisez-la, et ces sauvegardes, dès que leur durée de conservation est "
                + "passée : c'est ce qui fait qu'un effacement atteint aussi les anciennes sauvegardes.")
        out.append(
            "IMPORTANT: backups made before now open only with the OLD master key (\(report.oldID)). Destroy it, "
                + "and those backups, once their retention has passed: that is what makes an erasure reach old "
                + "backups too.")
        if let kept = report.keptOld {
            out.append(
                "Ancienne clé maîtresse écrite dans / old master key written to \(kept) (\(report.oldID), 0600): "
                    + "seulement pour restaurer les sauvegardes d'avant, à détruire à leur expiration / only to "
                    + "restore backups made before, to destroy when they expire.")
        } else {
            out.append(
                "L'ancienne clé n'est plus dans keys/ : sans une copie gardée à part, les sauvegardes d'avant sont "
                    + "déjà illisibles / the old key is no longer in keys/: without a copy kept apart, backups made "
                    + "before are already unreadable.")
        }
        if !report.oldFileOverwritten {
            out.append(
                "Le fichier de l'ancienne clé a un autre nom sur ce disque (un lien) : laissé tel quel / the old "
                    + "key's file has another name on this disk (a link): left as it is.")
        }
        out.append(
            "Faites une sauvegarde maintenant et gardez la nouvelle clé à part / take a fresh backup now and keep "
                + "the new key apart: temoin backup --data \(data) --out …; \(data)/keys/master.key")
        return out
    }
}
