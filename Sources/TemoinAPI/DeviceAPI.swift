// The HTTP API's request and response bodies (Docs/api.md, Docs/openapi.yaml), shared by the
// server and the device client so that both read one definition. Standard library only.

/// `PUT /v1/alerts/{alert}`: the phone opens an alert.
public struct OpenAlertRequest: Codable, Sendable, Equatable {
    /// The enrolled device's id (32 lowercase hex digits).
    public let device: String
    /// When the alert began on the phone (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    public let openedAt: String
    /// Base64 Ed25519 signature over the `alert.opened` device statement.
    public let signature: String
    /// An optional first location fix, with its own signed statement.
    public let location: LocationRequest?

    public init(device: String, openedAt: String, signature: String, location: LocationRequest?) {
        self.device = device
        self.openedAt = openedAt
        self.signature = signature
        self.location = location
    }
}

/// `POST /v1/alerts/{alert}/locations`: a location fix; `fix` is an RFC 5870 geo URI.
public struct LocationRequest: Codable, Sendable, Equatable {
    public let capturedAt: String
    public let fix: String
    public let signature: String

    public init(capturedAt: String, fix: String, signature: String) {
        self.capturedAt = capturedAt
        self.fix = fix
        self.signature = signature
    }
}

/// `POST /v1/alerts/{alert}/close`: the end of an alert.
public struct CloseAlertRequest: Codable, Sendable, Equatable {
    public let closedAt: String
    /// The last chunk's sequence number (0 to 999 999).
    public let lastSeq: UInt64
    public let signature: String

    public init(closedAt: String, lastSeq: UInt64, signature: String) {
        self.closedAt = closedAt
        self.lastSeq = lastSeq
        self.signature = signature
    }
}

/// The answer to every accepted device request.
public struct ReceiptResponse: Codable, Sendable, Equatable {
    /// `appended`, `duplicate` (already stored: same receipt) or `conflict` (quarantined, recorded).
    public let status: String
    public let index: UInt64
    /// Base64 of the entry's 32-byte leaf hash.
    public let leafHash: String
    /// The signed receipt (temoin/receipt/v1), byte for byte.
    public let receipt: String
    /// A signed checkpoint that covers the entry.
    public let checkpoint: String
    /// For a conflict: the entry of the chunk that was kept.
    public let keptIndex: UInt64?

    public init(
        status: String, index: UInt64, leafHash: String, receipt: String, checkpoint: String, keptIndex: UInt64?
    ) {
        self.status = status
        self.index = index
        self.leafHash = leafHash
        self.receipt = receipt
        self.checkpoint = checkpoint
        self.keptIndex = keptIndex
    }
}

/// `GET /v1/proofs/log-keys`: every change of the log key, in log order (Docs/ledger-format.md §3).
public struct LogKeyTransitionsResponse: Codable, Sendable, Equatable {
    public struct Transition: Codable, Sendable, Equatable {
        /// The index of the `key.rotated` entry.
        public let index: UInt64
        /// Base64 of the entry's exact bytes (`key-role log`, `key`, `time`: no evidence in it).
        public let entry: String
        /// Its C2SP tlog-proof against the first checkpoint covering it, signed by the old and new keys.
        public let proof: String

        public init(index: UInt64, entry: String, proof: String) {
            self.index = index
            self.entry = entry
            self.proof = proof
        }
    }

    public let transitions: [Transition]

    public init(transitions: [Transition]) {
        self.transitions = transitions
    }
}

/// `POST /v1/admin/devices`: enroll a phone's key.
public struct EnrollRequest: Codable, Sendable, Equatable {
    /// Base64 of the raw 32-byte Ed25519 public key.
    public let publicKey: String
    public let label: String?

    public init(publicKey: String, label: String?) {
        self.publicKey = publicKey
        self.label = label
    }
}

/// The answer to an enrollment.
public struct EnrolledResponse: Codable, Sendable, Equatable {
    public let device: String
    public let index: UInt64

    public init(device: String, index: UInt64) {
        self.device = device
        self.index = index
    }
}

/// An RFC 9457 problem document, as every refused request is answered.
public struct ProblemDocument: Codable, Sendable, Equatable {
    public let type: String
    public let title: String
    public let status: Int
    public let detail: String
    /// Témoin's stable error code (`Docs/api.md`).
    public let code: String

    public init(type: String, title: String, status: Int, detail: String, code: String) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }
}

/// The headers of a chunk upload.
public enum ChunkHeader {
    public static let capturedAt = "Temoin-Captured-At"
    public static let signature = "Temoin-Signature"
    public static let final = "Temoin-Final"
}
