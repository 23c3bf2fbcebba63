import Foundation
public import TemoinCore
import TemoinCrypto
import TemoinRecording
#if canImport(Glibc)
import Glibc
#endif

/// One verdict: what was checked, on what, and what was found (French and English).
public struct VerificationCheck: Sendable, Encodable {
    public let check: String
    public let subject: String
    public let passed: Bool
    public let fr: String
    public let en: String
}

/// Everything `temoin-verify` found in a bundle.
public struct VerificationReport: Sendable, Encodable {
    public var checks: [VerificationCheck] = []
    /// Gaps, conflicts and unsigned statements the ledger records (information, not failures).
    public var notes: [String] = []
    public var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
}

/// Checks an export bundle offline against a trusted log key (Docs/verifying.md). Only input that
/// cannot be used at all (no folder, a folder that is not a bundle) throws; everything else
/// becomes a PASS or FAIL line.
///
/// Nothing in the folder is taken on trust: the exact file set is derived from the entries the
/// log proves (every name, every type), the manifest must be canonical and each of its fields is
/// checked against those entries, the human-readable files are rendered again from them and must
/// be identical, and the CMS signature is judged at the time the log recorded the export.
public struct BundleVerifier {
    public let folder: String
    public let trustedKey: VerifierKey
    private var report = VerificationReport()

    /// Whole-read limits: nothing larger than these is read into memory (Docs/export.md).
    static let manifestLimit = 16 << 20
    static let proofLimit = 64 << 10
    static let smallFileLimit = 64 << 10

    public init(folder: String, trustedKey: VerifierKey) {
        self.folder = folder
        self.trustedKey = trustedKey
    }

    private mutating func record(_ check: String, _ subject: String, _ passed: Bool, _ fr: String, _ en: String) {
        report.checks.append(VerificationCheck(check: check, subject: subject, passed: passed, fr: fr, en: en))
    }

    private mutating func fail(_ check: String, _ subject: String, _ fr: String, _ en: String) {
        record(check, subject, false, fr, en)
    }

    /// "français / English" (a zip refusal's reason) as its two halves.
    static func split(_ reason: String) -> (String, String) {
        guard let r = reason.range(of: " / ") else { return (reason, reason) }
        return (String(reason[..<r.lowerBound]), String(reason[r.upperBound...]))
    }

