/// The console's words, French first (Docs/console.md). Each page gets the table of its language
/// as `t`; `lang` is the page's `lang` attribute.
enum ConsoleText {
    static let table: [String: (fr: String, en: String)] = [
        "title": ("Témoin — console du personnel", "Témoin — staff console"),
        "skip": ("Aller au contenu", "Skip to content"),
        "signIn": ("Se connecter", "Sign in"),
        "signOut": ("Se déconnecter", "Sign out"),
        "token": ("Jeton du compte", "Account token"),
        "tokenHelp": ("Le jeton remis à la création du compte (tmn_…).", "The token given when the account was made."),
        "signedInAs": ("Connecté·e :", "Signed in:"),
        "otherLang": ("English", "Français"),
        "alerts": ("Alertes", "Alerts"),
        "devices": ("Téléphones", "Devices"),
        "verify": ("Vérifier un export", "Verify a bundle"),
        "home": ("Accueil", "Home"),
        "openAlert": ("Ouvrir une alerte par son identifiant", "Open an alert by its id"),
        "alertId": ("Identifiant de l'alerte", "Alert id"),
        "open": ("Ouvrir", "Open"),
        "noEvidence": (
            "Ce rôle n'a accès à aucune preuve.", "This role has no access to evidence."
        ),
        "status": ("État", "Status"),
        "any": ("Toutes", "Any"),
        "statusOpen": ("en cours", "open"),
        "statusClosed": ("close", "closed"),
        "from": ("Ouvertes depuis (UTC)", "Opened from (UTC)"),
        "to": ("Ouvertes avant (UTC)", "Opened before (UTC)"),
        "device": ("Téléphone", "Device"),
        "filter": ("Filtrer", "Filter"),
        "next": ("Page suivante", "Next page"),
        "none": ("Aucune alerte.", "No alert."),
        "openedAt": ("Ouverte", "Opened"),
        "closedAt": ("Close", "Closed"),
        "chunks": ("Segments", "Chunks"),
        "alert": ("Alerte", "Alert"),
        "timeline": ("Chronologie", "Timeline"),
        "recording": ("Enregistrement", "Recording"),
        "recordingHelp": (
            "Chaque lecture est inscrite au registre.", "Every playback is recorded in the ledger."
        ),
        "locations": ("Positions", "Locations"),
        "plotTitle": ("Tracé des positions relevées", "Plot of the location fixes"),
        "chunkStatus": ("État des segments", "Chunk status"),
        "seq": ("N°", "Seq"),
        "entry": ("Entrée", "Entry"),
        "captured": ("Capté", "Captured"),
        "duration": ("Durée (s)", "Duration (s)"),
        "signed": ("Signé par le téléphone", "Device signature"),
        "included": ("Dans le dernier point de contrôle", "In the latest checkpoint"),
        "yes": ("oui", "yes"),
        "no": ("non", "no"),
        "custody": ("Historique de garde", "Custody history"),
        "kind": ("Type", "Kind"),
        "time": ("Heure", "Time"),
        "details": ("Détails", "Details"),
        "export": ("Exporter", "Export"),
        "exportHelp": (
            "Produit l'archive signée (zip) ; l'export est inscrit au registre.",
            "Makes the signed bundle (zip); the export is recorded in the ledger."
        ),
        "requester": ("Demandeur (service, juridiction)", "Requester (unit, court)"),
        "reference": ("Référence légale (réquisition, PV)", "Legal reference (requisition, report)"),
        "referenceRequired": ("obligatoire pour la police", "required for the police"),
        "verifyHelp": (
            "Vérifie une archive d'export avec le même code que temoin-verify (64 Mio au plus).",
            "Checks a bundle zip with the same code as temoin-verify (64 MiB at most)."
        ),
        "bundle": ("Archive zip de l'export", "Bundle zip"),
        "check": ("Vérifier", "Verify"),
        "report": ("Rapport", "Report"),
        "passed": (
            "RÉUSSI : l'export est intègre et complet", "PASS: the bundle is intact and complete"
        ),
        "failed": (
            "ÉCHEC : l'export ne peut pas être tenu pour intègre", "FAIL: the bundle cannot be trusted"
        ),
        "enroll": ("Enrôler un téléphone", "Enroll a device"),
        "publicKey": ("Clé publique Ed25519 (base64)", "Ed25519 public key (base64)"),
        "label": ("Libellé", "Label"),
        "replaces": ("Remplace le téléphone (identifiant, facultatif)", "Replaces device (id, optional)"),
        "enrolled": ("Enrôlé", "Enrolled"),
        "revoked": ("Révoqué", "Revoked"),
        "lastAlert": ("Dernière alerte", "Last alert"),
        "revoke": ("Révoquer", "Revoke"),
        "done": ("Fait : entrée", "Done: entry"),
        "error": ("Erreur", "Error"),
        "back": ("Retour à l'accueil", "Back to the home page"),
        "paris": ("heure de Paris", "Paris time"),
        "erased": ("Données effacées", "Data erased"),
        "gap": ("Segments manquants", "Missing chunks"),
        "conflict": ("Conflit sur le segment", "Conflict on chunk"),
        "location": ("Position", "Location"),
        "closed": ("Clôture", "Close"),
        "opened": ("Ouverture", "Opening"),
        "chunk": ("Segment", "Chunk"),
    ]

    static func strings(_ lang: String) -> [String: String] {
        table.mapValues { lang == "en" ? $0.en : $0.fr }
    }
}
