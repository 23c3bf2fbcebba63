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
        abstract: "Vérifie un export Témoin hors ligne / verify a Témoin export bundle offline.")

    @Argument(help: "Dossier de l'export / the bundle folder.") var folder: String?
    @Option(help: "Une entrée seule (avec --proof) / a lone entry file, checked with --proof.") var entry: String?
    @Option(help: "Sa preuve C2SP tlog-proof / its C2SP tlog-proof file.") var proof: String?
    @Option(help: "Clé de vérification du journal, ou un fichier qui la contient / the log's verifier key, or a file holding it (from a trusted source).")
    var logKey: String
    @Flag(help: "Résultat en JSON / output JSON.") var json = false

    static func main() {
        do {
            let command = try parseAsRoot() as! TemoinVerifyCommand
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
        if FileManager.default.fileExists(atPath: logKey), let data = FileManager.default.contents(atPath: logKey) {
            text = String(decoding: data, as: UTF8.self)
        }
        let key = try VerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        if entry != nil || proof != nil {
            return try verifyLoneProof(key: key)
        }
        guard let folder else { throw ValidationError("give a bundle FOLDER, or --entry and --proof") }
        var verifier = BundleVerifier(folder: folder, trustedKey: key)
        let report = try verifier.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Output: Encodable { let passed: Bool; let checks: [VerificationCheck]; let notes: [String] }
            FileHandle.standardOutput.write(try encoder.encode(Output(passed: report.passed, checks: report.checks, notes: report.notes)) + Data("\n".utf8))
        } else {
            for c in report.checks {
                print("\(c.passed ? "RÉUSSI / PASS" : "ÉCHEC / FAIL ")  [\(c.check)] \(c.subject): \(c.fr) / \(c.en)")
            }
            for n in report.notes { print("NOTE  \(n)") }
            print(report.passed ? "RÉUSSI / PASS  l'export est intègre et complet / the bundle is intact and complete"
                                : "ÉCHEC / FAIL  l'export ne peut pas être tenu pour intègre / the bundle cannot be trusted")
        }
        return report.passed ? 0 : 1
    }

    /// One entry and its tlog-proof: the checkpoint's signature, then the inclusion.
    func verifyLoneProof(key: VerifierKey) throws -> Int32 {
        guard let entry, let proof, let entryBytes = FileManager.default.contents(atPath: entry),
              let proofBytes = FileManager.default.contents(atPath: proof) else {
            throw TemoinError(.usage, code: "verify.no-input", "--entry and --proof name two readable files")
        }
        let parsed = try TlogProof(parsing: [UInt8](proofBytes))
        do {
            try parsed.verify(entry: [UInt8](entryBytes), key: key, hasher: SHA256.merkle, ed25519: Ed25519())
            print("RÉUSSI / PASS  entrée \(parsed.index) incluse dans le journal \(key.name) de taille \(parsed.checkpoint.checkpoint.size) / entry \(parsed.index) is in log \(key.name) of size \(parsed.checkpoint.checkpoint.size)")
            return 0
        } catch {
            print("ÉCHEC / FAIL  \(error.reason)")
            return 1
        }
    }
}