    public mutating func run() throws(TemoinError) -> VerificationReport {
        let bundle: any BundleSource
        var st = stat()
        if stat(folder, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
            // A zip of the bundle, read in place; refused whole if its structure is not sound.
            do {
                bundle = try ZipBundle(path: folder)
            } catch  where error.id == .zipNotZip {
                throw TemoinError(
                    .verifyNotABundle,
                    "ce fichier n'est ni un export Témoin ni une archive zip / "
                        + "this file is not a Témoin export bundle nor a zip archive",
                    context: folder)
            } catch  where error.category == .usage || error.category == .environment {
                throw error
            } catch {
                let (fr, en) = Self.split(error.reason)
                let at = error.context.map { " (\($0))" } ?? ""
                fail(
                    "archive", String(folder.split(separator: "/").last ?? "archive"),
                    "archive zip refusée : \(fr)\(at) [\(error.code)]",
                    "zip archive refused: \(en)\(at) [\(error.code)]")
                return report
            }
        } else {
            bundle = try BundleFolder(path: folder)
        }
        // 1. The file set, read without loss: raw names, lstat types, nothing followed.
        let (items, truncated) = bundle.list()
        let topLevel = Set(items.compactMap { $0.path.contains(0x2f) ? nil : $0.name })
        guard topLevel.contains("manifest.json") || topLevel.contains("manifest.json.p7s") else {
            throw TemoinError(
                .verifyNotABundle,
                "ce dossier (ou cette archive) n'est pas un export Témoin (ni manifest.json ni manifest.json.p7s) / "
                    + "this folder (or archive) is not a Témoin export bundle "
                    + "(no manifest.json, no manifest.json.p7s)",
                context: folder)
        }
        if truncated {
            fail(
                "files", ".", "plus de \(BundleFolder.maximumItems) noms : dossier refusé",
                "more than \(BundleFolder.maximumItems) names: folder refused")
        }
        var present = Set<String>()
        var sizes: [String: Int64] = [:]
        for item in items {
            guard let name = item.name else {
                fail(
                    "files", item.display, "nom de fichier qui n'est pas de l'UTF-8 : le format ne le définit pas",
                    "file name is not UTF-8: the format defines no such file")
                continue
            }
            switch item.kind {
            case .file(let size):
                present.insert(name)
                sizes[name] = size
            case .directory:
                if !BundleLayout.folders.contains(name) {
                    fail("files", name, "dossier que le format ne définit pas", "folder the format does not define")
                }
            case .symbolicLink:
                fail(
                    "files", name, "lien symbolique dans l'export : le format n'en définit aucun",
                    "symbolic link inside the bundle: the format defines none")
            case .other:
                fail(
                    "files", name, "fichier spécial (FIFO, socket, périphérique) : le format n'en définit aucun",
                    "special file (FIFO, socket, device): the format defines none")
            }
        }

        // 2. The checkpoint and the trusted key: everything else rests on them.
        guard case .bytes(let checkpointBytes) = bundle.read("checkpoint", limit: SignedNote.maximumSize),
            let checkpoint = try? SignedCheckpoint(parsing: checkpointBytes)
        else {
            fail(
                "checkpoint", "checkpoint", "point de contrôle absent ou illisible : rien ne peut être prouvé",
                "checkpoint missing or unreadable: nothing can be proven")
            return report
        }
        let origin = checkpoint.checkpoint.origin
        guard origin == trustedKey.name else {
            fail(
                "checkpoint", "checkpoint",
                "cet export vient du journal « \(origin) », la clé donnée est celle du journal « "
                    + "\(trustedKey.name) » : ce n'est pas la clé de ce journal",
                "this bundle comes from log \"\(origin)\" but the key given is log \"\(trustedKey.name)\"'s: it is "
                    + "not this log's key"
            )
            return report
        }
        // 2b. The log-key transitions (v3): from the key given to the key that signs the checkpoint.
        guard let (transitions, start) = readTransitions(bundle, present: present) else { return report }
        var signingKey = trustedKey
        for t in transitions[start...] {
            guard let next = checkTransition(t, from: signingKey, checkpoint: checkpoint) else { return report }
            signingKey = next
        }
        guard (try? checkpoint.verify(key: signingKey, using: Ed25519())) != nil else {
            let signedByKey = checkpoint.note.signatures.contains {
                $0.name == signingKey.name && $0.keyID == signingKey.keyID
            }
            if signedByKey {
                fail(
                    "checkpoint", "checkpoint", "la signature du journal ne vérifie pas : point de contrôle modifié",
                    "the log's signature does not verify: the checkpoint was altered")
            } else {
                fail(
                    "checkpoint", "checkpoint",
                    "point de contrôle non signé par la clé donnée ni par une clé où mène "
                        + "un changement de clé prouvé dans l'export (autre clé du journal « \(origin) ») : rien ne peut être prouvé",
                    "checkpoint not signed by the key given, nor by a key a log-key transition proven in the bundle "
                        + "leads to (another key of log \"\(origin)\"): nothing can be proven")
            }
            return report
        }
        let onlyLogSignature = checkpoint.note.signatures.count == 1
        let rotated = signingKey == trustedKey ? "" : " (\(signingKey.keyIDHex))"
        record(
            "checkpoint", "checkpoint", onlyLogSignature,
            onlyLogSignature
                ? "signé par la clé du journal\(rotated)"
                : "signatures en plus de celle du journal, que rien ne vérifie",
            onlyLogSignature
                ? "signed by the log key\(rotated)" : "signatures besides the log's, which nothing verifies")

        // 3. The manifest: canonical bytes only (no duplicate or unknown key, one spelling).
        let manifestRead = bundle.read("manifest.json", limit: Self.manifestLimit)
        guard case .bytes(let manifestBytes) = manifestRead,
            let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(manifestBytes)),
            ExportManifest.readableFormats.contains(manifest.format)
        else {
            if case .tooLarge = manifestRead {
                fail(
                    "manifest", "manifest.json", "manifeste trop grand (plus de 16 Mio)",
                    "manifest too large (over 16 MiB)")
            } else {
                fail(
                    "manifest", "manifest.json", "manifeste absent, illisible ou d'un autre format",
                    "manifest missing, unreadable or of another format")
            }
            return report
        }
        let canonical = (try? manifest.encoded()) == manifestBytes
        if !canonical {
            fail(
                "manifest", "manifest.json",
                "manifeste non canonique (clé répétée ou inconnue, autre écriture) : des outils différents y "
                    + "liraient des valeurs différentes",
                "manifest not canonical (repeated or unknown key, other spelling): different tools would read "
                    + "different values in it"
            )
        }

