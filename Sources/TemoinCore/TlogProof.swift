/// A C2SP tlog-proof: an entry index, its inclusion proof, and the checkpoint it leads to.
public struct TlogProof: Sendable, Hashable {
    public static let header = "c2sp.org/tlog-proof@v1"

    public let extra: [UInt8]?
    public let index: UInt64
    public let path: [Hash]
    public let checkpoint: SignedCheckpoint

    public init(extra: [UInt8]? = nil, index: UInt64, path: [Hash], checkpoint: SignedCheckpoint) {
        self.extra = extra
        self.index = index
        self.path = path
        self.checkpoint = checkpoint
    }

    public var bytes: [UInt8] {
        var s = TlogProof.header + "\n"
        if let extra { s += "extra " + Base64.encode(extra) + "\n" }
        s += "index \(index)\n"
        for h in path { s += h.base64 + "\n" }
        s += "\n"
        return Array(s.utf8) + checkpoint.bytes
    }

    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        guard bytes.count <= SignedNote.maximumSize + 8192 else {
            throw .malformed(.proofTooLarge, "proof is too large")
        }
        guard let blank = (0..<max(0, bytes.count - 1)).first(where: { bytes[$0] == 0x0a && bytes[$0 + 1] == 0x0a })
        else {
            throw .malformed(.proofNoCheckpoint, "a tlog-proof has a blank line before its checkpoint")
        }
        let head = bytes[...blank].dropLast().split(separator: 0x0a, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard head.first == TlogProof.header else {
            throw .malformed(.proofBadHeader, "a tlog-proof starts with '\(TlogProof.header)'")
        }
        var rest = head.dropFirst()
        var extra: [UInt8]?
        if let line = rest.first, line.hasPrefix("extra ") {
            guard let e = Base64.decode(line.dropFirst(6)) else {
                throw .malformed(.proofBadExtra, "extra is not base64")
            }
            extra = e
            rest = rest.dropFirst()
        }
        guard let line = rest.first, line.hasPrefix("index "),
            let index = StrictDecimal.parse(line.dropFirst(6), max: UInt64.max)
        else {
            throw .malformed(.proofBadIndex, "a tlog-proof has an 'index N' line")
        }
        var path = [Hash]()
        for l in rest.dropFirst() {
            guard let h = Hash(base64: l) else {
                throw .malformed(.proofBadHash, "proof lines are base64 SHA-256 hashes")
            }
            path.append(h)
        }
        self.init(
            extra: extra, index: index, path: path,
            checkpoint: try SignedCheckpoint(parsing: Array(bytes[(blank + 2)...])))
        guard self.bytes == bytes else { throw .malformed(.proofNotCanonical, "proof bytes are not canonical") }
    }

    /// Checks the checkpoint's signature, then that `entry` is at `index` in the checkpointed tree.
    public func verify(
        entry: [UInt8], key: VerifierKey, hasher: MerkleHasher, ed25519: any Ed25519Verifying
    ) throws(TemoinError) {
        try checkpoint.verify(key: key, using: ed25519)
        try MerkleVerifier(hasher: hasher).verifyInclusion(
            index: index, size: checkpoint.checkpoint.size, leafHash: hasher.leafHash(entry),
            proof: path, root: checkpoint.checkpoint.root)
    }
}
