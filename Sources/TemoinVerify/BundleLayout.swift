public import TemoinCore

/// Where each file of a bundle lives (Docs/export.md): one rule for the exporter that writes the
/// names and the verifier that derives the exact expected file set from the verified entries.
public enum BundleLayout {
    /// The files every bundle has, besides entries, proofs and originals.
    public static let fixedFiles = [
        "README.txt", "checkpoint", "custody-report.html", "export-cert.pem", "log-key.txt",
        "manifest.json", "manifest.json.p7s", "recording.opus",
    ]
    /// The only folders (`key-transitions` only in `temoin-export/v3`).
    public static let folders = ["entries", "originals", "key-transitions"]

    public static func entry(_ index: UInt64) -> String { "entries/\(index).entry" }
    public static func proof(_ index: UInt64) -> String { "entries/\(index).entry.tlog-proof" }
    /// A log-key transition (v3): the rotation entry `index`'s tlog-proof against the checkpoint
    /// both keys signed, and the consistency proof from that checkpoint to the bundle's.
    public static func transitionProof(_ index: UInt64) -> String { "key-transitions/\(index).tlog-proof" }
    public static func transitionConsistency(_ index: UInt64) -> String { "key-transitions/\(index).consistency" }

    /// `wav` for WAV, `opus` for Ogg Opus, `raw` for anything else (`l16`, `s16le`).
    public static func fileExtension(format: String) -> String {
        switch format {
        case "wav": return "wav"
        case "ogg-opus": return "opus"
        default: return "raw"
        }
    }

    /// An `audio.chunk`'s original: `originals/<seq>.<ext of its original-format>`.
    public static func original(_ chunk: Entry) -> String? {
        guard chunk.kind == .audioChunk, let seq = chunk.uint("seq"), let format = chunk["original-format"] else {
            return nil
        }
        return "originals/\(seq).\(fileExtension(format: format))"
    }

    /// A `chunk.conflict`'s quarantined bytes: `originals/<seq>-conflict-<16 hex>.<wav|raw>`, the
    /// extension from the bytes themselves (a `chunk.conflict` records no format): `wav` when
    /// they start with `RIFF`.
    public static func conflict(_ entry: Entry, looksLikeWAV: Bool) -> String? {
        guard entry.kind == .chunkConflict, let seq = entry.uint("seq"), let hash = entry["original-sha256"] else {
            return nil
        }
        return "originals/\(seq)-conflict-\(hash.prefix(16)).\(looksLikeWAV ? "wav" : "raw")"
    }

    public static func looksLikeWAV(_ bytes: some Collection<UInt8>) -> Bool { bytes.starts(with: Array("RIFF".utf8)) }
}
