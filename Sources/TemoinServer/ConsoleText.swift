import TemoinCore

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
        "contacts": ("Personnes de confiance", "Trusted contacts"),
        "manageContacts": ("Gérer", "Manage"),
        "contactsHelp": (
            "Prévenues par SMS, avec un lien de suivi, quand ce téléphone ouvre une alerte (5 au plus). Chaque "
                + "consultation de cette liste est inscrite au registre.",
            "Texted, with a live-location link, when this device opens an alert (at most 5). Every view of this "
                + "list is recorded in the ledger."
        ),
        "position": ("Ordre", "Order"),
        "contactName": ("Nom", "Name"),
        "phone": ("Numéro", "Number"),
        "phoneHelp": (
            "Format international (+33612345678) ou français à dix chiffres (06 12 34 56 78).",
            "International form (+33612345678) or a French number of ten digits (06 12 34 56 78)."
        ),
        "showNumber": ("Afficher", "Show"),
        "remove": ("Retirer", "Remove"),
        "addContact": ("Ajouter une personne", "Add a contact"),
        "add": ("Ajouter", "Add"),
        "noContacts": ("Aucune personne de confiance.", "No trusted contact."),
        "contactsFull": (
            "La liste est complète : retirez une personne avant d'en ajouter une autre.",
            "The list is full: remove a contact before adding another."
        ),
        "personTitle": ("Nom de la personne protégée", "The person's name"),
        "personHelp": (
            "Le nom sous lequel ses proches la connaissent, repris dans le SMS.",
            "The name her contacts know her by, used in the text."
        ),
        "personNone": ("(aucun)", "(none)"),
        "save": ("Enregistrer", "Save"),
        "clear": ("Effacer", "Clear"),
        "refused": ("Refusé", "Refused"),
        "texts": ("SMS aux personnes de confiance", "Texts to the trusted contacts"),
        "noTexts": ("Aucun SMS pour cette alerte.", "No text for this alert."),
        "contact": ("Personne", "Contact"),
        "textState": ("État", "State"),
        "attempts": ("Essais", "Attempts"),
        "lastError": ("Dernière erreur", "Last error"),
        "link": ("Lien de suivi", "Live-location link"),
        "views": ("Vues", "Views"),
        "firstViewed": ("Première vue", "First viewed"),
        "lastViewed": ("Dernière vue", "Last viewed"),
        "linkRevoked": ("fermé", "revoked"),
        "linkOpen": ("ouvert", "open"),
        "noLink": ("pas encore envoyé", "not sent yet"),
        "revokeLink": ("Fermer le lien", "Revoke the link"),
        "text.pending": ("en attente", "pending"),
        "text.sending": ("en cours d'envoi", "sending"),
        "text.sent": ("envoyé", "sent"),
        "text.failed": ("abandonné", "failed"),
    ]

    /// The French of a refusal an error page shows (the English is the error's own reason), or nil.
    static func french(_ e: TemoinError) -> String? {
        switch e.id {
        case .deviceRevoked:
            "Ce téléphone est révoqué : ses personnes de confiance ont été détruites avec lui, "
                + "ou transférées au téléphone qui l'a remplacé."
        case .deviceUnknown: "Ce n'est pas un identifiant de téléphone enrôlé."
        case .ledgerUnknownDevice: "Ce téléphone n'est pas enrôlé."
        case .linkUnknown: "Cette alerte n'a pas de lien de suivi pour cette personne."
        case .linkAlreadyRevoked: "Ce lien de suivi est déjà fermé."
        default: contactRefusal(e, lang: "fr")
        }
    }

    /// What the contacts page says of a refused change (the rest goes to the error page), or nil.
    static func contactRefusal(_ e: TemoinError, lang: String) -> String? {
        let text: (fr: String, en: String)
        switch e.id {
        case .contactsInvalidPhone where e.reason.contains("already"):
            text = ("Ce numéro est déjà dans la liste.", "This number is already in the list.")
        case .contactsInvalidPhone:
            text = (
                "Numéro refusé : donnez-le au format international (+33612345678) ou français à dix chiffres "
                    + "(06 12 34 56 78).",
                "Number refused: give it in international form (+33612345678) or as a French number of ten digits "
                    + "(06 12 34 56 78)."
            )
        case .contactsInvalidName:
            text = (
                "Nom refusé : une ligne de 1 à 64 caractères, sans caractère de contrôle.",
                "Name refused: one line of 1 to 64 characters, without a control character."
            )
        case .contactsTooMany:
            text = (
                "La liste a déjà 5 personnes : retirez-en une avant d'en ajouter une autre.",
                "The list already has 5 contacts: remove one before adding another."
            )
        case .contactUnknown:
            text = (
                "Cette personne n'est pas (ou plus) dans la liste.", "This contact is not (or no longer) in the list."
            )
        default:
            return nil
        }
        return lang == "en" ? text.en : text.fr
    }

    static func strings(_ lang: String) -> [String: String] {
        table.mapValues { lang == "en" ? $0.en : $0.fr }
    }
}
