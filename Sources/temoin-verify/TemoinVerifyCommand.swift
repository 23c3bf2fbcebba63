import ArgumentParser
import Foundation
import TemoinCore
import TemoinCrypto
import TemoinVerify
#if canImport(Glibc)
import Glibc
#endif

/// `temoin-verify`: checks an export bundle offline. Exit 0 valid, 1 invalid, 2 unusable input.
@main
struct TemoinVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "temoin-verify",
        abstract: "Vérifie un export Témoin hors ligne / verify a Témoin export bundle offline.",
        discussion: """
            Code de sortie : 0 export valide, 1 export invalide ou modifié, 2 entrée inutilisable (pas un export, clé illisible). \
            La clé du journal doit venir d'une source de confiance, pas du dossier (Docs/verifying.md).
            Exit code: 0 valid bundle, 1 invalid or tampered bundle, 2 unusable input (not a bundle, unreadable key). \
            The log key must come from a trusted source, not from the folder (Docs/verifying.md).
            """)

    @Argument(
        help:
            "Dossier de l'export, ou son archive zip / the bundle folder, or its zip archive (read without extracting)."
    ) var folder: String?
    @Option(help: "Une entrée seule (avec --proof) / a lone entry file, checked with --proof.") var entry: String?
    @Option(help: "Sa preuve C2SP tlog-proof / its C2SP tlog-proof file.") var proof: String?
    @Option(
        help:
            ArgumentHelp(
                "Clé de vérification du journal, ou un fichier qui la contient / the log's verifier key, or a file "
                    + "holding it (from a trusted source).")
    )
    var logKey: String
    @Flag(help: "Résultat en JSON / output JSON.") var json = false

    static func main() {
        do {
            // `--help` parses to argument-parser's own help command, not to this one.
            guard let command = try parseAsRoot() as? TemoinVerifyCommand else {
                print(helpMessage())
                Glibc.exit(0)
            }
            Glibc.exit(try command.verify())
        } catch let e as TemoinError {
            FileHandle.standardError.write(Data("erreur / error: \(e)\n".utf8))
            Glibc.exit(2)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Glibc.exit(2)
        }
    }

    func verify() throws -> Int32 {
        var text = logKey
        if FileManager.default.fileExists(atPath: logKey), let data = Self.read(logKey, limit: 4096) {
            text = String(decoding: data, as: UTF8.self)
        }
        let key = try VerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        if entry != nil || proof != nil {
            return try verifyLoneProof(key: key)
        }
        guard let folder else {
            throw TemoinError(
                .verifyNoFolder,
                "donnez un DOSSIER d'export (ou son archive zip), ou --entry et --proof / give a bundle FOLDER (or its "
                    + "zip), or --entry and --proof")
        }
        var verifier = BundleVerifier(folder: folder, trustedKey: key)
        let report = try verifier.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Output: Encodable { let passed: Bool; let checks: [VerificationCheck]; let notes: [String] }
            FileHandle.standardOutput.write(
                try encoder.encode(Output(passed: report.passed, checks: report.checks, notes: report.notes))
                    + Data("\n".utf8))
        } else {
            for c in report.checks {
                print("\(c.passed ? "RÉUSSI / PASS" : "ÉCHEC / FAIL ")  [\(c.check)] \(c.subject): \(c.fr) / \(c.en)")
            }
            for n in report.notes { print("NOTE  \(n)") }
            print(
                report.passed
                    ? "RÉUSSI / PASS  l'export est intègre et complet / the bundle is intact and complete"
                    : "ÉCHEC / FAIL  l'export ne peut pas être tenu pour intègre / the bundle cannot be trusted")
        }
        return report.passed ? 0 : 1
    }

    /// One entry and its tlog-proof: the checkpoint's signature, then the inclusion. What it
    /// proves: these entry bytes are at this index of the log the key signs; nothing about files.
    func verifyLoneProof(key: VerifierKey) throws -> Int32 {
        guard let entry, let proof, let entryBytes = Self.read(entry, limit: Entry.maximumSize),
            let proofBytes = Self.read(proof, limit: 1 << 16)
        else {
            throw TemoinError(
                .verifyNoInput,
                "--entry et --proof nomment deux fichiers lisibles (entrée de 16 Kio au plus) / --entry and --proof "
                    + "name two readable files (an entry is at most 16 KiB)"
            )
        }
        let parsed = try TlogProof(parsing: proofBytes)
        let origin = parsed.checkpoint.checkpoint.origin
        let size = parsed.checkpoint.checkpoint.size
        guard origin == key.name else {
            print(
                "ÉCHEC / FAIL  la preuve vient du journal « \(origin) », la clé donnée est celle du journal « "
                    + "\(key.name) » / the proof comes from log \"\(origin)\" but the key given is log \"\(key.name)\"'s"
            )
            return 1
        }
        do {
            try parsed.checkpoint.verify(key: key, using: Ed25519())
        } catch {
            print(
                "ÉCHEC / FAIL  le point de contrôle de la preuve n'est pas signé par la clé donnée / the proof's "
                    + "checkpoint is not signed by the key given"
            )
            return 1
        }
        do {
            try parsed.verify(entry: entryBytes, key: key, hasher: SHA256.merkle, ed25519: Ed25519())
            print(
                "RÉUSSI / PASS  entrée \(parsed.index) incluse dans le journal \(key.name) de taille \(size) / "
                    + "entry \(parsed.index) is in log \(key.name) of size \(size)"
            )
            return 0
        } catch {
            print(
                "ÉCHEC / FAIL  ces octets ne sont pas l'entrée \(parsed.index) du journal \(key.name) de taille "
                    + "\(size) / these bytes are not entry \(parsed.index) of log \(key.name) of size \(size)"
            )
            return 1
        }
    }

    /// A regular file read whole, at most `limit` bytes; nil if absent, unreadable or larger.
    static func read(_ path: String, limit: Int) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: limit + 1), data.count <= limit else { return nil }
        return [UInt8](data)
    }
}
