public import TemoinCore

/// The fixed texts of a bundle, rendered from verified values only, so `temoin-verify` can render
/// them again and compare them byte for byte. Part of the format: each format version keeps its
/// own text forever, so a newer verifier still checks older bundles.
public enum BundleTexts {
    /// README.txt (French, then English) of a bundle of `format` (v3 has v2's text).
    public static func readme(alert: AlertID, origin: String, format: String = ExportManifest.currentFormat) -> String {
        format == ExportManifest.formatV1
            ? readmeV1(alert: alert, origin: origin) : readmeV2(alert: alert, origin: origin)
    }

    /// `temoin-export/v2`: says where the verifier comes from (the log's operator, as a package
    /// with its guide and checksums), and names no file the recipient does not have.
    static func readmeV2(alert: AlertID, origin: String) -> String {
        """
        Témoin — export de l'alerte \(alert) (journal \(origin))
        =====================================================================

        Ce dossier est une preuve vérifiable hors ligne. Les fichiers originals/ sont les
        enregistrements tels que reçus du téléphone : ce sont eux qui font foi.
        recording.opus est un dérivé Opus avec perte, pour l'écoute (VLC, navigateur).
        custody-report.html résume la chaîne de conservation, pour la lecture.
        Pour vérifier, il faut le vérificateur temoin-verify et la clé du journal, remis tous deux
        par l'exploitant du journal \(origin) par un canal de confiance, jamais avec cet export :
        le paquet temoin-verify-VERSION-linux-x86_64.tar.gz contient l'outil, son guide
        (verifying.md, français et anglais) et ses empreintes (sha256sum -c SHA256SUMS). Puis :
          temoin-verify CE-DOSSIER-OU-SON-ZIP --log-key 'CLÉ DU JOURNAL'
        log-key.txt n'en est qu'une copie, qui ne prouve rien seule.
        Toute modification, suppression ou ajout de fichier fait échouer la vérification.

        Témoin — export of alert \(alert) (log \(origin))

        This folder is evidence that can be checked offline. The files in originals/ are the
        recordings as received from the phone: they are the evidence. recording.opus is a lossy
        Opus derivative for listening (VLC, browsers). custody-report.html sums up the chain of
        custody, for reading. To verify, you need the temoin-verify verifier and the log's key,
        both handed over by the operator of log \(origin) through a trusted channel, never with
        this export: the package temoin-verify-VERSION-linux-x86_64.tar.gz holds the tool, its
        guide (verifying.md, French and English) and its checksums (sha256sum -c SHA256SUMS). Then:
          temoin-verify THIS-FOLDER-OR-ITS-ZIP --log-key 'THE LOG KEY'
        log-key.txt is only a copy of the key and proves nothing on its own.
        Changing, removing or adding any file makes verification fail.

        """
    }

    /// `temoin-export/v1`, unchanged: its bundles still verify.
    static func readmeV1(alert: AlertID, origin: String) -> String {
        """
        Témoin — export de l'alerte \(alert) (journal \(origin))
        =====================================================================

        Ce dossier est une preuve vérifiable hors ligne. Les fichiers originals/ sont les
        enregistrements tels que reçus du téléphone : ce sont eux qui font foi.
        recording.opus est un dérivé Opus avec perte, pour l'écoute (VLC, navigateur).
        Pour vérifier : voir custody-report.html, et Docs/verifying.md de Témoin :
          openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json -CAfile export-cert.pem
          temoin-verify . --log-key "$(cat log-key.txt)"   (la clé doit venir d'une source de confiance)
        Toute modification, suppression ou ajout de fichier fait échouer la vérification.

        Témoin — export of alert \(alert) (log \(origin))

        This folder is evidence that can be checked offline. The files in originals/ are the
        recordings as received from the phone: they are the evidence. recording.opus is a lossy
        Opus derivative for listening (VLC, browsers). To verify: see custody-report.html and
        Témoin's Docs/verifying.md (commands above; take the log key from a trusted source).
        Changing, removing or adding any file makes verification fail.

        """
    }
}
