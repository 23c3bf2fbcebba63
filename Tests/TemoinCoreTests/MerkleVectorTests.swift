import Foundation
import TemoinCore
import TemoinCrypto
import Testing

/// The published RFC 9162 vectors of transparency-dev/merkle (see Vectors/merkle/SOURCE.md).
///
/// Our verifier accepts only 32-byte SHA-256 roots and proof hashes. A few consistency vectors
/// use short placeholder roots ("don't care") and expect success when sizes are equal and the
/// placeholders match; we refuse them at parsing, on purpose: a court-facing verifier never
/// compares anything but real SHA-256 hashes. `placeholderVectors` lists exactly those.
struct MerkleVectorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/merkle")

    struct InclusionVector: Decodable {
        let leafIdx: UInt64
        let treeSize: UInt64
        let root: String
        let leafHash: String
        let proof: [String]?
        let desc: String
        let wantErr: Bool
    }

    struct ConsistencyVector: Decodable {
        let size1: UInt64
        let size2: UInt64
        let root1: String
        let root2: String
        let proof: [String]?
        let desc: String
        let wantErr: Bool
    }

    static func files(_ kind: String) -> [String] {
        let base = root.appendingPathComponent(kind)
        let enumerator = FileManager.default.enumerator(atPath: base.path)!
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".json") }.sorted()
            .map { "\(kind)/\($0)" }
    }

    static let inclusionFiles = files("inclusion")
    static let consistencyFiles = files("consistency")
    static let placeholderVectors: Set<String> = ["consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"]

    let verifier = MerkleVerifier(hasher: SHA256.merkle)

    @Test func theVectorsAreAllThere() {
        #expect(Self.inclusionFiles.count >= 80)
        #expect(Self.consistencyFiles.count >= 80)
    }

    /// Decodes base64 into a 32-byte hash, or nil for anything else (empty, short, garbage).
    func hash(_ s: String) -> Hash? {
        Data(base64Encoded: s).flatMap { Hash([UInt8]($0)) }
    }

    @Test(arguments: inclusionFiles)
    func inclusionVector(_ file: String) throws {
        let v = try JSONDecoder().decode(
            InclusionVector.self, from: Data(contentsOf: Self.root.appendingPathComponent(file)))
        var outcome: Result<Void, TemoinError>
        if let root = hash(v.root), let leaf = hash(v.leafHash) {
            let proof = (v.proof ?? []).map(hash)
            if proof.contains(where: { $0 == nil }) {
                outcome = .failure(TemoinError(.proofBadHash, category: .invalidEvidence, "not a hash"))
            } else {
                outcome = Result { () throws(TemoinError) in
                    try verifier.verifyInclusion(
                        index: v.leafIdx, size: v.treeSize, leafHash: leaf,
                        proof: proof.map { $0! }, root: root)
                }
            }
        } else {
            outcome = .failure(TemoinError(.proofBadHash, category: .invalidEvidence, "not a hash"))
        }
        switch outcome {
        case .success: #expect(!v.wantErr, "\(file): \(v.desc) should have been refused")
        case .failure(let e): #expect(v.wantErr, "\(file): \(v.desc) refused: \(e)")
        }
    }

    @Test(arguments: consistencyFiles)
    func consistencyVector(_ file: String) throws {
        let v = try JSONDecoder().decode(
            ConsistencyVector.self, from: Data(contentsOf: Self.root.appendingPathComponent(file)))
        var accepted = false
        if let r1 = hash(v.root1), let r2 = hash(v.root2) {
            let proof = (v.proof ?? []).map(hash)
            if !proof.contains(where: { $0 == nil }) {
                accepted =
                    (try? verifier.verifyConsistency(
                        first: v.size1, second: v.size2,
                        firstRoot: r1, secondRoot: r2, proof: proof.map { $0! })) != nil
            }
        }
        if Self.placeholderVectors.contains(file) {
            #expect(!v.wantErr && !accepted, "\(file): placeholder roots are refused by design")
        } else {
            #expect(accepted == !v.wantErr, "\(file): \(v.desc): accepted=\(accepted) wantErr=\(v.wantErr)")
        }
    }
}
