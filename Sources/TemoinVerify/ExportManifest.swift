import Foundation
public import TemoinCore

/// manifest.json of an export bundle (Docs/export.md): written by `temoin export`, read by
/// `temoin-verify`. One type for both, so the two cannot drift apart.
public struct ExportManifest: Codable, Sendable {
    public let format: String
    public let origin: String
    /// Decoding refuses anything but an alert id (32 lowercase hex digits).
    public let alert: AlertID
    public let requester: String
    public let reference: String
    public let created: String
    public let exportEntry: UInt64
    public let checkpointSize: UInt64
    public let files: [String: String]

    /// The format `temoin export` writes when the log key never changed. v2 differs from v1 only
    /// by README.txt's text (it says where the verifier comes from); a verifier reads all three
    /// (Docs/export.md).
    public static let currentFormat = "temoin-export/v2"
    public static let formatV1 = "temoin-export/v1"
    /// Written when the log key was rotated before the export: v2 plus `key-transitions/`, the
    /// proofs that lead from the genesis key to the key that signs `checkpoint` (which
    /// `log-key.txt` then holds).
    public static let formatV3 = "temoin-export/v3"
    public static let readableFormats: Set<String> = [formatV1, currentFormat, formatV3]

    public init(
        origin: String, alert: AlertID, requester: String, reference: String, created: String,
        exportEntry: UInt64, checkpointSize: UInt64, files: [String: String], format: String = currentFormat
    ) {
        self.format = format
        self.origin = origin
        self.alert = alert
        self.requester = requester
        self.reference = reference
        self.created = created
        self.exportEntry = exportEntry
        self.checkpointSize = checkpointSize
        self.files = files
    }

    /// Canonical bytes: sorted keys, no escaped slashes, two-space indentation, final newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return Array(try encoder.encode(self)) + [0x0a]
    }
}
