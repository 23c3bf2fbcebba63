/// Fuzz targets for every parser of outside bytes (Docs/fuzzing.md). Each target takes any bytes,
/// feeds them to one parser (or a family of parsers that read the same input), and checks the
/// parser's invariants: canonical formats re-encode to the bytes read, decoded audio stays within
/// the bounds its header declares, a verifier accepts only what was genuinely signed.
///
/// A target never crashes on refused input (a thrown error is the parser doing its job); a broken
/// invariant is reported as `Broken`, which `temoin-fuzz` turns into a crash for libFuzzer and the
/// corpus replay test into a failure.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the target reads and what it checks, in one line.
    public let summary: String
    public let run: @Sendable ([UInt8]) throws(Broken) -> Outcome
}

/// What a target's parser made of an input whose invariants all held.
public enum Outcome: Int, Sendable, Comparable {
    /// Refused (a thrown error, as hostile input should get).
    case refused
    /// Parsed and accepted.
    case accepted
    /// Accepted, and a signature in it verified against the fixed genuine key.
    case verified

    public static func < (a: Outcome, b: Outcome) -> Bool { a.rawValue < b.rawValue }
}

/// A broken invariant: the parser accepted something it must not, or gave inconsistent values.
public struct Broken: Error, CustomStringConvertible {
    public let invariant: String
    public var description: String { "invariant broken: \(invariant)" }
}

/// Fails the current input when `condition` is false.
@inline(__always)
func check(_ condition: Bool, _ invariant: @autoclosure () -> String) throws(Broken) {
    if !condition { throw Broken(invariant: invariant()) }
}

public enum FuzzTargets {
    /// Every target, in the order the campaign runs them (outside bytes an anonymous client or a
    /// phone sends first, then what the verifier reads from a bundle).
    public static let all: [FuzzTarget] = [
        FuzzTarget(
            name: "ogg-chunk",
            summary: "Ogg Opus chunk from a phone: TOC duration within the cap, decoded samples = TOC count − pre-skip",
            run: AudioTargets.oggChunk),
        FuzzTarget(
            name: "wav",
            summary:
                "WAV chunk: samples within the declared data chunk, whole frames, canonical re-encoding reads back "
                + "the same audio",
            run: AudioTargets.wav),
        FuzzTarget(
            name: "http-fields",
            summary:
                "Content-Type (L16 rate/channels) with its raw PCM body, query string, Temoin-* headers: bounded "
                + "values, canonical spellings",
            run: ServiceTargets.httpFields),
        FuzzTarget(
            name: "device-request",
            summary:
                "JSON bodies of open/location/close: statements as signed, drafts that always make valid entries, "
                + "no forged signature accepted",
            run: ServiceTargets.deviceRequest),
        FuzzTarget(
            name: "entry",
            summary:
                "ledger entry: parse → encode gives the same bytes, every value valid for its type, statements "
                + "rebuilt from it",
            run: LogTargets.entry),
        FuzzTarget(
            name: "note",
            summary:
                "signed note, checkpoint, receipt, verifier key: canonical round trip, only the genuine signature "
                + "verifies",
            run: LogTargets.note),
        FuzzTarget(
            name: "tlog-proof",
            summary:
                "tlog-proof file: canonical round trip, accepted only for the genuine entry, index, path and signed "
                + "checkpoint",
            run: LogTargets.tlogProof),
        FuzzTarget(
            name: "manifest",
            summary: "manifest.json: the canonical encoding is a fixed point, a canonical manifest has each key once",
            run: BundleTargets.manifest),
        FuzzTarget(
            name: "cms", summary: "manifest.json.p7s: CMS never verifies over content other than the genuine manifest",
            run: BundleTargets.cms),
        FuzzTarget(
            name: "pem",
            summary: "PEM certificate, Ed25519 public/private key, P-256 key: what is read writes back to the same key",
            run: BundleTargets.pem),
        FuzzTarget(
            name: "zip",
            summary:
                "a bundle's zip: what is accepted is one folder of unique safe names inside the archive, reads back "
                + "its size and CRC twice, and survives a rewrite",
            run: ArchiveTargets.zip),
        FuzzTarget(
            name: "ogg-recording",
            summary: "recording.opus and stored packet streams: the two Ogg demuxers agree, packet stream round trip",
            run: AudioTargets.oggRecording),
    ]

    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}
