/// RFC 9162 §2.1 hashing: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right),
/// empty tree = SHA-256("").
public struct MerkleHasher: Sendable {
    public let function: any SHA256Function

    public init(_ function: any SHA256Function) {
        self.function = function
    }

    public func leafHash(_ data: some Collection<UInt8>) -> Hash {
        var buffer = [UInt8]()
        buffer.reserveCapacity(data.count + 1)
        buffer.append(0x00)
        buffer.append(contentsOf: data)
        return function.sha256(buffer)
    }

    public func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        var buffer = [UInt8]()
        buffer.reserveCapacity(65)
        buffer.append(0x01)
        buffer.append(contentsOf: left.bytes)
        buffer.append(contentsOf: right.bytes)
        return function.sha256(buffer)
    }

    public var emptyRoot: Hash { function.sha256([]) }
}

/// A perfect subtree of the log: the 2^level leaves starting at index << level.
public struct NodeID: Hashable, Sendable, CustomStringConvertible {
    public let level: Int
    public let index: UInt64

    public init(level: Int, index: UInt64) {
        self.level = level
        self.index = index
    }

    public var description: String { "node(level \(level), index \(index))" }
}

/// Proof generation (RFC 9162 §2.1.3.1 and §2.1.4.1) over stored perfect subtrees.
///
/// `node` returns the hash of a perfect subtree; level 0 is a leaf hash. Every proof costs
/// O(log n) calls: only subtrees on the right border of the tree are recomputed.
public struct MerkleProver<Failure: Error> {
    public let hasher: MerkleHasher
    public let node: (NodeID) throws(Failure) -> Hash

    public init(hasher: MerkleHasher, node: @escaping (NodeID) throws(Failure) -> Hash) {
        self.hasher = hasher
        self.node = node
    }

    /// MTH(D[0:size]).
    public func root(size: UInt64) throws(Failure) -> Hash {
        size == 0 ? hasher.emptyRoot : try subtree(0, size)
    }

    /// PATH(index, D[0:size]); the caller has checked index < size.
    public func inclusionProof(index: UInt64, size: UInt64) throws(Failure) -> [Hash] {
        precondition(index < size, "inclusion proof index out of range")
        var proof = [Hash]()
        try path(index, 0, size, into: &proof)
        return proof
    }

    /// PROOF(first, D[0:second]); the caller has checked 0 < first <= second.
    public func consistencyProof(first: UInt64, second: UInt64) throws(Failure) -> [Hash] {
        precondition(first > 0 && first <= second, "consistency proof sizes out of range")
        var proof = [Hash]()
        if first < second { try subproof(first, 0, second, true, into: &proof) }
        return proof
    }

    private func path(_ m: UInt64, _ start: UInt64, _ end: UInt64, into proof: inout [Hash]) throws(Failure) {
        let n = end - start
        guard n > 1 else { return }
        let k = largestPowerOfTwo(below: n)
        if m < k {
            try path(m, start, start + k, into: &proof)
            proof.append(try subtree(start + k, end))
        } else {
            try path(m - k, start + k, end, into: &proof)
            proof.append(try subtree(start, start + k))
        }
    }

    private func subproof(
        _ m: UInt64, _ start: UInt64, _ end: UInt64, _ b: Bool, into proof: inout [Hash]
    ) throws(Failure) {
        let n = end - start
        if m == n {
            if !b { proof.append(try subtree(start, end)) }
            return
        }
        let k = largestPowerOfTwo(below: n)
        if m <= k {
            try subproof(m, start, start + k, b, into: &proof)
            proof.append(try subtree(start + k, end))
        } else {
            try subproof(m - k, start + k, end, false, into: &proof)
            proof.append(try subtree(start, start + k))
        }
    }

    /// MTH(D[start:end]) where start is aligned to the largest power of two not above end - start.
    private func subtree(_ start: UInt64, _ end: UInt64) throws(Failure) -> Hash {
        let n = end - start
        if n & (n - 1) == 0, start % n == 0 {
            let level = n.trailingZeroBitCount
            return try node(NodeID(level: level, index: start >> UInt64(level)))
        }
        let k = largestPowerOfTwo(below: n)
        return hasher.nodeHash(try subtree(start, start + k), try subtree(start + k, end))
    }
}

/// The largest power of two strictly smaller than n (n > 1).
@inlinable
func largestPowerOfTwo(below n: UInt64) -> UInt64 {
    UInt64(1) << UInt64(63 - (n - 1).leadingZeroBitCount)
}

/// Proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2). Every failure names its reason.
public struct MerkleVerifier: Sendable {
    public let hasher: MerkleHasher

    public init(hasher: MerkleHasher) {
        self.hasher = hasher
    }

