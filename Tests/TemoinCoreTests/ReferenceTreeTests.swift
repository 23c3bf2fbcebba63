import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

/// A naive Merkle tree straight from RFC 9162 §2.1, used to cross-check the optimized prover.
/// (Subtree roots are memoized: the same range always has the same root.)
struct ReferenceTree {
    final class Memo { var roots: [Range<Int>: Hash] = [:] }
    let hasher: MerkleHasher
    let leaves: [Hash]
    var memo = Memo()

    func root(_ range: Range<Int>) -> Hash {
        if range.isEmpty { return hasher.emptyRoot }
        if range.count == 1 { return leaves[range.lowerBound] }
        if let known = memo.roots[range] { return known }
        var k = 1
        while k * 2 < range.count { k *= 2 }
        let r = hasher.nodeHash(
            root(range.lowerBound..<range.lowerBound + k), root(range.lowerBound + k..<range.upperBound))
        memo.roots[range] = r
        return r
    }

    func path(_ m: Int, _ range: Range<Int>) -> [Hash] {
        if range.count <= 1 { return [] }
        var k = 1
        while k * 2 < range.count { k *= 2 }
        let split = range.lowerBound + k
        if m < k { return path(m, range.lowerBound..<split) + [root(split..<range.upperBound)] }
        return path(m - k, split..<range.upperBound) + [root(range.lowerBound..<split)]
    }

    func subproof(_ m: Int, _ range: Range<Int>, _ b: Bool) -> [Hash] {
        if m == range.count { return b ? [] : [root(range)] }
        var k = 1
        while k * 2 < range.count { k *= 2 }
        let split = range.lowerBound + k
        if m <= k { return subproof(m, range.lowerBound..<split, b) + [root(split..<range.upperBound)] }
        return subproof(m - k, split..<range.upperBound, false) + [root(range.lowerBound..<split)]
    }
}

/// Stored perfect subtrees, the way the ledger keeps them.
struct NodeStore {
    var nodes: [NodeID: Hash] = [:]
    var range = CompactRange()

    mutating func append(_ leaf: Hash, hasher: MerkleHasher) {
        nodes[NodeID(level: 0, index: range.size)] = leaf
        for (id, h) in range.append(leaf, hasher: hasher) { nodes[id] = h }
    }
}

struct ReferenceTreeTests {
    static let maxSize = 512
    let hasher = SHA256.merkle

    func build(_ n: Int) -> (ReferenceTree, NodeStore) {
        let leaves = (0..<n).map { hasher.leafHash(Array("leaf \($0)".utf8)) }
        var store = NodeStore()
        for l in leaves { store.append(l, hasher: hasher) }
        return (ReferenceTree(hasher: hasher, leaves: leaves), store)
    }

    @Test(.tags(.slow), .notInFastRuns) func everyGeneratedProofMatchesTheReferenceTreeUpTo512Leaves() throws {
        let (full, store) = build(Self.maxSize)
        let prover = MerkleProver<Never>(hasher: hasher) { store.nodes[$0]! }
        let verifier = MerkleVerifier(hasher: hasher)
        var roots = [hasher.emptyRoot]
        let memo = ReferenceTree.Memo()
        for n in 1...Self.maxSize {
            let reference = ReferenceTree(hasher: hasher, leaves: Array(full.leaves.prefix(n)), memo: memo)
            roots.append(reference.root(0..<n))
            #expect(prover.root(size: UInt64(n)) == roots[n], "root of size \(n)")
            for m in 0..<n {
                let proof = prover.inclusionProof(index: UInt64(m), size: UInt64(n))
                #expect(proof == reference.path(m, 0..<n), "inclusion \(m) in \(n)")
                try verifier.verifyInclusion(
                    index: UInt64(m), size: UInt64(n), leafHash: full.leaves[m], proof: proof, root: roots[n])
            }
            for m in 1...n {
                let proof = prover.consistencyProof(first: UInt64(m), second: UInt64(n))
                #expect(proof == (m == n ? [] : reference.subproof(m, 0..<n, true)), "consistency \(m) to \(n)")
                try verifier.verifyConsistency(
                    first: UInt64(m), second: UInt64(n), firstRoot: roots[m], secondRoot: roots[n], proof: proof)
            }
        }
    }

    @Test func theCompactRangeRootIsTheTreeRootAtEverySize() throws {
        let (full, _) = build(300)
        var range = CompactRange()
        for n in 0...300 {
            #expect(
                range.root(hasher: hasher)
                    == ReferenceTree(hasher: hasher, leaves: Array(full.leaves.prefix(n))).root(0..<n))
            if n < 300 { range.append(full.leaves[n], hasher: hasher) }
        }
    }

    @Test func aCompactRangeRebuiltFromStoredNodesEqualsTheGrownOne() throws {
        let (_, store) = build(300)
        for n: UInt64 in [0, 1, 2, 3, 7, 8, 255, 256, 299] {
            var grown = NodeStore()
            let (full, _) = build(Int(n))
            for l in full.leaves { grown.append(l, hasher: hasher) }
            let rebuilt = CompactRange(size: n) { store.nodes[$0]! }
            #expect(rebuilt.root(hasher: hasher) == grown.range.root(hasher: hasher))
            #expect(CompactRange.peakIDs(size: n).count == n.nonzeroBitCount)
        }
    }

    @Test func proofsWithATamperedHashAreRefused() throws {
        let (full, store) = build(37)
        let prover = MerkleProver<Never>(hasher: hasher) { store.nodes[$0]! }
        let verifier = MerkleVerifier(hasher: hasher)
        let root = prover.root(size: 37)
        var proof = prover.inclusionProof(index: 13, size: 37)
        var bytes = proof[2].bytes
        bytes[31] ^= 1
        proof[2] = Hash(bytes)!
        #expect(throws: TemoinError.self) {
            try verifier.verifyInclusion(index: 13, size: 37, leafHash: full.leaves[13], proof: proof, root: root)
        }
    }
}