        // 4. Every entry against its proof, whatever entries the folder holds.
        var entries: [UInt64: Entry] = [:]
        var entryBytes: [String: [UInt8]] = [:]
        for name in present.sorted() where name.hasPrefix("entries/") && name.hasSuffix(".entry") {
            guard let index = StrictDecimal.parse(name.dropFirst(8).dropLast(6)), BundleLayout.entry(index) == name
            else { continue }
            guard let bytes = bundle.bytes(name, limit: Entry.maximumSize), let entry = try? Entry(parsing: bytes)
            else {
                fail("entry", name, "entrée illisible", "unreadable entry")
                continue
            }
            entryBytes[name] = bytes
            let proofBytes = bundle.bytes(BundleLayout.proof(index), limit: Self.proofLimit)
            if let proofBytes { entryBytes[BundleLayout.proof(index)] = proofBytes }
            let proof = proofBytes.flatMap { try? TlogProof(parsing: $0) }
            let ok =
                proof.map { p in
                    p.index == index && p.checkpoint.bytes == checkpointBytes
                        && (try? p.verify(entry: bytes, key: signingKey, hasher: SHA256.merkle, ed25519: Ed25519()))
                            != nil
                } ?? false
            record(
                "entry", name, ok, ok ? "incluse dans le journal" : "preuve d'inclusion invalide",
                ok ? "included in the log" : "inclusion proof invalid")
            if ok { entries[index] = entry }
        }

        // 5. Genesis: the log's own key and origin.
        // The key given must be the genesis key, or a key the log's proven rotations lead to from
        // it: the transitions before the key given are checked from the genesis key.
        let genesis = entries[0]
        var reached = genesis?["log-key"].flatMap { try? VerifierKey(parsing: $0) }
        for t in transitions[..<start] {
            reached = reached.flatMap { key in
                (try? LogKeyTransition(entry: t.entry, proof: t.proof).verify(
                    from: key, hasher: SHA256.merkle, ed25519: Ed25519()))
            }
        }
        let rotationsProven = transitions.allSatisfy { t in entries[t.index]?.bytes == t.entry }
        let genesisOK =
            genesis?.kind == .genesis && reached == trustedKey && genesis?["origin"] == origin && rotationsProven
        record(
            "genesis", "entries/0.entry", genesisOK,
            genesisOK
                ? (start == 0
                    ? "clé du journal conforme à l'entrée 0"
                    : "clé donnée atteinte depuis la clé de l'entrée 0 par \(start) "
                        + "changement(s) de clé prouvé(s)")
                : "clé du journal différente de l'entrée 0 (et de ses changements prouvés)",
            genesisOK
                ? (start == 0
                    ? "log key matches entry 0"
                    : "the key given is reached from entry 0's key through \(start) proven key rotation(s)")
                : "log key differs from entry 0 (and from its proven rotations)")
        if (manifest.format == ExportManifest.formatV3) == transitions.isEmpty {
            fail(
                "manifest", "manifest.json",
                "format \(manifest.format) : un export v3 porte les changements de clé du journal, v1 et v2 aucun",
                "format \(manifest.format): a v3 bundle carries the log-key transitions, v1 and v2 none")
        }

        // 6. The certificate: exactly one PEM certificate in canonical form, pinned by the log.
        let pem = bundle.bytes("export-cert.pem", limit: Self.smallFileLimit)
        let certificate = pem.flatMap { try? Certificate(pem: $0) }
        if let pem, let certificate, (try? certificate.pem) != pem {
            fail(
                "certificate", "export-cert.pem",
                "pas exactement un certificat PEM canonique (autre certificat, texte en plus)",
                "not exactly one certificate in canonical PEM (another certificate, extra text)")
        }
        let fingerprint = certificate?.sha256.hex
        let rotations = entries.filter { $0.value.kind == .keyRotated }
        // A key.rotated entry pins the certificate only if it was recorded before the export.
        let rotation = rotations.first {
            $0.value["key-role"] == "export" && $0.value["key"] == fingerprint && $0.key < manifest.exportEntry
        }
        let pinned = fingerprint != nil && (genesis?["export-cert-sha256"] == fingerprint || rotation != nil)
        record(
            "certificate", "export-cert.pem", pinned,
            pinned
                ? "certificat d'export désigné par le journal (\(rotation.map { "entrée \($0.key)" } ?? "entrée 0"))"
                : "certificat d'export inconnu du journal",
            pinned
                ? "export certificate named by the log (\(rotation.map { "entry \($0.key)" } ?? "entry 0"))"
                : "export certificate unknown to the log")

        // 7. The export entry and every field of the manifest.
        let export = entries[manifest.exportEntry].flatMap { $0.kind == .exportCreated ? $0 : nil }
        var wrong = [String]()
        if export == nil { wrong.append("exportEntry") }
        if manifest.origin != origin { wrong.append("origin") }
        if let export {
            if export.alert != manifest.alert { wrong.append("alert") }
            if export["requester-sha256"] != SHA256.hash(Array(manifest.requester.utf8)).hex
                || !EntryFieldType.text.accepts(manifest.requester)
            {
                wrong.append("requester")
            }
            if export["reference-sha256"] != SHA256.hash(Array(manifest.reference.utf8)).hex
                || !EntryFieldType.text.accepts(manifest.reference)
            {
                wrong.append("reference")
            }
            if manifest.created != export.time.description { wrong.append("created") }
            if export["export-cert-sha256"] != fingerprint { wrong.append("export-cert-sha256") }
        }
        if manifest.checkpointSize != checkpoint.checkpoint.size { wrong.append("checkpointSize") }
        record(
            "export", "entries/\(manifest.exportEntry).entry", wrong.isEmpty,
            wrong.isEmpty
                ? "entrée d'export conforme au manifeste"
                : "manifeste et entrée d'export en désaccord : \(wrong.joined(separator: ", "))",
            wrong.isEmpty
                ? "export entry matches the manifest"
                : "the manifest and the export entry disagree: \(wrong.joined(separator: ", "))")

