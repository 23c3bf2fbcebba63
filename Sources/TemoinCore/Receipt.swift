/// The answer to an upload: the log's signed promise that an entry is durably at an index.
///
/// A C2SP signed note, signed by the log key, whose text is
///
/// ```
/// temoin/receipt/v1
/// <origin>
/// <index>
/// <leaf hash, base64>
/// <time, RFC 3339 UTC with milliseconds>
/// ```
///
/// Its second line is never a decimal, so a receipt can never be taken for a checkpoint (whose
/// second line is the tree size), and a checkpoint never for a receipt (first line differs).
public struct Receipt: Sendable, Hashable {
    public static let contextLine = "temoin/receipt/v1"

    public let origin: String
    public let index: UInt64
    public let leafHash: Hash
    public let time: Timestamp

    public init(origin: String, index: UInt64, leafHash: Hash, time: Timestamp) {
        self.origin = origin
        self.index = index
        self.leafHash = leafHash
        self.time = time
    }

    public var text: [UInt8] {
        Array("\(Receipt.contextLine)\n\(origin)\n\(index)\n\(leafHash.base64)\n\(time)\n".utf8)
    }

    public init(parsing text: [UInt8]) throws(TemoinError) {
        guard text.last == 0x0a else { throw .malformed(.receiptNoFinalNewline, "a receipt ends with a newline") }
        let lines = text.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard lines.count == 5, lines[0] == Receipt.contextLine else {
            throw .malformed(.receiptBadFormat, "a receipt has five lines and starts with '\(Receipt.contextLine)'")
        }
        guard StrictDecimal.parse(lines[1]) == nil, !lines[1].isEmpty else {
            throw .malformed(.receiptBadOrigin, "a receipt's origin cannot be a number")
        }
        guard let index = StrictDecimal.parse(lines[2]), let leaf = Hash(base64: lines[3]),
            let time = Timestamp(rfc3339: lines[4])
        else {
            throw .malformed(.receiptBadFormat, "a receipt's index, leaf hash or time is malformed")
        }
        self.init(origin: lines[1], index: index, leafHash: leaf, time: time)
        guard self.text == text else { throw .malformed(.receiptNotCanonical, "receipt text is not canonical") }
    }
}

/// A receipt with the log's signature, kept byte for byte.
public struct SignedReceipt: Sendable, Hashable {
    public let receipt: Receipt
    public let note: SignedNote

    public init(signing receipt: Receipt, with signer: any NoteSigner) throws(TemoinError) {
        self.receipt = receipt
        note = try SignedNote(signing: receipt.text, with: signer)
    }

    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        note = try SignedNote(parsing: bytes)
        receipt = try Receipt(parsing: note.text)
    }

    public var bytes: [UInt8] { note.bytes }

    /// Checks the log's signature, and that the receipt names this log.
    public func verify(key: VerifierKey, using ed25519: any Ed25519Verifying) throws(TemoinError) {
        guard receipt.origin == key.name else {
            throw TemoinError(.receiptWrongOrigin, "the receipt names another log")
        }
        try note.verify(key: key, using: ed25519)
    }
}
