import Foundation
public import TemoinCore
import TemoinCrypto
public import TemoinLedger
public import TemoinArchive
import TemoinVerify
import TemoinRecording

/// Writes the export bundle of an alert (Docs/export.md): a folder that anyone can check offline.
public struct Exporter {
    public let directory: DataDirectory

    public init(directory: DataDirectory) {
        self.directory = directory
    }

    /// What was exported.
    public struct Exported: Sendable {
        public let folder: String
        public let exportIndex: UInt64
        public let files: [String: Hash]
    }

    /// Appends `export.created` with `writer`, then writes the bundle into `folder` (which must
    /// not exist). Every file is written durably; the folder appears under its name only at the end.
    /// `reader`: the service's read side, if it has one (otherwise one is opened for this export).
    public func export(
        alert: AlertID, to folder: String, requester: String, reference: String,
        writer: LedgerWriter, reader: LedgerReader? = nil
    ) async throws -> Exported {
        guard !FileSystem.exists(folder) else {
            throw TemoinError(.exportExists, "the export folder already exists; choose a new one", context: folder)
        }
        let bundle = try await assemble(
            alert: alert, requester: requester, reference: reference, writer: writer, reader: reader)
        // Written under a temporary name, then renamed: a bundle is whole or absent.
        let staging = folder + ".partial-" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        for (name, bytes) in bundle.files.sorted(by: { $0.key < $1.key }) {
            let path = staging + "/" + name
            try FileSystem.makeDirectories(FileSystem.parent(path), mode: 0o755)
            try FileSystem.writeDurably(bytes, to: path, mode: 0o644, replace: false)
        }
        guard rename(staging, folder) == 0 else { throw FileSystem.fail("move the export into place", folder) }
        try FileSystem.syncDirectory(FileSystem.parent(folder))
        return Exported(folder: folder, exportIndex: bundle.exportIndex, files: bundle.hashes)
    }

    /// What the HTTP service sends for an export: the zip of the bundle (Docs/export.md, "The zip
    /// form"), planned in memory and streamed with `archive.makeChunks()`; its size is known first.
    public struct ExportedZip: Sendable {
        /// The folder inside the zip: the alert's id.
        public let alert: AlertID
        public let exportIndex: UInt64
        /// Every signed file's SHA-256 (what manifest.json lists).
        public let files: [String: Hash]
        public let archive: ZipWriter.Plan
        public var contentType: String { "application/zip" }
        /// A name for Content-Disposition.
        public var fileName: String { "temoin-export-\(alert).zip" }
    }

    /// Appends `export.created` with `writer` and returns the bundle as a zip, nothing written to
    /// disk: the same files, bytes and checks as `export(alert:to:…)`, one folder named after the
    /// alert inside, every entry dated at the export entry's time (so the same bundle always gives
    /// the same bytes). A one-hour alert's bundle is some 10–20 MB, held in memory while it is sent.
    public func exportZip(
        alert: AlertID, requester: String, reference: String, writer: LedgerWriter, reader: LedgerReader? = nil
    ) async throws -> ExportedZip {
        let bundle = try await assemble(
            alert: alert, requester: requester, reference: reference, writer: writer, reader: reader)
        let plan = try BundleZip.plan(alert: alert, created: bundle.created, files: bundle.files)
        return ExportedZip(alert: alert, exportIndex: bundle.exportIndex, files: bundle.hashes, archive: plan)
    }

    /// A bundle's files in memory: every file, manifest and signature included.
    struct Assembled {
        let files: [String: [UInt8]]
        let hashes: [String: Hash]
        let exportIndex: UInt64
        let created: Timestamp
    }