        // 8. The signature of the manifest, judged at the time the log recorded the export.
        // Its signingTime, which a lab reading the blob sees, must follow the export entry within a day.
        if let export, let certificate, let p7s = bundle.bytes("manifest.json.p7s", limit: Self.smallFileLimit),
            let (inspection, structure) = try? CMS.verify(
                p7s, content: manifestBytes, pinned: certificate,
                atSecondsSinceEpoch: export.time.millisecondsSinceEpoch / 1000)
        {
            let exportSeconds = export.time.millisecondsSinceEpoch / 1000
            let timely = structure.signingTime.map { (exportSeconds...exportSeconds + 86_400).contains($0) } ?? false
            var attributes = structure.signedAttributes
            if attributes.last == CMS.algorithmProtectionAttribute { attributes.removeLast() }
            let exact =
                inspection.signerCount == 1 && inspection.certificates == [certificate] && inspection.isDetached
                && inspection.contentTypeIsData && inspection.crlCount == 0 && structure.unsignedAttributeCount == 0
                && attributes == CMS.exportSignedAttributes && structure.signedAttributesSingleValued
                && structure.isCanonicalDER
                && structure.digestAlgorithm == "SHA256" && structure.signatureAlgorithm == "ecdsa-with-SHA256"
            if exact && !timely {
                fail(
                    "cms", "manifest.json.p7s",
                    "heure de signature (signingTime) hors du jour qui suit l'entrée d'export",
                    "signing time (signingTime) outside the day after the export entry")
            }
            record(
                "cms", "manifest.json.p7s", exact,
                exact
                    ? "signature CMS valide à la date de l'export, structure attendue"
                    : "structure CMS inattendue (attributs, certificats ou encodage que rien ne signe)",
                exact
                    ? "CMS signature valid at the export's time, expected structure"
                    : "unexpected CMS structure (attributes, certificates or encoding no signature covers)")
        } else {
            fail(
                "cms", "manifest.json.p7s", "signature CMS invalide ou absente (à la date de l'export)",
                "CMS signature invalid or missing (at the export's time)")
        }

        // 9. The chain the export heads, from the device's enrollment.
        let byLeaf = Dictionary(
            entries.map { (SHA256.merkle.leafHash($0.value.bytes), $0.key) }, uniquingKeysWith: { a, _ in a })
        var chain = [UInt64]()
        var cursor = manifest.exportEntry
        while let e = entries[cursor], let prev = e.previous, let next = byLeaf[prev], !chain.contains(cursor) {
            chain.append(cursor)
            cursor = next
        }
        let enrollment = entries[cursor].flatMap { $0.kind == .deviceEnrolled ? $0 : nil }
        let alertEntries = entries.filter { $0.value.alert == manifest.alert }.map(\.key)
        let chainOK =
            enrollment != nil && Set(chain) == Set(alertEntries)
            && chain.count > 1 && export.flatMap { $0.uint("head-index") } == chain[1]
        record(
            "chain", "entries/", chainOK,
            chainOK
                ? "chaîne complète de l'appareil à l'export (\(chain.count) entrées)" : "chaîne de l'alerte incomplète",
            chainOK
                ? "complete chain from the device to the export (\(chain.count) entries)"
                : "the alert's chain is incomplete")
        let chainEntries = chain.sorted().compactMap { i in entries[i].map { (i, $0) } }
        // The device's revocation, when the log recorded one before the export: no statement the
        // device signed may follow it (Docs/ledger-format.md, `device.revoked`).
        let revocation = entries.first { index, e in
            e.kind == .deviceRevoked && e.device != nil && e.device == enrollment?.device
                && index < manifest.exportEntry
        }

