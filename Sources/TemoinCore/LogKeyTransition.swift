/// A change of the log key, proven (Docs/ledger-format.md §3, "Rotating the log key"): the
/// `key.rotated` entry (`key-role log`) that names the new key, and a C2SP tlog-proof of that
/// entry against the first checkpoint that covers it, a signed note carrying two signatures —
/// the key it replaces and the new one. Whoever trusts the old key learns the new one only
/// through such a proof, and only the key the entry names.
public struct LogKeyTransition: Sendable, Hashable {
    /// The `key.rotated` entry's exact bytes.
    public let entry: [UInt8]
    /// Its inclusion proof against the cosigned checkpoint (which the proof embeds).
    public let proof: TlogProof

    public init(entry: [UInt8], proof: TlogProof) {
        self.entry = entry
        self.proof = proof
    }

    public var index: UInt64 { proof.index }
    public var checkpoint: SignedCheckpoint { proof.checkpoint }

    /// The key a `key.rotated` entry of role `log` names, which must be a key of the log `origin`.
    public static func newKey(
        of entry: Entry, origin: String, hash: any SHA256Function
    ) throws(TemoinError)
        -> VerifierKey
    {
        guard entry.kind == .keyRotated, entry["key-role"] == "log", let text = entry["key"] else {
            throw TemoinError(.transitionInvalid, "the entry is not a key.rotated entry of the log key")
        }
        let key: VerifierKey
        do throws(TemoinError) {
            key = try VerifierKey(parsing: text, hash: hash)
        } catch {
            throw TemoinError(.transitionInvalid, "the key.rotated entry's key is not a C2SP verifier key")
        }
        guard key.name == origin else {
            throw TemoinError(
                .transitionInvalid, "the new key is named '\(key.name)', not the log's origin '\(origin)'")
        }
        return key
    }

    /// Checks the transition from `old` (a key already trusted) and returns the new key: the entry
    /// is a `key.rotated` of the log key naming a key of the same log other than `old`; the
    /// checkpoint is signed by exactly two keys, `old` and the new one, both signatures valid; the
    /// entry is included at `index` in the checkpoint's tree.
    public func verify(
        from old: VerifierKey, hasher: MerkleHasher, ed25519: any Ed25519Verifying
    ) throws(TemoinError) -> VerifierKey {
        let parsed: Entry
        do throws(TemoinError) { parsed = try Entry(parsing: entry) } catch {
            throw TemoinError(.transitionInvalid, "the key.rotated entry does not parse: \(error.reason)")
        }
        let new = try Self.newKey(of: parsed, origin: old.name, hash: hasher.function)
        guard new != old, new.keyID != old.keyID else {
            throw TemoinError(.transitionInvalid, "the rotation names the key it replaces")
        }
        let note = checkpoint.note
        let ids = note.signatures.map(\.keyID)
        guard note.signatures.count == 2, ids.contains(old.keyID), ids.contains(new.keyID) else {
            throw TemoinError(
                .transitionInvalid,
                "the checkpoint that first covers the rotation must carry exactly two signatures, the old key's and "
                    + "the new key's (it has \(note.signatures.count))")
        }
        for key in [old, new] {
            do throws(TemoinError) { try checkpoint.verify(key: key, using: ed25519) } catch {
                throw TemoinError(
                    .transitionInvalid,
                    "the transition checkpoint's signature by key \(key.keyIDHex) does not verify: \(error.reason)")
            }
        }
        do throws(TemoinError) {
            try MerkleVerifier(hasher: hasher).verifyInclusion(
                index: index, size: checkpoint.checkpoint.size, leafHash: hasher.leafHash(entry), proof: proof.path,
                root: checkpoint.checkpoint.root)
        } catch {
            throw TemoinError(
                .transitionInvalid, "the key.rotated entry is not in the transition checkpoint's tree: \(error.reason)")
        }
        return new
    }
}

/// A consistency proof as a file (`key-transitions/<index>.consistency` of a bundle):
///
/// ```
/// temoin/consistency/v1
/// <first size>
/// <second size>
/// <base64 hash>          ← RFC 9162 §2.1.4 PROOF, in order, one per line
/// …
/// ```
///
/// Every line ends in LF; sizes are canonical decimals, 0 < first ≤ second.
public struct ConsistencyProofFile: Sendable, Hashable {
    public static let header = "temoin/consistency/v1"
    public static let maximumSize = 8192