    /// Appends `export.created` and makes every file of the bundle.
    func assemble(
        alert: AlertID, requester: String, reference: String, writer: LedgerWriter, reader: LedgerReader?
    ) async throws -> Assembled {
        for (name, value) in [("requester", requester), ("reference", reference)] {
            guard EntryFieldType.text.accepts(value) else {
                throw TemoinError(
                    name == "requester" ? .exportBadRequester : .exportBadReference,
                    "the \(name) must be 1 to 1024 characters on one line")
            }
        }
        let reader = try reader ?? LedgerReader(directory: directory, connections: 1)
        let before = try reader.entries(alert: alert)
        guard let head = before.last else {
            throw TemoinError(.alertUnknown, "there is no alert \(alert) in this ledger")
        }
        // What would make the bundle fail is checked before `export.created` is appended: the log
        // must not say an export was made that nobody received.
        guard before.contains(where: { $0.entry.kind == .audioChunk }) else {
            throw TemoinError(.recordingNoAudio, "alert \(alert) has no audio yet: there is nothing to export")
        }
        // Before anything is appended: an erased alert has no key (`alert.erased`).
        let key = try reader.alertKey(alert)
        let certificate = try directory.loadExportCertificate()
        let exportKey = try P256PrivateKey(pem: FileSystem.read(directory.exportKeyFile, limit: 1 << 16))
        let appended = try await writer.append(
            EntryDraft(
                kind: .exportCreated, alert: alert,
                [
                    ("head-index", String(head.index)),
                    ("requester-sha256", SHA256.hash(Array(requester.utf8)).hex),
                    ("reference-sha256", SHA256.hash(Array(reference.utf8)).hex),
                    ("export-cert-sha256", certificate.sha256.hex),
                ]))
        let checkpoint = appended.checkpoint
        let origin = try reader.origin()

        var files: [String: [UInt8]] = [:]
        // Entries: genesis, the device's enrollment, every entry of the alert, this export — and
        // nothing after it: a phone still uploading, or staff reading, append to the alert while
        // the bundle is assembled, and those entries are not in the chain the export heads.
        let all = try reader.entries(alert: alert).filter { $0.index <= appended.index }
        guard let opening = all.first?.entry, let device = opening.device,
            let enrollment = try reader.enrollmentIndex(device: device)
        else {
            throw TemoinError(.exportNoEnrollment, "the alert's device enrollment is missing")
        }
        var indices = Set(all.map(\.index))
        indices.insert(0)
        indices.insert(enrollment)
        // A certificate supplied by the operator is named by the key.rotated entry that installed it.
        if let rotation = try reader.rotationIndex(key: certificate.sha256.hex) { indices.insert(rotation) }
        // A revoked device's revocation, so a court sees it and the verifier checks that no
        // statement of the alert follows it.
        if let revocation = try reader.revocation(device: device), revocation.index < appended.index {
            indices.insert(revocation.index)
        }
        // Every change of the log key before the export, with its proofs: a verifier holding an
        // older key follows them to the key that signs this checkpoint (Docs/ledger-format.md §3).
        let transitions = try reader.logKeyTransitions(before: appended.index)
        for t in transitions {
            indices.insert(t.index)
            files[BundleLayout.transitionProof(t.index)] = t.proof.bytes
            let first = t.checkpoint.checkpoint.size, second = checkpoint.checkpoint.size
            files[BundleLayout.transitionConsistency(t.index)] =
                ConsistencyProofFile(
                    first: first, second: second, path: try reader.consistencyProof(first: first, second: second)
                ).bytes
        }
        for index in indices.sorted() {
            let stored = try reader.entry(at: index)
            files["entries/\(index).entry"] = stored.bytes
            files["entries/\(index).entry.tlog-proof"] = try reader.proof(
                index: index, size: checkpoint.checkpoint.size
            ).bytes
        }
        // Originals as received, and quarantined conflicting bytes.
        for (_, e) in all where e.kind == .audioChunk || e.kind == .chunkConflict {
            guard let seq = e.uint("seq"), let hash = e.hash("original-sha256") else { continue }
            let bytes = try directory.blobs.read(alert: alert, hash: hash, key: key)
            guard
                let name = e.kind == .audioChunk
                    ? BundleLayout.original(e)
                    : BundleLayout.conflict(e, looksLikeWAV: BundleLayout.looksLikeWAV(bytes))
            else {
                throw TemoinError(.exportBadEntry, "entry \(seq) names no original")
            }
            files[name] = bytes
        }
        files["recording.opus"] = try reader.recording(alert: alert, through: appended.index).bytes
        files["checkpoint"] = checkpoint.bytes
        files["log-key.txt"] = Array((writer.verifierKey.description + "\n").utf8)
        files["export-cert.pem"] = try certificate.pem
        let parsed = all.map { ($0.index, $0.entry) }
        let deviceKey = try reader.deviceKey(device: device)
        files["custody-report.html"] = Array(
            CustodyReport(
                origin: origin, alert: alert, requester: requester, reference: reference,
                entries: parsed, checkpoint: checkpoint, deviceKey: deviceKey
            ).html.utf8)
        let format = transitions.isEmpty ? ExportManifest.currentFormat : ExportManifest.formatV3
        files["README.txt"] = Array(BundleTexts.readme(alert: alert, origin: origin, format: format).utf8)

        let hashes = files.mapValues { SHA256.hash($0) }
        let manifest = ExportManifest(
            origin: origin, alert: alert, requester: requester, reference: reference,
            created: appended.entry.time.description, exportEntry: appended.index,
            checkpointSize: checkpoint.checkpoint.size, files: hashes.mapValues(\.hex),
            format: format)
        let manifestBytes = try manifest.encoded()
        files["manifest.json"] = manifestBytes
        files["manifest.json.p7s"] = try CMS.sign(manifestBytes, key: exportKey, certificate: certificate)

        return Assembled(
            files: files, hashes: hashes, exportIndex: appended.index, created: appended.entry.time)
    }

    /// Installs an operator's own export key and certificate: checks they belong together and
    /// allow signatures and are valid today, records `key.rotated` (the certificate's SHA-256), then replaces the
    /// files.
    public func useExportCertificate(
        keyPEM: [UInt8], certificatePEM: [UInt8], writer: LedgerWriter
    ) async throws -> UInt64 {
        let key = try P256PrivateKey(pem: keyPEM)
        let certificate = try Certificate(pem: certificatePEM)
        guard try certificate.matches(key) else {
            throw TemoinError(.keysMismatch, "the certificate is not the key's certificate")
        }
        guard try certificate.allowsDigitalSignature else {
            throw TemoinError(.keysNoSignatureUsage, "the certificate's keyUsage does not allow digital signatures")
        }
        // A bundle's signature is judged at the time the log recorded the export: a certificate
        // outside its validity period now would make every export signed with it fail.
        let now = Int64(Date().timeIntervalSince1970)
        let validity = try certificate.validity
        guard validity.notBefore <= now else {
            throw TemoinError(
                .keysNotYetValid,
                "the certificate is not valid yet (notBefore "
                    + "\(Timestamp(millisecondsSinceEpoch: validity.notBefore * 1000)))"
            )
        }
        guard now <= validity.notAfter else {
            throw TemoinError(
                .keysExpired,
                "the certificate has expired (notAfter \(Timestamp(millisecondsSinceEpoch: validity.notAfter * 1000)))")
        }
        let appended = try await writer.append(
            EntryDraft(kind: .keyRotated, [("key-role", "export"), ("key", certificate.sha256.hex)]))
        try FileSystem.writeDurably(try key.pem, to: directory.exportKeyFile, replace: true)
        try FileSystem.writeDurably(
            try certificate.pem, to: directory.exportCertificateFile, mode: 0o644, replace: true)
        return appended.index
    }
}
