/// What a device signs with its Ed25519 key: a short canonical text that can never be mistaken
/// for a checkpoint, a receipt or an entry (its own first line). See Docs/ledger-format.md §5.
///
/// ```
/// temoin/device-statement/v1
/// kind audio.chunk
/// origin example.org/temoin
/// alert 7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e
/// seq 3
/// captured-at 2026-11-29T17:00:15.000Z
/// sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
/// ```
///
/// `seq` is present for `audio.chunk` and `alert.closed` (the last sequence number sent);
/// `sha256` for `audio.chunk` (the original bytes) and `location` (the fix's canonical text).
public struct DeviceStatement: Sendable, Hashable {
    public static let contextLine = "temoin/device-statement/v1"
    /// The largest sequence number a device may use (a bound on everything derived from it:
    /// gaps, missing ranges, the recording's length).
    public static let maximumSequence: UInt64 = 999_999

    public let kind: EntryKind
    public let origin: String
    public let alert: AlertID
    public let seq: UInt64?
    public let capturedAt: Timestamp
    public let sha256: Hash?

    public init(
        kind: EntryKind, origin: String, alert: AlertID, seq: UInt64? = nil, capturedAt: Timestamp, sha256: Hash? = nil
    ) throws(TemoinError) {
        guard [.alertOpened, .audioChunk, .location, .alertClosed].contains(kind) else {
            throw .malformed(.statementBadKind, "devices make no \(kind.rawValue) statement")
        }
        guard (seq != nil) == (kind == .audioChunk || kind == .alertClosed) else {
            throw .malformed(
                .statementSeq,
                "a \(kind.rawValue) statement \(kind == .audioChunk || kind == .alertClosed ? "needs" : "has no") seq")
        }
        guard (sha256 != nil) == (kind == .audioChunk || kind == .location) else {
            throw .malformed(
                .statementSha256,
                "a \(kind.rawValue) statement \(kind == .audioChunk || kind == .location ? "needs" : "has no") sha256")
        }
        if let seq, seq > DeviceStatement.maximumSequence {
            throw .malformed(.statementSeq, "sequence numbers go from 0 to \(DeviceStatement.maximumSequence)")
        }
        self.kind = kind
        self.origin = origin
        self.alert = alert
        self.seq = seq
        self.capturedAt = capturedAt
        self.sha256 = sha256
    }

    /// The exact bytes signed.
    public var bytes: [UInt8] {
        var s = DeviceStatement.contextLine + "\nkind \(kind.rawValue)\norigin \(origin)\nalert \(alert)\n"
        if let seq { s += "seq \(seq)\n" }
        s += "captured-at \(capturedAt)\n"
        if let sha256 { s += "sha256 \(sha256.hex)\n" }
        return Array(s.utf8)
    }

    /// The statement an entry's `statement-sig` signs, rebuilt from the entry and the log's origin.
    public init(entry: Entry, origin: String) throws(TemoinError) {
        guard let alert = entry.alert else {
            throw .malformed(.statementBadKind, "\(entry.kind.rawValue) has no device statement")
        }
        switch entry.kind {
        case .alertOpened:
            try self.init(kind: .alertOpened, origin: origin, alert: alert, capturedAt: entry.time("opened-at")!)
        case .audioChunk:
            try self.init(
                kind: .audioChunk, origin: origin, alert: alert, seq: entry.uint("seq"),
                capturedAt: entry.time("capture-start")!, sha256: entry.hash("original-sha256"))
        case .alertClosed:
            try self.init(
                kind: .alertClosed, origin: origin, alert: alert, seq: entry.uint("last-seq"),
                capturedAt: entry.time("closed-at")!)
        default:
            throw .malformed(
                .statementBadKind, "\(entry.kind.rawValue) entries carry no statement that can be rebuilt from them")
        }
    }
}
