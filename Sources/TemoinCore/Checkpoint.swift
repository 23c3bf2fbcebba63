/// A C2SP tlog-checkpoint body: origin, tree size, root hash, optional extension lines.
public struct Checkpoint: Sendable, Hashable {
    public let origin: String
    public let size: UInt64
    public let root: Hash
    public let extensions: [String]

    public init(origin: String, size: UInt64, root: Hash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text (final newline included).
    public var text: [UInt8] {
        var s = origin + "\n" + String(size) + "\n" + root.base64 + "\n"
        for e in extensions { s += e + "\n" }
        return Array(s.utf8)
    }

    public init(parsing text: [UInt8]) throws(TemoinError) {
        guard text.last == 0x0a else {
            throw .malformed(.checkpointNoFinalNewline, "checkpoint text ends with a newline")
        }
        let lines = text.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard lines.count >= 3 else {
            throw .malformed(.checkpointTooShort, "a checkpoint has origin, size and root lines")
        }
        guard !lines[0].isEmpty else { throw .malformed(.checkpointEmptyOrigin, "checkpoint origin is empty") }
        guard let size = StrictDecimal.parse(lines[1], max: UInt64.max) else {
            throw .malformed(.checkpointBadSize, "checkpoint size is not a canonical decimal")
        }
        guard let root = Hash(base64: lines[2]) else {
            throw .malformed(.checkpointBadRoot, "checkpoint root is not a base64 SHA-256 hash")
        }
        guard lines.dropFirst(3).allSatisfy({ !$0.isEmpty }) else {
            throw .malformed(.checkpointEmptyExtension, "checkpoint extension lines must not be empty")
        }
        self.init(origin: lines[0], size: size, root: root, extensions: Array(lines.dropFirst(3)))
        guard self.text == text else { throw .malformed(.checkpointNotCanonical, "checkpoint text is not canonical") }
    }
}

/// A checkpoint together with the signed note that carries it, kept byte for byte.
public struct SignedCheckpoint: Sendable, Hashable {
    public let checkpoint: Checkpoint
    public let note: SignedNote

    public init(note: SignedNote) throws(TemoinError) {
        self.note = note
        checkpoint = try Checkpoint(parsing: note.text)
    }

    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        try self.init(note: SignedNote(parsing: bytes))
    }

    public init(signing checkpoint: Checkpoint, with signer: any NoteSigner) throws(TemoinError) {
        self.checkpoint = checkpoint
        note = try SignedNote(signing: checkpoint.text, with: signer)
    }

    /// Signed by several keys (the checkpoint of a log-key transition: old key, then new key).
    public init(signing checkpoint: Checkpoint, with signers: [any NoteSigner]) throws(TemoinError) {
        self.checkpoint = checkpoint
        note = try SignedNote(signing: checkpoint.text, with: signers)
    }

    public var bytes: [UInt8] { note.bytes }

    /// Checks the log's signature and that the origin is the key's name.
    public func verify(key: VerifierKey, using ed25519: any Ed25519Verifying) throws(TemoinError) {
        guard checkpoint.origin == key.name else {
            throw TemoinError(
                .checkpointWrongOrigin,
                "checkpoint origin '\(checkpoint.origin)' is not the log '\(key.name)'")
        }
        try note.verify(key: key, using: ed25519)
    }
}