        // 10. The exact file set, derived from the verified entries.
        var expected = Set(BundleLayout.fixedFiles)
        var entryIndices = Set(chain).union([0])
        if enrollment != nil { entryIndices.insert(cursor) }
        if let rotation { entryIndices.insert(rotation.key) }
        if let revocation { entryIndices.insert(revocation.key) }
        for t in transitions {
            entryIndices.insert(t.index)
            expected.insert(BundleLayout.transitionProof(t.index))
            expected.insert(BundleLayout.transitionConsistency(t.index))
        }
        for i in entryIndices { expected.insert(BundleLayout.entry(i)); expected.insert(BundleLayout.proof(i)) }
        var originals: [(name: String, entry: Entry)] = []
        for (_, e) in chainEntries {
            if e.kind == .audioChunk, let name = BundleLayout.original(e) {
                originals.append((name, e))
            } else if e.kind == .chunkConflict {
                // The extension comes from the bytes; the name is whichever the bundle holds.
                let candidates = [true, false].compactMap { BundleLayout.conflict(e, looksLikeWAV: $0) }
                let name =
                    candidates.first { present.contains($0) } ?? candidates.first { manifest.files[$0] != nil }
                    ?? candidates[1]
                originals.append((name, e))
            }
        }
        for o in originals { expected.insert(o.name) }
        let unaccounted = ("fichier qu'aucune entrée vérifiée ne justifie", "file no verified entry accounts for")
        for extra in present.subtracting(expected).sorted() { fail("files", extra, unaccounted.0, unaccounted.1) }
        for missing in expected.subtracting(present).sorted() {
            fail("files", missing, "fichier manquant", "missing file")
        }
        let listed = Set(manifest.files.keys)
        let signedSet = expected.subtracting(["manifest.json", "manifest.json.p7s"])
        for name in listed.symmetricDifference(signedSet).sorted() {
            let fr =
                listed.contains(name) ? "listé par le manifeste sans être attendu" : "attendu mais absent du manifeste"
            fail(
                "manifest", name, fr,
                listed.contains(name)
                    ? "listed by the manifest but not expected" : "expected but not listed by the manifest")
        }

        // 11. Each file against the manifest, hashed once, in 1 MiB blocks.
        var hashed: [String: String] = [:]
        var mismatched = 0
        // An original whose size is not its entry's fails without being read.
        let originalSizes = Dictionary(
            originals.compactMap { o in o.entry.uint("original-size").map { (o.name, $0) } },
            uniquingKeysWith: { a, _ in a })
        for (name, hash) in manifest.files.sorted(by: { $0.key < $1.key }) where present.contains(name) {
            if let size = originalSizes[name], sizes[name].map(UInt64.init) != size {
                fail(
                    "files", name, "taille différente de son entrée (\(sizes[name] ?? 0) octets, l'entrée dit \(size))",
                    "size differs from its entry (\(sizes[name] ?? 0) bytes, the entry says \(size))")
                mismatched += 1
                continue
            }
            let actual = entryBytes[name].map { SHA256.hash($0).hex } ?? bundle.sha256(name)?.hex
            if actual == hash {
                hashed[name] = hash
            } else {
                fail("files", name, "empreinte différente du manifeste", "hash differs from the manifest")
                mismatched += 1
            }
        }
        if present == expected && listed == signedSet && mismatched == 0 {
            record(
                "files", "manifest.json", true, "\(manifest.files.count) fichiers, tous attendus, empreintes conformes",
                "\(manifest.files.count) files, all expected, hashes match")
        }

        // 12. The log key's copy.
        let keyCopy = bundle.bytes("log-key.txt", limit: 4096)
        let keyOK = keyCopy == Array((signingKey.description + "\n").utf8)
        record(
            "log-key", "log-key.txt", keyOK,
            keyOK
                ? "copie exacte de la clé du journal qui signe le point de contrôle"
                : "différent de la clé du journal",
            keyOK ? "exact copy of the log key that signs the checkpoint" : "differs from the log key")

        // 12b. Nothing the device signed after its revocation.
        if let revocation {
            let late = chainEntries.filter { index, e in
                index > revocation.key && (e["statement-sig"].map { $0 != "none" } ?? false)
            }
            record(
                "revocation", "entries/\(revocation.key).entry", late.isEmpty,
                late.isEmpty
                    ? "appareil révoqué à l'entrée \(revocation.key) ; aucune déclaration signée après"
                    : "déclarations signées après la révocation de l'appareil : entrées "
                        + late.map { String($0.0) }.joined(separator: ", "),
                late.isEmpty
                    ? "device revoked at entry \(revocation.key); no signed statement after it"
                    : "statements signed after the device's revocation: entries "
                        + late.map { String($0.0) }.joined(separator: ", "))
        }

