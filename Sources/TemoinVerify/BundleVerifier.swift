import Foundation
public import TemoinCore
import TemoinCrypto
import TemoinRecording

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
    /// Gaps and conflicts the ledger records (information, not failures).
    public var notes: [String] = []
    public var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
}

/// Checks an export bundle offline against a trusted log key (Docs/verifying.md). Only input that
/// cannot be used at all (no folder) throws; everything else becomes a PASS or FAIL line.
public struct BundleVerifier {
    public let folder: String
    public let trustedKey: VerifierKey
    private var report = VerificationReport()

    public init(folder: String, trustedKey: VerifierKey) {
        self.folder = folder
        self.trustedKey = trustedKey
    }

    private mutating func record(_ check: String, _ subject: String, _ passed: Bool, _ fr: String, _ en: String) {
        report.checks.append(VerificationCheck(check: check, subject: subject, passed: passed, fr: fr, en: en))
    }

    private func read(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: folder + "/" + name).map { [UInt8]($0) }
    }

    public mutating func run() throws(TemoinError) -> VerificationReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TemoinError(.usage, code: "verify.no-folder", "the bundle folder does not exist", context: folder)
        }
        // 1. The manifest, its signature, the certificate.
        guard let manifestBytes = read("manifest.json"),
              let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(manifestBytes)), manifest.format == ExportManifest.currentFormat else {
            record("manifest", "manifest.json", false, "manifeste absent ou illisible", "manifest missing or unreadable")
            return report
        }
        let certificate = read("export-cert.pem").flatMap { try? Certificate(pem: $0) }
        if let certificate, let p7s = read("manifest.json.p7s"),
           let inspection = try? CMS.verify(p7s, content: manifestBytes, trusting: certificate) {
            let exact = inspection.signerCount == 1 && inspection.certificates == [certificate] && inspection.isDetached
                && inspection.contentTypeIsData && inspection.crlCount == 0
            record("cms", "manifest.json.p7s", exact, exact ? "signature CMS valide, structure attendue" : "structure CMS inattendue",
                   exact ? "CMS signature valid, expected structure" : "unexpected CMS structure")
        } else {
            record("cms", "manifest.json.p7s", false, "signature CMS invalide ou absente", "CMS signature invalid or missing")
        }
        // 2. The set of files and each file's hash.
        let expected = Set(manifest.files.keys).union(["manifest.json", "manifest.json.p7s"])
        let present = Set((FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []).filter { name in
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &d) && !d.boolValue
        })
        for extra in present.subtracting(expected).sorted() {
            record("files", extra, false, "fichier inattendu", "unexpected file")
        }
        for missing in expected.subtracting(present).sorted() {
            record("files", missing, false, "fichier manquant", "missing file")
        }
        var mismatched = 0
        // Each file is hashed once; later checks reuse the hashes of the files that matched.
        var hashed: [String: String] = [:]
        for (name, hash) in manifest.files.sorted(by: { $0.key < $1.key }) where present.contains(name) {
            if read(name).map({ SHA256.hash($0).hex }) == hash {
                hashed[name] = hash
            } else {
                record("files", name, false, "empreinte différente du manifeste", "hash differs from the manifest")
                mismatched += 1
            }
        }
        if present == expected && mismatched == 0 {
            record("files", "manifest.json", true, "\(manifest.files.count) fichiers, empreintes conformes", "\(manifest.files.count) files, hashes match")
        }
        // 3. The checkpoint.
        let checkpointBytes = read("checkpoint") ?? []
        let checkpoint = try? SignedCheckpoint(parsing: checkpointBytes)
        let checkpointOK = checkpoint.map { (try? $0.verify(key: trustedKey, using: Ed25519())) != nil } ?? false
        record("checkpoint", "checkpoint", checkpointOK, checkpointOK ? "signé par la clé du journal" : "signature du journal invalide",
               checkpointOK ? "signed by the log key" : "log signature invalid")
        // 4. Every entry against its proof.
        var entries: [UInt64: Entry] = [:]
        let names = manifest.files.keys.filter { $0.hasPrefix("entries/") && $0.hasSuffix(".entry") }
        for name in names.sorted() {
            guard let bytes = read(name), let entry = try? Entry(parsing: bytes),
                  let index = Decimal.parse(name.dropFirst(8).dropLast(6)) else {
                record("entry", name, false, "entrée illisible", "unreadable entry")
                continue
            }
            let proof = read(name + ".tlog-proof").flatMap { try? TlogProof(parsing: $0) }
            let ok = proof.map { p in
                p.index == index && p.checkpoint.bytes == checkpointBytes
                    && (try? p.verify(entry: bytes, key: trustedKey, hasher: SHA256.merkle, ed25519: Ed25519())) != nil
            } ?? false
            record("entry", name, ok, ok ? "incluse dans le journal" : "preuve d'inclusion invalide", ok ? "included in the log" : "inclusion proof invalid")
            if ok { entries[index] = entry }
        }
        // 5. The keys named by genesis.
        let genesis = entries[0]
        let genesisOK = genesis?.kind == .genesis && genesis?["log-key"] == trustedKey.description
        record("genesis", "entries/0.entry", genesisOK, genesisOK ? "clé du journal conforme à l'entrée 0" : "clé du journal différente de l'entrée 0",
               genesisOK ? "log key matches entry 0" : "log key differs from entry 0")
        // The export certificate is the one genesis names, or one a proven key.rotated entry installed.
        let fingerprint = certificate?.sha256.hex
        let rotation = entries.first { $0.value.kind == .keyRotated && $0.value["key-role"] == "export" && $0.value["key"] == fingerprint }
        let pinned = fingerprint != nil && (genesis?["export-cert-sha256"] == fingerprint || rotation != nil)
        record("certificate", "export-cert.pem", pinned,
               pinned ? "certificat d'export désigné par le journal (\(rotation.map { "entrée \($0.key)" } ?? "entrée 0"))" : "certificat d'export inconnu du journal",
               pinned ? "export certificate named by the log (\(rotation.map { "entry \($0.key)" } ?? "entry 0"))" : "export certificate unknown to the log")
        // 6. The export entry and the chain it heads.
        let export = entries[manifest.exportEntry]
        let exportOK = export?.kind == .exportCreated && export?.alert == manifest.alert
            && export?["export-cert-sha256"] == certificate?.sha256.hex
            && export?["requester-sha256"] == SHA256.hash(Array(manifest.requester.utf8)).hex
            && export?["reference-sha256"] == SHA256.hash(Array(manifest.reference.utf8)).hex
        record("export", "entries/\(manifest.exportEntry).entry", exportOK, exportOK ? "entrée d'export conforme au manifeste" : "entrée d'export non conforme",
               exportOK ? "export entry matches the manifest" : "export entry does not match")
        let byLeaf = Dictionary(entries.map { (SHA256.merkle.leafHash($0.value.bytes), $0.key) }, uniquingKeysWith: { a, _ in a })
        var chain = [UInt64]()
        var cursor = manifest.exportEntry
        while let e = entries[cursor], let prev = e.previous, let next = byLeaf[prev] {
            chain.append(cursor)
            cursor = next
        }
        let enrollment = entries[cursor]
        let alertEntries = entries.filter { $0.value.alert == manifest.alert }.map(\.key)
        let chainOK = enrollment?.kind == .deviceEnrolled && Set(chain) == Set(alertEntries)
            && chain.count > 1 && export.flatMap { $0.uint("head-index") } == chain[1]
        record("chain", "entries/", chainOK, chainOK ? "chaîne complète de l'appareil à l'export (\(chain.count) entrées)" : "chaîne de l'alerte incomplète",
               chainOK ? "complete chain from the device to the export (\(chain.count) entries)" : "the alert's chain is incomplete")
        // 7. Device signatures.
        let deviceKey = enrollment.flatMap { $0["device-key"] }.flatMap { Base64.decode($0) }
        for index in chain.sorted() {
            guard let e = entries[index], let sig = e["statement-sig"], sig != "none" else { continue }
            guard let statement = try? DeviceStatement(entry: e, origin: manifest.origin) else {
                report.notes.append("entrée / entry \(index) (\(e.kind.rawValue)): signature non vérifiable hors ligne / not checkable offline")
                continue
            }
            let ok = deviceKey.map { Ed25519().isValid(signature: Base64.decode(sig) ?? [], of: statement.bytes, publicKey: $0) } ?? false
            record("device-signature", "entries/\(index).entry", ok, ok ? "signée par l'appareil enrôlé" : "signature de l'appareil invalide",
                   ok ? "signed by the enrolled device" : "device signature invalid")
        }
        // 8. Originals and the recording.
        let chunks = chain.sorted().compactMap { entries[$0] }.filter { $0.kind == .audioChunk }
        for e in chunks {
            guard let seq = e.uint("seq") else { continue }
            let name = ["wav", "raw", "opus"].map { "originals/\(seq).\($0)" }.first { manifest.files[$0] != nil } ?? "originals/\(seq)"
            let ok = (hashed[name] ?? read(name).map { SHA256.hash($0).hex }) == e["original-sha256"]
            record("original", name, ok, ok ? "original conforme à son entrée" : "original différent de son entrée",
                   ok ? "original matches its entry" : "original differs from its entry")
        }
        checkRecording(chunks: chunks, manifest: manifest)
        for e in chain.sorted().compactMap({ entries[$0] }) {
            if e.kind == .chunkMissing { report.notes.append("segments manquants / missing chunks \(e["first-seq"] ?? "")–\(e["last-seq"] ?? "")") }
            if e.kind == .chunkConflict { report.notes.append("conflit / conflict: segment \(e["seq"] ?? ""), octets en quarantaine / quarantined bytes \(e["original-sha256"] ?? "")") }
        }
        return report
    }

    /// recording.opus must be exactly the deterministic mux of the packets the entries name.
    private mutating func checkRecording(chunks: [Entry], manifest: ExportManifest) {
        guard let bytes = read("recording.opus"), var packets = try? OggDemux.packets(bytes), packets.count >= 2 else {
            record("recording", "recording.opus", false, "enregistrement illisible", "recording unreadable")
            return
        }
        packets.removeFirst(2)  // OpusHead, OpusTags
        var firsts: [UInt64: Entry] = [:]
        for e in chunks { if let s = e.uint("seq"), firsts[s] == nil { firsts[s] = e } }
        var rebuilt = [RecordingChunk]()
        var position = 0
        var previous: RecordingChunk?
        for seq in firsts.keys.sorted() {
            let e = firsts[seq]!
            guard let count = e.uint("opus-packets").map(Int.init), let start = e.time("capture-start"),
                  let duration = e.uint("duration-us"), let codec = e["codec"], let library = e["codec-library"] else { continue }
            var chunk = RecordingChunk(seq: seq, captureStart: start, durationMicroseconds: duration, codec: codec, library: library, packets: [])
            if let p = previous, seq > p.seq + 1 { position += Int(Recording.gapFrames(after: p, before: chunk)) }
            guard position + count <= packets.count else {
                record("recording", "recording.opus", false, "paquets manquants dans l'enregistrement", "packets missing from the recording")
                return
            }
            let own = Array(packets[position..<position + count])
            position += count
            guard SHA256.hash(OpusPacketStream.encode(own)) == e.hash("opus-sha256") else {
                record("recording", "recording.opus", false, "paquets du segment \(seq) différents de son entrée", "packets of chunk \(seq) differ from its entry")
                return
            }
            chunk = RecordingChunk(seq: seq, captureStart: start, durationMicroseconds: duration, codec: codec, library: library, packets: own)
            rebuilt.append(chunk)
            previous = chunk
        }
        let remuxed = try? Recording(origin: manifest.origin, alert: manifest.alert, chunks: rebuilt).bytes
        let ok = remuxed == bytes && position == packets.count
        record("recording", "recording.opus", ok, ok ? "identique au remultiplexage des paquets du journal" : "différent du remultiplexage des paquets du journal",
               ok ? "identical to the re-mux of the ledger's packets" : "differs from the re-mux of the ledger's packets")
    }
}
