import TemoinCore
import TemoinCrypto
import Testing

struct CheckpointFormatTests {
    let signer: Ed25519NoteSigner
    let root = SHA256.hash(Array("root".utf8))

    init() throws {
        signer = try Ed25519NoteSigner(name: "example.org/temoin", privateKey: Ed25519PrivateKey.generate())
    }

    @Test func aCheckpointIsOriginSizeAndBase64Root() throws {
        let c = Checkpoint(origin: "example.org/temoin", size: 20852163, root: root)
        #expect(String(decoding: c.text, as: UTF8.self) == "example.org/temoin\n20852163\n\(root.base64)\n")
        let signed = try SignedCheckpoint(signing: c, with: signer)
        let parsed = try SignedCheckpoint(parsing: signed.bytes)
        #expect(parsed.checkpoint == c)
        try parsed.verify(key: signer.verifierKey, using: Ed25519())
    }

    @Test func theSpecExampleCheckpointParses() throws {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— "
            + "example.com/behind-the-sofa "
            + "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        let c = try SignedCheckpoint(parsing: Array(text.utf8))
        #expect(c.checkpoint.origin == "example.com/behind-the-sofa")
        #expect(c.checkpoint.size == 20852163)
        #expect(c.bytes == Array(text.utf8))
    }

    @Test func aCheckpointForAnotherOriginIsRefusedEvenIfSignedByTheKey() throws {
        let signed = try SignedCheckpoint(
            signing: Checkpoint(origin: "other.example/log", size: 1, root: root), with: signer)
        #expect(throws: TemoinError.self) { try signed.verify(key: signer.verifierKey, using: Ed25519()) }
    }

    @Test(arguments: ["01", "-1", "1.0", "", "18446744073709551616"])
    func nonCanonicalSizesAreRefused(_ size: String) {
        let text = "example.org/temoin\n\(size)\n\(root.base64)\n"
        #expect(throws: TemoinError.self) { try Checkpoint(parsing: Array(text.utf8)) }
    }

    @Test func aTlogProofRoundTripsAndRefusesTrailingGarbage() throws {
        let hasher = SHA256.merkle
        let entries = (0..<5).map { Array("entry \($0)".utf8) }
        var range = CompactRange()
        var nodes: [NodeID: Hash] = [:]
        for (i, e) in entries.enumerated() {
            let leaf = hasher.leafHash(e)
            nodes[NodeID(level: 0, index: UInt64(i))] = leaf
            for (id, h) in range.append(leaf, hasher: hasher) { nodes[id] = h }
        }
        let prover = MerkleProver<Never>(hasher: hasher) { nodes[$0]! }
        let checkpoint = try SignedCheckpoint(
            signing: Checkpoint(origin: "example.org/temoin", size: 5, root: range.root(hasher: hasher)), with: signer)
        let proof = TlogProof(
            extra: Array("x".utf8), index: 3, path: prover.inclusionProof(index: 3, size: 5), checkpoint: checkpoint)
        let parsed = try TlogProof(parsing: proof.bytes)
        #expect(parsed == proof)
        #expect(String(decoding: proof.bytes, as: UTF8.self).hasPrefix("c2sp.org/tlog-proof@v1\nextra eA==\nindex 3\n"))
        try parsed.verify(entry: entries[3], key: signer.verifierKey, hasher: hasher, ed25519: Ed25519())
        #expect(throws: TemoinError.self) {
            try parsed.verify(entry: entries[2], key: signer.verifierKey, hasher: hasher, ed25519: Ed25519())
        }
        #expect(throws: TemoinError.self) { try TlogProof(parsing: proof.bytes + [0x0a]) }
        #expect(throws: TemoinError.self) { try TlogProof(parsing: proof.bytes + Array("x".utf8)) }
        let wrongIndex = TlogProof(index: 2, path: proof.path, checkpoint: checkpoint)
        #expect(throws: TemoinError.self) {
            try wrongIndex.verify(entry: entries[3], key: signer.verifierKey, hasher: hasher, ed25519: Ed25519())
        }
    }
}
