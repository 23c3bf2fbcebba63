import Foundation
import TemoinFuzzTargets
import Testing

/// Every committed corpus file (seeds, and whatever the fuzz campaigns kept or found) replayed
/// through its target without the sanitizer: a parser that regresses on any of them, or an
/// invariant that stops holding, fails here. See Docs/fuzzing.md.
struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    /// Targets whose seeds carry a signature by the fixed genuine key.
    static let signed: Set<String> = ["note", "tlog-proof", "device-request", "cms"]

    @Test(arguments: FuzzTargets.all.map(\.name))
    func everyCorpusFileKeepsItsTargetsInvariants(_ name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let folder = Self.corpus.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var outcomes = [Outcome: Int]()
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(file)))
            do {
                outcomes[try target.run(bytes), default: 0] += 1
            } catch {
                Issue.record("\(name)/\(file): \(error)")
            }
        }
        #expect(files.count >= 2, "\(name): the corpus has seeds")
        // The targets are not vacuous: genuine seeds get through the parser (and the signature
        // check, where there is one), so the invariants after it are exercised.
        #expect((outcomes[.accepted] ?? 0) + (outcomes[.verified] ?? 0) > 0, "\(name): some corpus file is accepted")
        if Self.signed.contains(name) {
            #expect((outcomes[.verified] ?? 0) > 0, "\(name): some corpus file verifies against the genuine key")
        }
    }

    @Test func everyTargetHasACorpusFolderAndEveryFolderATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter {
            !$0.hasPrefix(".")
        }
        #expect(Set(folders) == Set(FuzzTargets.all.map(\.name)))
    }

    @Test func forgedSignaturesAndAlteredContentAreBrokenInvariantsNotAcceptedInputs() throws {
        // A target notices what it must: a genuine tlog-proof offered for another entry verifies
        // nowhere (refused or merely parsed), and the genuine CMS over altered content is refused.
        let proof = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent("tlog-proof/seed-entry-3-size-8")))
        let elsewhere = [UInt8(4)] + proof.dropFirst()
        #expect(try FuzzTargets.named("tlog-proof")!.run(elsewhere) == .accepted)
        let p7s = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent("cms/seed-genuine.p7s")))
        #expect(try FuzzTargets.named("cms")!.run([3] + p7s.dropFirst()) == .refused)
    }
}