    public let first: UInt64
    public let second: UInt64
    public let path: [Hash]

    public init(first: UInt64, second: UInt64, path: [Hash]) {
        self.first = first
        self.second = second
        self.path = path
    }

    public var bytes: [UInt8] {
        var s = "\(Self.header)\n\(first)\n\(second)\n"
        for h in path { s += h.base64 + "\n" }
        return Array(s.utf8)
    }

    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        guard bytes.count <= Self.maximumSize, bytes.last == 0x0a else {
            throw .malformed(.consistencyMalformed, "a consistency proof file is small and ends in a newline")
        }
        let lines = bytes.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard lines.count >= 3, lines[0] == Self.header, let first = StrictDecimal.parse(lines[1]),
            let second = StrictDecimal.parse(lines[2]), first > 0, first <= second
        else {
            throw .malformed(
                .consistencyMalformed, "a consistency proof file reads '\(Self.header)', the two sizes, the hashes")
        }
        var path = [Hash]()
        for l in lines.dropFirst(3) {
            guard let h = Hash(base64: l) else {
                throw .malformed(.consistencyMalformed, "consistency proof lines are base64 SHA-256 hashes")
            }
            path.append(h)
        }
        self.init(first: first, second: second, path: path)
        guard self.bytes == bytes else {
            throw .malformed(.consistencyMalformed, "the consistency proof file is not canonical")
        }
    }

    /// Checks that the tree of `older` is a prefix of the tree of `newer` (their sizes must be this
    /// file's).
    public func verify(older: Checkpoint, newer: Checkpoint, hasher: MerkleHasher) throws(TemoinError) {
        guard older.size == first, newer.size == second else {
            throw TemoinError(
                .transitionInvalid,
                "the consistency proof is between sizes \(first) and \(second), not \(older.size) and \(newer.size)")
        }
        try MerkleVerifier(hasher: hasher).verifyConsistency(
            first: first, second: second, firstRoot: older.root, secondRoot: newer.root, proof: path)
    }
}

/// The keys a log has had, in order: the genesis key, then each `key.rotated` (`key-role log`)
/// with the index of its entry. The key that signs a checkpoint of size n is the key of the last
/// rotation whose entry is below n (the genesis key if none); the first checkpoint covering a
/// rotation is also signed by the key before it.
public struct LogKeyHistory: Sendable {
    public let genesis: VerifierKey
    public private(set) var rotations: [(index: UInt64, key: VerifierKey)] = []

    public init(genesis: VerifierKey) {
        self.genesis = genesis
    }

    /// Every key in order, the genesis key first.
    public var keys: [VerifierKey] { [genesis] + rotations.map(\.key) }
    /// The key in force now.
    public var current: VerifierKey { rotations.last?.key ?? genesis }

    /// Records the rotation at `index` (indices must increase); refuses a key the log already had.
    public mutating func append(index: UInt64, key: VerifierKey) throws(TemoinError) {
        guard !keys.contains(where: { $0 == key || $0.keyID == key.keyID }) else {
            throw TemoinError(.keysLogKeyReused, "entry \(index) names a log key the log already had")
        }
        rotations.append((index, key))
    }

    /// The key that signs the checkpoint of `size`.
    public func key(forSize size: UInt64) -> VerifierKey {
        rotations.last { $0.index < size }?.key ?? genesis
    }

    /// The keys that must sign the checkpoint of `size` when `previous` is the size of the
    /// checkpoint before it (0 if none): the key in force, and the key it replaced when the
    /// checkpoint is the first to cover a rotation. More than one rotation under one checkpoint
    /// is not allowed (nil).
    public func signers(size: UInt64, previous: UInt64) -> [VerifierKey]? {
        let covered = rotations.indices.filter { rotations[$0].index >= previous && rotations[$0].index < size }
        guard covered.count <= 1 else { return nil }
        guard let i = covered.first else { return [key(forSize: size)] }
        return [i == 0 ? genesis : rotations[i - 1].key, rotations[i].key]
    }
}