    public func verifyInclusion(
        index: UInt64, size: UInt64, leafHash: Hash, proof: [Hash], root: Hash
    ) throws(TemoinError) {
        guard index < size else {
            throw fail(.merkleIndexOutOfRange, "entry index \(index) is not below tree size \(size)")
        }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else {
                throw fail(.merkleProofTooLong, "inclusion proof has more hashes than the tree has levels")
            }
            if fn & 1 == 1 || fn == sn {
                r = hasher.nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = hasher.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else {
            throw fail(.merkleProofTooShort, "inclusion proof has fewer hashes than the tree has levels")
        }
        guard r == root else { throw fail(.merkleRootMismatch, "inclusion proof does not lead to the root") }
    }

    public func verifyConsistency(
        first: UInt64, second: UInt64, firstRoot: Hash, secondRoot: Hash, proof: [Hash]
    ) throws(TemoinError) {
        guard first <= second else {
            throw fail(.merkleSizesOutOfOrder, "first tree size \(first) is larger than second \(second)")
        }
        guard first > 0 else {
            throw fail(.merkleEmptyFirstTree, "a consistency proof from the empty tree proves nothing")
        }
        if first == second {
            guard proof.isEmpty else { throw fail(.merkleProofTooLong, "a proof between equal sizes must be empty") }
            guard firstRoot == secondRoot else { throw fail(.merkleRootMismatch, "equal sizes with different roots") }
            return
        }
        guard !proof.isEmpty else { throw fail(.merkleProofTooShort, "consistency proof is empty") }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw fail(.merkleProofTooLong, "consistency proof has too many hashes") }
            if fn & 1 == 1 || fn == sn {
                fr = hasher.nodeHash(c, fr)
                sr = hasher.nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = hasher.nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw fail(.merkleProofTooShort, "consistency proof has too few hashes") }
        guard fr == firstRoot else {
            throw fail(.merkleRootMismatch, "consistency proof does not lead to the first root")
        }
        guard sr == secondRoot else {
            throw fail(.merkleRootMismatch, "consistency proof does not lead to the second root")
        }
    }

    private func fail(_ code: ErrorCode, _ reason: String) -> TemoinError {
        TemoinError(code, category: .invalidEvidence, reason)
    }
}

/// The right border of a growing tree: one perfect subtree hash per set bit of its size.
/// Appending a leaf returns the perfect subtrees it completes, which a store keeps.
public struct CompactRange: Sendable, Equatable {
    public private(set) var size: UInt64
    /// peaks[level] is the hash of the perfect subtree of 2^level leaves at the right border.
    public private(set) var peaks: [Hash?]

    public init() {
        size = 0
        peaks = []
    }

    /// Rebuilds the border of a tree of `size` leaves from its stored perfect subtrees.
    public init<F: Error>(size: UInt64, node: (NodeID) throws(F) -> Hash) throws(F) {
        self.size = size
        peaks = Array(repeating: nil, count: 64 - size.leadingZeroBitCount)
        var start: UInt64 = 0
        for level in stride(from: peaks.count - 1, through: 0, by: -1) where size >> UInt64(level) & 1 == 1 {
            peaks[level] = try node(NodeID(level: level, index: start >> UInt64(level)))
            start += UInt64(1) << UInt64(level)
        }
    }

    /// The NodeIDs whose hashes `init(size:node:)` reads.
    public static func peakIDs(size: UInt64) -> [NodeID] {
        var ids = [NodeID]()
        var start: UInt64 = 0
        for level in stride(from: 63 - size.leadingZeroBitCount, through: 0, by: -1)
        where size >> UInt64(level) & 1 == 1 {
            ids.append(NodeID(level: level, index: start >> UInt64(level)))
            start += UInt64(1) << UInt64(level)
        }
        return ids
    }

    /// Appends a leaf hash; returns the interior nodes (level ≥ 1) it completes, lowest first.
    @discardableResult
    public mutating func append(_ leaf: Hash, hasher: MerkleHasher) -> [(NodeID, Hash)] {
        var completed = [(NodeID, Hash)]()
        var hash = leaf
        var level = 0
        var index = size
        while size >> UInt64(level) & 1 == 1 {
            hash = hasher.nodeHash(peaks[level]!, hash)
            peaks[level] = nil
            level += 1
            index >>= 1
            completed.append((NodeID(level: level, index: index), hash))
        }
        if peaks.count <= level { peaks.append(contentsOf: repeatElement(nil, count: level + 1 - peaks.count)) }
        peaks[level] = hash
        size += 1
        return completed
    }

    /// MTH of the whole range.
    public func root(hasher: MerkleHasher) -> Hash {
        var acc: Hash?
        for peak in peaks {
            guard let peak else { continue }
            acc = acc.map { hasher.nodeHash(peak, $0) } ?? peak
        }
        return acc ?? hasher.emptyRoot
    }
}
