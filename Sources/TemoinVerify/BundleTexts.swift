public import TemoinCore

/// The fixed texts of a bundle, rendered from verified values only, so `temoin-verify` can render
/// them again and compare them byte for byte. Part of format `temoin-export/v1`.
public enum BundleTexts {
    /// README.txt (French, then English).
    public static func readme(alert: AlertID, origin: String) -> String {
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