        // 13. Device signatures; statements the device did not sign are said so.
        let deviceKey = enrollment.flatMap { $0["device-key"] }.flatMap { Base64.decode($0) }
        var unsigned = [String]()
        for (index, e) in chainEntries {
            guard let sig = e["statement-sig"] else { continue }
            guard sig != "none" else { unsigned.append("\(index) (\(e.kind.rawValue))"); continue }
            guard let statement = try? DeviceStatement(entry: e, origin: manifest.origin) else {
                report.notes.append(
                    "entrée / entry \(index) (\(e.kind.rawValue)): signature non vérifiable hors ligne / not "
                        + "checkable offline"
                )
                continue
            }
            let ok =
                deviceKey.map {
                    Ed25519().isValid(signature: Base64.decode(sig) ?? [], of: statement.bytes, publicKey: $0)
                } ?? false
            record(
                "device-signature", "entries/\(index).entry", ok,
                ok ? "signée par l'appareil enrôlé" : "signature de l'appareil invalide",
                ok ? "signed by the enrolled device" : "device signature invalid")
        }
        if !unsigned.isEmpty {
            report.notes.append(
                "sans signature de l'appareil, entrées \(unsigned.joined(separator: ", ")) : rien ne lie ces "
                    + "déclarations au téléphone, seul le serveur les atteste"
                    + " / not signed by the device, entries \(unsigned.joined(separator: ", ")): nothing binds "
                    + "these statements to the phone; only the server vouches for them"
            )
        }

        // 14. Originals and quarantined bytes against their entries.
        for (name, e) in originals {
            let sizeOK = sizes[name].flatMap { size in e.uint("original-size").map { UInt64(size) == $0 } } ?? false
            let hash = hashed[name] ?? (present.contains(name) && sizeOK ? bundle.sha256(name)?.hex : nil)
            var ok = hash == e["original-sha256"]
            if ok, e.kind == .chunkConflict {
                ok = name.hasSuffix(".wav") == BundleLayout.looksLikeWAV(bundle.prefix(name, 4) ?? [])
            }
            record(
                "original", name, ok, ok ? "original conforme à son entrée" : "original différent de son entrée",
                ok ? "original matches its entry" : "original differs from its entry")
        }

        // 15. The recording, re-muxed from the ledger's packets as it streams by.
        checkRecording(
            bundle, chunks: chainEntries.map(\.1).filter { $0.kind == .audioChunk }, origin: manifest.origin,
            alert: manifest.alert)

