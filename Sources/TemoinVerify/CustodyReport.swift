public import TemoinCore
import TemoinCrypto

/// custody-report.html: the chain of custody of one alert for people (French first, English too),
/// made only from ledger entries. Device signatures are checked here against the enrolled key.
/// Rendered deterministically: `temoin export` writes it, `temoin-verify` renders it again from the
/// verified entries and requires the bundle's bytes to be identical (what a court reads is proven).
/// Its text is part of the format (`temoin-export/v1` and v2 alike): changing it needs a new format version.
public struct CustodyReport {
    let origin: String
    let alert: AlertID
    let requester: String
    let reference: String
    let entries: [(UInt64, Entry)]
    let checkpoint: SignedCheckpoint
    var deviceKey: [UInt8]?

    public init(
        origin: String, alert: AlertID, requester: String, reference: String, entries: [(UInt64, Entry)],
        checkpoint: SignedCheckpoint, deviceKey: [UInt8]? = nil
    ) {
        self.origin = origin
        self.alert = alert
        self.requester = requester
        self.reference = reference
        self.entries = entries
        self.checkpoint = checkpoint
        self.deviceKey = deviceKey
    }

    static func escape(_ s: String) -> String {
        HTML.escape(s)
    }

    /// "valide / valid", "invalide / INVALID", "sans signature / unsigned" or "non vérifiée / not checked".
    func signatureStatus(_ e: Entry) -> String {
        guard let sig = e["statement-sig"] else { return "—" }
        if sig == "none" { return "sans signature / unsigned" }
        guard let key = deviceKey, let s = Base64.decode(sig),
            let statement = try? DeviceStatement(entry: e, origin: origin)
        else {
            return "non vérifiée / not checked"
        }
        return Ed25519().isValid(signature: s, of: statement.bytes, publicKey: key)
            ? "valide / valid" : "INVALIDE / INVALID"
    }

    func describe(_ e: Entry) -> (String, String) {
        switch e.kind {
        case .alertOpened: return ("Alerte ouverte / Alert opened", "appareil / device \(e["device"] ?? "")")
        case .audioChunk:
            return (
                "Segment audio \(e["seq"] ?? "") / Audio chunk \(e["seq"] ?? "")",
                "capture \(e["capture-start"] ?? ""), \(Double(e.uint("duration-us") ?? 0) / 1e6) s, "
                    + "\(e["original-format"] ?? "")<br>original SHA-256 "
                    + "<code>\(e["original-sha256"] ?? "")</code><br>Opus SHA-256 "
                    + "<code>\(e["opus-sha256"] ?? "")</code>"
            )
        case .location:
            return ("Position / Location", "engagement salé / salted commitment <code>\(e["commitment"] ?? "")</code>")
        case .alertClosed:
            return (
                "Alerte close / Alert closed",
                "par / by \(e["closed-by"] ?? ""), \(e["reason"] ?? ""), dernier segment / last chunk "
                    + "\(e["last-seq"] ?? "")"
            )
        case .chunkMissing:
            return (
                "Segments manquants / Missing chunks",
                "\(e["first-seq"] ?? "")–\(e["last-seq"] ?? "") (\(e["reason"] ?? ""))"
            )
        case .chunkConflict:
            return (
                "Conflit / Conflict",
                "segment \(e["seq"] ?? ""): autres octets gardés en quarantaine / other bytes kept in quarantine "
                    + "<code>\(e["original-sha256"] ?? "")</code>, "
                    + "entrée conservée / kept entry \(e["kept-entry"] ?? "")"
            )
        case .access:
            // The reason is staff's free text: escaped like every other value from outside.
            let reason = e["reason"].flatMap { $0 == "-" ? nil : $0 }
            return (
                "Accès / Access",
                "\(e["role"] ?? "") \(e["action"] ?? "") (\(e["actor"] ?? ""))"
                    + (reason.map { " — motif / reason : " + Self.escape($0) } ?? "")
            )
        case .exportCreated: return ("Export", "tête de chaîne / chain head \(e["head-index"] ?? "")")
        case .holdPlaced, .holdReleased:
            return (
                e.kind == .holdPlaced ? "Gel juridique / Legal hold placed" : "Gel levé / Legal hold released",
                "\(e["role"] ?? "") (\(e["actor"] ?? "")) — référence / reference : "
                    + Self.escape(e["reference"] ?? "")
            )
        case .dataErased:
            // Staff's free text, escaped like every other value from outside.
            return (
                "Effacement / Erasure",
                "\(e["role"] ?? "") (\(e["actor"] ?? "")), portée / scope \(e["scope"] ?? "")"
                    + " — motif / reason : " + Self.escape(e["reason"] ?? "")
            )
        case .smsSent:
            return (
                "SMS envoyé / Text sent",
                "contact \(e["contact"] ?? ""), essai / attempt \(e["attempt"] ?? ""), passerelle / gateway "
                    + "\(e["gateway"] ?? ""), \(e["status"] ?? "") — réf. / ref. "
                    + Self.escape(e["provider-ref"] ?? "")
                    + "<br>SHA-256 du texte / of the text <code>\(e["message-sha256"] ?? "")</code>"
            )
        case .smsFailed:
            let final = e["outcome"] == "given-up"
            return (
                final ? "SMS abandonné / Text given up" : "SMS non envoyé, nouvel essai / Text not sent, retried",
                "contact \(e["contact"] ?? ""), essai / attempt \(e["attempt"] ?? ""), passerelle / gateway "
                    + "\(e["gateway"] ?? ""), motif / reason \(e["reason"] ?? "")"
            )
        case .linkViewed:
            return (
                "Lien de position ouvert / Location link opened",
                "contact \(e["contact"] ?? "") (première vue / first view)"
            )
        case .linkRevoked:
            return (
                "Lien de position révoqué / Location link revoked",
                "contact \(e["contact"] ?? ""), par / by \(e["role"] ?? "") (\(e["actor"] ?? ""))"
            )
        case .keyRotated where e["key-role"] == "master":
            // An entry of no alert: it appears in a report only if a later format adds it.
            return (
                "Clé maîtresse renouvelée / Master key rotated",
                "nouvelle clé / new key <code>\(Self.escape(e["key"] ?? ""))</code>"
            )
        default: return (e.kind.rawValue, "")
        }
    }

