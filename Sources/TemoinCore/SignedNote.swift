/// Ed25519 signature checking, provided by an adapter (OpenSSL in `TemoinCrypto`).
public protocol Ed25519Verifying: Sendable {
    func isValid(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool
}

/// Something that signs note texts under a key name and id (the log key).
public protocol NoteSigner: Sendable {
    var verifierKey: VerifierKey { get }
    func sign(_ message: [UInt8]) throws(TemoinError) -> [UInt8]
}

/// A C2SP signed-note verifier key, `name+keyid+base64(type ‖ public key)`; Ed25519 (type 0x01) only.
public struct VerifierKey: Sendable, Hashable, CustomStringConvertible {
    public static let ed25519Type: UInt8 = 0x01

    public let name: String
    public let keyID: UInt32
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8], hash: any SHA256Function) throws(TemoinError) {
        guard VerifierKey.isValidName(name) else {
            throw .malformed(.noteBadKeyName, "key names must be non-empty, without spaces or '+'")
        }
        guard publicKey.count == 32 else { throw .malformed(.noteBadKey, "an Ed25519 public key has 32 bytes") }
        self.name = name
        self.publicKey = publicKey
        keyID = VerifierKey.keyID(name: name, type: VerifierKey.ed25519Type, publicKey: publicKey, hash: hash)
    }

    /// Parses `name+keyid+base64`; the key id must be the one the key-id rule gives.
    public init(parsing text: some StringProtocol, hash: any SHA256Function) throws(TemoinError) {
        let s = String(text)
        let parts = s.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count == 8, let idBytes = Hex.decode(parts[1]),
            let typeAndKey = Base64.decode(parts[2])
        else {
            throw .malformed(.noteBadVerifierKey, "a verifier key reads name+keyid+base64")
        }
        guard typeAndKey.count == 33, typeAndKey[0] == VerifierKey.ed25519Type else {
            throw .malformed(.noteUnsupportedKey, "only Ed25519 verifier keys (type 0x01) are supported")
        }
        try self.init(name: String(parts[0]), publicKey: Array(typeAndKey[1...]), hash: hash)
        let id = idBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard id == keyID else { throw .malformed(.noteKeyIDMismatch, "the verifier key's id does not match its key") }
    }

    /// key ID = SHA-256(key name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian.
    public static func keyID(name: String, type: UInt8, publicKey: [UInt8], hash: any SHA256Function) -> UInt32 {
        let digest = hash.sha256(Array(name.utf8) + [0x0a, type] + publicKey)
        return digest.bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+")
            && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 }
    }

    public var keyIDHex: String { Hex.encode(withUnsafeBytes(of: keyID.bigEndian) { Array($0) }) }

    /// The C2SP text form.
    public var description: String {
        name + "+" + keyIDHex + "+" + Base64.encode([VerifierKey.ed25519Type] + publicKey)
    }
}

/// A C2SP signed note: a text ending in newline, a blank line, one or more signature lines.
public struct SignedNote: Sendable, Hashable {
    public struct Signature: Sendable, Hashable {
        public let name: String
        public let keyID: UInt32
        public let signature: [UInt8]
    }

    /// Notes larger than this are refused.
    public static let maximumSize = 64 * 1024
    public static let maximumSignatures = 100

    /// The signed text, final newline included.
    public let text: [UInt8]
    public let signatures: [Signature]

    public init(text: [UInt8], signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Signs `text` (which must end in a newline) with `signer`.
    public init(signing text: [UInt8], with signer: any NoteSigner) throws(TemoinError) {
        guard text.last == 0x0a, SignedNote.isClean(text) else {
            throw .malformed(.noteBadText, "a note text is UTF-8 without control characters and ends in a newline")
        }
        let key = signer.verifierKey
        self.init(
            text: text, signatures: [Signature(name: key.name, keyID: key.keyID, signature: try signer.sign(text))])
    }

    /// Signs `text` with several keys, one signature line each, in the order given (a log-key
    /// transition: the old key, then the new one).
    public init(signing text: [UInt8], with signers: [any NoteSigner]) throws(TemoinError) {
        precondition(!signers.isEmpty, "a note needs a signer")
        var signatures = [Signature]()
        for signer in signers {
            let one = try SignedNote(signing: text, with: signer)
            signatures += one.signatures
        }
        self.init(text: text, signatures: signatures)
    }

    /// The exact bytes: text, blank line, signature lines.
    public var bytes: [UInt8] {
        var out = text
        out.append(0x0a)
        for s in signatures {
            let id = withUnsafeBytes(of: s.keyID.bigEndian) { Array($0) }
            out.append(contentsOf: Array("— \(s.name) \(Base64.encode(id + s.signature))\n".utf8))
        }
        return out
    }

    /// Parses a note; refuses control characters, invalid UTF-8, malformed or missing signatures.
    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        guard bytes.count <= SignedNote.maximumSize else { throw .malformed(.noteTooLarge, "note is too large") }
        guard SignedNote.isClean(bytes), String(validating: bytes, as: UTF8.self) != nil else {
            throw .malformed(.noteBadCharacters, "a note is UTF-8 without control characters other than newline")
        }
        guard bytes.last == 0x0a else { throw .malformed(.noteNoFinalNewline, "a note ends with a newline") }
        // The text ends at the last blank line.
        var split: Int?
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0a, bytes[i + 1] == 0x0a { split = i; break }
            i -= 1
        }
        guard let split else { throw .malformed(.noteNoSignatures, "a note needs a blank line and signature lines") }
        text = Array(bytes[...split])
        var signatures = [Signature]()
        let block = bytes[(split + 2)...]
        for line in block.split(separator: 0x0a, omittingEmptySubsequences: false).dropLast() {
            let s = String(decoding: line, as: UTF8.self)
            guard s.hasPrefix("— ") else { throw .malformed(.noteBadSignatureLine, "signature lines start with '— '") }
            let rest = s.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard rest.count == 2, VerifierKey.isValidName(String(rest[0])),
                let raw = Base64.decode(rest[1]), raw.count > 4
            else {
                throw .malformed(.noteBadSignatureLine, "a signature line reads '— name base64(keyid ‖ signature)'")
            }
            let id = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: String(rest[0]), keyID: id, signature: Array(raw.dropFirst(4))))
        }
        guard !signatures.isEmpty else { throw .malformed(.noteNoSignatures, "a note needs at least one signature") }
        guard signatures.count <= SignedNote.maximumSignatures else {
            throw .malformed(.noteTooManySignatures, "a note has more than \(SignedNote.maximumSignatures) signatures")
        }
        self.signatures = signatures
        guard self.bytes == bytes else { throw .malformed(.noteNotCanonical, "note bytes are not canonical") }
    }

    /// Verifies the note against one trusted key: signatures from other keys are ignored,
    /// a failing signature from the trusted key rejects the note, and one must verify.
    public func verify(key: VerifierKey, using ed25519: any Ed25519Verifying) throws(TemoinError) {
        var verified = false
        for s in signatures where s.name == key.name && s.keyID == key.keyID {
            guard ed25519.isValid(signature: s.signature, of: text, publicKey: key.publicKey) else {
                throw TemoinError(.noteBadSignature, "the signature by \(key.name) does not verify")
            }
            verified = true
        }
        guard verified else {
            throw TemoinError(.noteUnsigned, "the note has no signature by the trusted key \(key.name)")
        }
    }

    static func isClean(_ bytes: [UInt8]) -> Bool {
        !bytes.contains { $0 < 0x20 && $0 != 0x0a || $0 == 0x7f }
    }
}