        // 16. What people read, rendered again from the verified entries.
        if let enrollment, export != nil {
            let html = Array(
                CustodyReport(
                    origin: origin, alert: manifest.alert, requester: manifest.requester, reference: manifest.reference,
                    entries: chainEntries, checkpoint: checkpoint,
                    deviceKey: enrollment["device-key"].flatMap { Base64.decode($0) }
                ).html.utf8)
            let readme = Array(BundleTexts.readme(alert: manifest.alert, origin: origin, format: manifest.format).utf8)
            for (name, rendered) in [("custody-report.html", html), ("README.txt", readme)] {
                let ok = bundle.bytes(name, limit: rendered.count) == rendered
                record(
                    "text", name, ok,
                    ok ? "identique au rendu des entrées vérifiées" : "différent du rendu des entrées vérifiées",
                    ok
                        ? "identical to the rendering of the verified entries"
                        : "differs from the rendering of the verified entries")
            }
        } else {
            fail(
                "text", "custody-report.html", "non vérifiable sans la chaîne de l'alerte",
                "cannot be checked without the alert's chain")
        }
        for (_, e) in chainEntries {
            if e.kind == .chunkMissing {
                report.notes.append(
                    "segments manquants / missing chunks \(e["first-seq"] ?? "")–\(e["last-seq"] ?? "")")
            }
            if e.kind == .chunkConflict {
                report.notes.append(
                    "conflit / conflict: segment \(e["seq"] ?? ""), octets en quarantaine / quarantined bytes "
                        + "\(e["original-sha256"] ?? "")"
                )
            }
        }
        return report
    }

    /// One log-key transition as the bundle carries it: the rotation entry (`entries/<index>.entry`),
    /// its tlog-proof against the checkpoint both keys signed, and the consistency proof from that
    /// checkpoint to the bundle's.
    struct Transition {
        let index: UInt64
        let entry: [UInt8]
        let proof: TlogProof
        let consistency: ConsistencyProofFile
    }

    /// Reads every transition in the bundle, in log order, and where the walk from the key given
    /// starts: after the rotation that names it (0 when it is the genesis key). nil after a FAIL.
    private mutating func readTransitions(
        _ bundle: any BundleSource, present: Set<String>
    ) -> ([Transition], Int)? {
        var indices = Set<UInt64>()
        for name in present where name.hasPrefix("key-transitions/") {
            let base = name.dropFirst(16)
            for suffix in [".tlog-proof", ".consistency"] where base.hasSuffix(suffix) {
                if let i = StrictDecimal.parse(base.dropLast(suffix.count)),
                    name == BundleLayout.transitionProof(i) || name == BundleLayout.transitionConsistency(i)
                {
                    indices.insert(i)
                }
            }
        }
        var out = [Transition]()
        for index in indices.sorted() {
            guard let entry = bundle.bytes(BundleLayout.entry(index), limit: Entry.maximumSize),
                let proof = bundle.bytes(BundleLayout.transitionProof(index), limit: Self.proofLimit).flatMap({
                    try? TlogProof(parsing: $0)
                }),
                proof.index == index,
                let consistency = bundle.bytes(
                    BundleLayout.transitionConsistency(index), limit: ConsistencyProofFile.maximumSize
                ).flatMap({ try? ConsistencyProofFile(parsing: $0) })
            else {
                fail(
                    "transition", BundleLayout.transitionProof(index),
                    "changement de clé du journal incomplet ou illisible (entrée, preuve ou cohérence) : rien ne "
                        + "peut être prouvé",
                    "log-key transition incomplete or unreadable (entry, proof or consistency): nothing can be proven")
                return nil
            }
            out.append(Transition(index: index, entry: entry, proof: proof, consistency: consistency))
        }
        let named = out.lastIndex { t in
            (try? Entry(parsing: t.entry)).flatMap {
                try? LogKeyTransition.newKey(of: $0, origin: trustedKey.name, hash: SHA256())
            } == trustedKey
        }
        return (out, named.map { $0 + 1 } ?? 0)
    }

    /// Follows one transition from `key`: the checkpoint signed by exactly `key` and the key the
    /// rotation entry names, the entry in its tree, its tree a prefix of the bundle's checkpoint's.
    /// Returns the new key, or nil after a FAIL line.
    private mutating func checkTransition(
        _ t: Transition, from key: VerifierKey, checkpoint: SignedCheckpoint
    ) -> VerifierKey? {
        let name = BundleLayout.transitionProof(t.index)
        do throws(TemoinError) {
            let new = try LogKeyTransition(entry: t.entry, proof: t.proof).verify(
                from: key, hasher: SHA256.merkle, ed25519: Ed25519())
            try t.consistency.verify(
                older: t.proof.checkpoint.checkpoint, newer: checkpoint.checkpoint, hasher: SHA256.merkle)
            record(
                "transition", name, true,
                "clé du journal changée à l'entrée \(t.index) : \(key.keyIDHex) → \(new.keyIDHex), "
                    + "point de contrôle signé par les deux clés, arbre prolongé par celui de l'export",
                "log key rotated at entry \(t.index): \(key.keyIDHex) → \(new.keyIDHex), "
                    + "checkpoint signed by both keys, its tree extended by the export's")
            return new
        } catch {
            fail(
                "transition", name,
                "changement de clé du journal non prouvé depuis la clé \(key.keyIDHex) : \(error.reason)",
                "log-key transition not proven from key \(key.keyIDHex): \(error.reason)")
            return nil
        }
    }

    /// recording.opus must be exactly the deterministic mux of the packets the entries name. The
    /// file is read once in blocks: each chunk's packets are hashed as they pass and fed to a
    /// streaming muxer whose pages are compared with the file's bytes; memory stays bounded.
    private mutating func checkRecording(_ bundle: any BundleSource, chunks: [Entry], origin: String, alert: AlertID) {
        struct Step { let seq: UInt64; let gap: Int; let count: Int; let hash: Hash; let bytes: UInt64 }
        var firsts: [UInt64: Entry] = [:]
        for e in chunks { if let s = e.uint("seq"), firsts[s] == nil { firsts[s] = e } }
        var steps = [Step]()
        var previous: RecordingChunk?
        var missing = [ClosedRange<UInt64>]()
        var trueSamples: Int64 = 0
        var filled: Int64 = 0
        var meta = [RecordingChunk]()
        for seq in firsts.keys.sorted() {
            let e = firsts[seq]!
            guard let count = e.uint("opus-packets"), count <= UInt64(Int32.max), let start = e.time("capture-start"),
                let duration = e.uint("duration-us"), let codec = e["codec"], let library = e["codec-library"],
                let hash = e.hash("opus-sha256"), let bytes = e.uint("opus-bytes")
            else { continue }
            let chunk = RecordingChunk(
                seq: seq, captureStart: start, durationMicroseconds: duration, codec: codec, library: library,
                packets: [])
            var gap = 0
            if let p = previous, seq > p.seq + 1 {
                missing.append((p.seq + 1)...(seq - 1))
                gap = Int(Recording.gapFrames(after: p, before: chunk, filledSoFar: filled))
                filled += Int64(gap)
                trueSamples += Int64(gap) * 960
            }
            trueSamples += Recording.samples48k(duration)
            steps.append(Step(seq: seq, gap: gap, count: Int(count), hash: hash, bytes: bytes))
            meta.append(chunk)
            previous = chunk
        }
        let total = steps.reduce(0) { $0 + $1.gap + $1.count }
        guard let first = meta.first, let stream = try? StreamHeader(codec: first.codec), total > 0,
            let file = bundle.openFile("recording.opus"), let copy = bundle.openFile("recording.opus")
        else {
            fail(
                "recording", "recording.opus", "enregistrement absent ou sans paquet attendu",
                "recording missing or no packet expected")
            return
        }
        let header = OggOpus.Header(
            inputRate: stream.inputRate, preSkip: stream.preSkip, vendor: first.library,
            comments: Recording.comments(
                origin: origin, alert: alert, firstSeq: first.seq, lastSeq: meta.last!.seq,
                captureStart: first.captureStart, missing: missing))
        // The muxer's pages against the file, through a second reader of it.
        final class Comparison {
            let file: any BundleFileStream
            var offset: Int64 = 0
            var equal = true
            var scratch = [UInt8](repeating: 0, count: 64 * 1024)
            init(file: any BundleFileStream) { self.file = file }
            func compare(_ page: UnsafeRawBufferPointer) {
                var done = 0
                while equal && done < page.count {
                    let want = min(scratch.count, page.count - done)
                    let n = scratch.withUnsafeMutableBytes {
                        file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]))
                    }
                    guard n == want,
                        scratch.withUnsafeBytes({ memcmp($0.baseAddress!, page.baseAddress! + done, want) == 0 })
                    else {
                        equal = false
                        return
                    }
                    offset += Int64(want)
                    done += want
                }
            }
        }
        let comparison = Comparison(file: copy)
        var problem: (String, String)?
        do {
            let writer = try OggOpusWriter(serial: OggOpus.serial(alert: alert), header: header, audioPackets: total) {
                comparison.compare($0)
            }
            var index = 0, step = 0, inStep = 0, lastTOC: UInt8 = 0x48
            var hasher = SHA256Stream(), bytes: UInt64 = 0
            let finalGranule = { (n: Int64) in min(n, trueSamples + Int64(stream.preSkip)) }
            try OggDemux.forEachPacket(
                read: { buffer, capacity throws(TemoinError) in
                    guard let n = file.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: capacity)) else {
                        throw TemoinError(.oggRead, "the recording could not be read")
                    }
                    return n
                }, maximumPacket: 1 << 20
            ) { (packet) throws(TemoinError) -> Bool in
                defer { index += 1 }
                if index < 2 { return true } // OpusHead and OpusTags: the re-mux writes its own
                guard index - 2 < total, !packet.isEmpty else {
                    problem = ("paquets en trop dans l'enregistrement", "extra packets in the recording")
                    return false
                }
                let last = index - 2 == total - 1
                // The gap before a chunk holds lost-frame packets the re-mux makes itself.
                while step < steps.count, inStep >= steps[step].gap + steps[step].count { step += 1; inStep = 0 }
                let s = steps[step]
                let packetTOC = packet[0]
                if inStep < s.gap {
                    let lost = OggOpus.lostFrame(like: lastTOC)
                    let granule =
                        last ? finalGranule(writer.decodableSamples + Int64(OpusPacket.sampleCount(lost) ?? 0)) : nil
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: lost.count, alignment: 1)
                    defer { buffer.deallocate() }
                    buffer.copyBytes(from: lost)
                    try writer.append(UnsafeRawBufferPointer(buffer), finalGranule: granule)
                    lastTOC = lost[0]
                } else {
                    var length = UInt32(packet.count).bigEndian
                    withUnsafeBytes(of: &length) { hasher.update($0) }
                    hasher.update(packet)
                    bytes += UInt64(packet.count)
                    let samples = Int64(OpusPacket.sampleCount(Array(packet.prefix(2))) ?? 0)
                    try writer.append(
                        packet, finalGranule: last ? finalGranule(writer.decodableSamples + samples) : nil)
                    lastTOC = packetTOC
                }
                inStep += 1
                if inStep == s.gap + s.count {
                    guard hasher.finalize() == s.hash, bytes == s.bytes else {
                        problem = (
                            "paquets du segment \(s.seq) différents de son entrée",
                            "packets of chunk \(s.seq) differ from its entry"
                        )
                        return false
                    }
                    hasher = SHA256Stream()
                    bytes = 0
                }
                return true
            }
            if problem == nil, index - 2 < total {
                problem = ("paquets manquants dans l'enregistrement", "packets missing from the recording")
            }
        } catch {
            problem = ("enregistrement illisible ou paquet invalide", "recording unreadable or invalid packet")
        }
        if let problem {
            fail("recording", "recording.opus", problem.0, problem.1)
            return
        }
        let ok = comparison.equal && copy.size == comparison.offset
        record(
            "recording", "recording.opus", ok,
            ok
                ? "identique au remultiplexage des paquets du journal"
                : "différent du remultiplexage des paquets du journal",
            ok ? "identical to the re-mux of the ledger's packets" : "differs from the re-mux of the ledger's packets")
    }
}