    public var html: String {
        var rows = ""
        for (index, e) in entries {
            let (what, detail) = describe(e)
            rows +=
                "<tr><td>\(index)</td><td>\(Self.escape(e.time.description))</td><td>\(Self.escape(what))</td><td>\(detail)</td><td>\(Self.escape(signatureStatus(e)))</td></tr>\n"
        }
        let chunks = entries.filter { $0.1.kind == .audioChunk }.count
        let missing = entries.filter { $0.1.kind == .chunkMissing }.count
        let conflicts = entries.filter { $0.1.kind == .chunkConflict }.count
        return """
            <!DOCTYPE html>
            <html lang="fr"><head><meta charset="utf-8"><title>Témoin — rapport de chaîne de possession / chain of custody report</title>
            <style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:4px;vertical-align:top;font-size:90%}code{font-size:85%;word-break:break-all}.en{color:#444}</style></head>
            <body>
            <h1>Rapport de chaîne de possession</h1>
            <p class="en"><em>Chain of custody report</em></p>
            <p>Alerte / alert <code>\(alert)</code> — journal / log <code>\(Self.escape(origin))</code><br>
            Demandeur / requester : \(Self.escape(requester))<br>Référence / reference : \(Self.escape(reference))<br>
            Point de contrôle / checkpoint : taille / size \(checkpoint.checkpoint.size), racine / root <code>\(checkpoint.checkpoint.root.base64)</code></p>
            <h2>À savoir / What to know</h2>
            <ul>
            <li>Les fichiers <code>originals/</code> sont les enregistrements tels que reçus du téléphone : <strong>ce sont eux qui font foi</strong>. <code>recording.opus</code> est un dérivé Opus avec perte, pour l'écoute.<br><span class="en">The files in <code>originals/</code> are the recordings as received from the phone: <strong>they are the evidence</strong>. <code>recording.opus</code> is a lossy Opus derivative for listening.</span></li>
            <li>Les heures « serveur » sont affirmées par le serveur de Témoin (aucune autorité d'horodatage n'est configurée) ; les heures de capture sont celles de l'horloge du téléphone.<br><span class="en">Server times are asserted by Témoin's server (no timestamp authority is configured); capture times are the phone's clock.</span></li>
            <li>Chaque entrée est dans le journal Merkle (RFC 9162) ; sa preuve d'inclusion est à côté d'elle dans <code>entries/</code>.<br><span class="en">Every entry is in the Merkle log (RFC 9162); its inclusion proof is beside it in <code>entries/</code>.</span></li>
            </ul>
            <h2>Résumé / Summary</h2>
            <p>\(chunks) segments audio / audio chunks, \(missing) trou(s) / gap(s), \(conflicts) conflit(s) / conflict(s).</p>
            <h2>Chronologie / Timeline</h2>
            <table><tr><th>Entrée / entry</th><th>Heure serveur / server time (UTC)</th><th>Événement / event</th><th>Détails / details</th><th>Signature de l'appareil / device signature</th></tr>
            \(rows)</table>
            </body></html>

            """
    }
}
