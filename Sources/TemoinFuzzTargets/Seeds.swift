import TemoinCore
import TemoinCrypto
import TemoinRecording
import TemoinVerify

/// Genuine inputs for every target, made by the project's own code with the fixed keys: the
/// starting corpus (`temoin-fuzz seeds`). Audio seeds are cut from a real recording.
public enum FuzzSeeds {
    /// `(target, file name, bytes)`. `speechWAV` is Samples/speech-fr-en-16k.wav; `opusFile` an
    /// Ogg Opus file made by opusenc (opus-tools) from a short cut of it.
    public static func all(speechWAV: [UInt8], opusFile: [UInt8]) throws -> [(String, String, [UInt8])] {
        var out = [(String, String, [UInt8])]()
        func add(_ target: String, _ name: String, _ bytes: [UInt8]) { out.append((target, name, bytes)) }

        // WAV: 50 ms of speech in every accepted encoding, a stereo file, an extensible header.
        let speech = try WAV.parse(speechWAV)
        let frames = speech.format.sampleRate / 20
        let mono16 = Array(speech.data.prefix(frames * speech.format.blockAlign))
        let samples = (0..<frames).map { i in Int16(bitPattern: UInt16(mono16[2 * i]) | UInt16(mono16[2 * i + 1]) << 8)
        }
        func encoded(_ encoding: PCMFormat.Encoding, channels: Int = 1, _ bytesOf: (Int16) -> [UInt8]) throws -> [UInt8]
        {
            let format = try PCMFormat(encoding: encoding, sampleRate: speech.format.sampleRate, channels: channels)
            return WAV.encode(
                format: format,
                data: samples.flatMap { s in Array((0..<channels).map { _ in bytesOf(s) }.joined()) }[...])
        }
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        add("wav", "s16-mono.wav", try encoded(.signed16) { le(UInt64(UInt16(bitPattern: $0)), 2) })
        add("wav", "s16-stereo.wav", try encoded(.signed16, channels: 2) { le(UInt64(UInt16(bitPattern: $0)), 2) })
        add("wav", "u8.wav", try encoded(.unsigned8) { [UInt8(truncatingIfNeeded: Int($0) / 256 + 128)] })
        add("wav", "s24.wav", try encoded(.signed24) { le(UInt64(UInt32(bitPattern: Int32($0) << 8)), 3) })
        add("wav", "s32.wav", try encoded(.signed32) { le(UInt64(UInt32(bitPattern: Int32($0) << 16)), 4) })
        add("wav", "f32.wav", try encoded(.float32) { le(UInt64(Float(Double($0) / 32768).bitPattern), 4) })
        add("wav", "f64.wav", try encoded(.float64) { le((Double($0) / 32768).bitPattern, 8) })
        // WAVE_FORMAT_EXTENSIBLE (PCM sub-format) with a LIST chunk before the data.
        let pcm = Array(mono16.prefix(400))
        var ext = Array("RIFF".utf8) + le(UInt64(4 + 48 + 12 + 8 + pcm.count), 4) + Array("WAVE".utf8)
        ext += Array("fmt ".utf8) + le(40, 4) + le(0xFFFE, 2) + le(1, 2) + le(UInt64(speech.format.sampleRate), 4)
        ext += le(UInt64(speech.format.sampleRate * 2), 4) + le(2, 2) + le(16, 2) + le(22, 2) + le(16, 2) + le(4, 4)
        ext += le(1, 2) + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        ext += Array("LIST".utf8) + le(4, 4) + Array("INFO".utf8)
        ext += Array("data".utf8) + le(UInt64(pcm.count), 4) + pcm
        add("wav", "extensible-list.wav", ext)

        // Ogg Opus: the whole file (headers and audio), and its later pages alone (a later chunk).
        let pages = OggDemux.pages(opusFile)
        add("ogg-chunk", "with-headers.opus", opusFile)
        if pages.count > 2 { add("ogg-chunk", "later-pages.opus", Array(pages.dropFirst(2).joined())) }
        let packets = try OggDemux.packets(opusFile)
        let audio = Array(packets.dropFirst(2))
        let header = OggOpus.Header(
            inputRate: 16000, preSkip: OpusSettings.preSkip, vendor: "fuzz",
            comments: ["TEMOIN_ALERT=\(Fixtures.alert)"])
        add(
            "ogg-recording", "recording.opus",
            try OggOpus.mux(serial: OggOpus.serial(alert: Fixtures.alert), header: header, packets: audio))
        add("ogg-recording", "packets.stream", OpusPacketStream.encode(audio))

        // HTTP fields: Content-Type, query, captured-at, signature, final, body.
        let signature = Base64.encode(try Fixtures.deviceKey.sign(Array("x".utf8)))
        let body = Array(mono16.prefix(320))
        for (name, type, query) in [
            ("l16", "audio/L16;rate=16000;channels=1", "index=3&size=8"),
            ("l16-stereo", "audio/L16; rate=48000; channels=2", "index=0"),
            ("wav", "audio/wav", "size=1&index=2"), ("ogg", "audio/ogg", "index=9223372036854775807"),
        ] {
            add(
                "http-fields", name,
                Array("\(type)\n\(query)\n2026-11-29T17:00:15.000Z\n\(signature)\ntrue\n".utf8) + body)
        }

        // Device API bodies, each signed by the device key.
        func sign(_ statement: DeviceStatement) throws -> String {
            Base64.encode(try Fixtures.deviceKey.sign(statement.bytes))
        }
        let opened = Timestamp(rfc3339: "2026-11-29T17:00:00.000Z")!
        let openSig = try sign(
            DeviceStatement(kind: .alertOpened, origin: Fixtures.origin, alert: Fixtures.alert, capturedAt: opened))
        let fix = "geo:48.8566,2.3522;u=12"
        let fixSig = try sign(
            DeviceStatement(
                kind: .location, origin: Fixtures.origin, alert: Fixtures.alert, capturedAt: opened,
                sha256: SHA256.hash(Array(fix.utf8))))
        let closeSig = try sign(
            DeviceStatement(
                kind: .alertClosed, origin: Fixtures.origin, alert: Fixtures.alert, seq: 41, capturedAt: opened))
        let location = #"{"capturedAt":"2026-11-29T17:00:00.000Z","fix":"\#(fix)","signature":"\#(fixSig)"}"#
        add(
            "device-request", "open.json",
            [0]
                + Array(
                    #"{"device":"\#(Fixtures.device)","openedAt":"2026-11-29T17:00:00.000Z","signature":"\#(openSig)"}"#
                        .utf8))
        add(
            "device-request", "open-with-fix.json",
            [0]
                + Array(
                    #"{"device":"\#(Fixtures.device)","openedAt":"2026-11-29T17:00:00.000Z","signature":"\#(openSig)","location":\#(location)}"#
                        .utf8))
        add("device-request", "location.json", [1] + Array(location.utf8))
        add(
            "device-request", "close.json",
            [2] + Array(#"{"closedAt":"2026-11-29T17:00:00.000Z","lastSeq":41,"signature":"\#(closeSig)"}"#.utf8))

        // Entries of every kind.
        let hash = String(repeating: "ab", count: 32), sig = Base64.encode([UInt8](repeating: 7, count: 64))
        let time = ("time", "2026-11-29T17:00:20.412Z"), chain = [("alert", Fixtures.alert.rawValue), ("prev", hash)]
        let kinds: [(EntryKind, [(String, String)])] = [
            (
                .genesis,
                [
                    ("origin", Fixtures.origin), ("log-key", Fixtures.logSigner.verifierKey.description),
                    ("export-cert-sha256", hash),
                ]
            ),
            (
                .deviceEnrolled,
                [("device", Fixtures.device.rawValue), ("device-key", Base64.encode(Fixtures.deviceKey.publicKey))]
            ),
            (
                .alertOpened,
                chain + [
                    ("device", Fixtures.device.rawValue), ("opened-at", "2026-11-29T17:00:00.000Z"),
                    ("statement-sig", openSig),
                ]
            ),
            (
                .location,
                chain + [("captured-at", "2026-11-29T17:00:00.000Z"), ("commitment", hash), ("statement-sig", sig)]
            ),
            (
                .alertClosed,
                chain + [
                    ("closed-by", "device"), ("reason", "released"), ("closed-at", "2026-11-29T17:10:00.000Z"),
                    ("last-seq", "41"), ("statement-sig", closeSig),
                ]
            ),
            (.chunkMissing, chain + [("first-seq", "3"), ("last-seq", "5"), ("reason", "closed")]),
            (
                .chunkConflict,
                chain + [
                    ("seq", "3"), ("original-sha256", hash), ("original-size", "160044"), ("kept-entry", "12"),
                    ("statement-sig", sig),
                ]
            ),
            (
                .exportCreated,
                chain + [
                    ("head-index", "40"), ("requester-sha256", hash), ("reference-sha256", hash),
                    ("export-cert-sha256", hash),
                ]
            ),
            (.keyRotated, [("key-role", "export"), ("key", hash)]),
            (
                .dataErased,
                chain + [
                    ("scope", "alert-data"), ("actor", Fixtures.device.rawValue), ("role", "legal"),
                    ("reason", "Ordonnance du 12 décembre"),
                ]
            ),
            (
                .staffAccess,
                [
                    ("actor", Fixtures.device.rawValue), ("role", "legal"), ("action", "list-alerts"),
                    ("target", "GET /v1/staff/alerts?status=open"),
                ]
            ),
            (
                .accountCreated,
                [
                    ("account", Fixtures.device.rawValue), ("role", "police"), ("name-sha256", hash),
                    ("token-sha256", hash),
                ]
            ),
            (.accountRevoked, [("account", Fixtures.device.rawValue)]),
            (.deviceRevoked, [("device", Fixtures.device.rawValue), ("reason", "replaced")]),
            (
                .holdPlaced,
                chain + [("actor", Fixtures.device.rawValue), ("role", "operator"), ("reference", "RG 26/01234")]
            ),
            (
                .holdReleased,
                chain + [("actor", Fixtures.device.rawValue), ("role", "operator"), ("reference", "RG 26/01234")]
            ),
        ]
        for (kind, fields) in kinds {
            add("entry", "\(kind.rawValue).entry", try Entry(kind: kind, fields + [time]).bytes)
        }
        add("entry", "access.entry", Fixtures.entries[0].bytes)

        // Signed notes: checkpoints, a receipt, a note with a second signer, a verifier key.
        add("note", "checkpoint-1", Fixtures.checkpoints[0].bytes)
        add("note", "checkpoint-8", Fixtures.checkpoints[7].bytes)
        let receipt = try SignedReceipt(
            signing: Receipt(
                origin: Fixtures.origin, index: 3, leafHash: Fixtures.leaves[3],
                time: Timestamp(rfc3339: "2026-11-29T17:00:20.412Z")!), with: Fixtures.logSigner)
        add("note", "receipt", receipt.bytes)
        let other = try Ed25519NoteSigner(name: "witness.example", privateKey: Fixtures.deviceKey)
        let cosigned = SignedNote(
            text: Fixtures.checkpoints[4].note.text,
            signatures: Fixtures.checkpoints[4].note.signatures
                + (try SignedNote(signing: Fixtures.checkpoints[4].note.text, with: other)).signatures)
        add("note", "checkpoint-5-cosigned", cosigned.bytes)
        add("note", "verifier-key", Array((Fixtures.logSigner.verifierKey.description + "\n").utf8))
        let withExtension = try SignedCheckpoint(
            signing: Checkpoint(
                origin: Fixtures.origin, size: 8, root: Fixtures.prover.root(size: 8),
                extensions: ["— extension line"]), with: Fixtures.logSigner)
        add("note", "checkpoint-extension", withExtension.bytes)

        // tlog-proofs: first byte is the entry index, then the file.
        for (index, size) in [(0, 1), (3, 8), (6, 7), (7, 8)] {
            let proof = TlogProof(
                index: UInt64(index), path: Fixtures.prover.inclusionProof(index: UInt64(index), size: UInt64(size)),
                checkpoint: Fixtures.checkpoints[size - 1])
            add("tlog-proof", "entry-\(index)-size-\(size)", [UInt8(index)] + proof.bytes)
        }
        let withExtra = TlogProof(
            extra: Array("fuzz".utf8), index: 2, path: Fixtures.prover.inclusionProof(index: 2, size: 5),
            checkpoint: Fixtures.checkpoints[4])
        add("tlog-proof", "entry-2-extra", [2] + withExtra.bytes)

        // The bundle's manifest, its CMS signature (over it, and over it altered), the PEM files.
        add("manifest", "manifest.json", BundleTargets.genuineManifest)
        add(
            "manifest", "manifest-files.json",
            try ExportManifest(
                origin: Fixtures.origin, alert: Fixtures.alert, requester: "Cour d'appel — chambre «\u{00E9}»",
                reference: "n° 26/01234 \\ \"a\"",
                created: "2026-11-29T17:00:20.412Z", exportEntry: 0, checkpointSize: 9_223_372_036_854_775_807,
                files: [
                    "entries/0.entry": String(repeating: "0", count: 64),
                    "recording.opus": String(repeating: "f", count: 64),
                    "proofs/0.tlog-proof": String(repeating: "1", count: 64),
                ]
            ).encoded())
        let p7s = try CMS.sign(
            BundleTargets.genuineManifest, key: Fixtures.exportKey, certificate: Fixtures.exportCertificate,
            signingTime: Fixtures.exportTime)
        add("cms", "genuine.p7s", [0] + p7s)
        add("cms", "altered-content.p7s", [1] + p7s)
        for (name, bytes) in try ArchiveTargets.seeds() { add("zip", name, bytes) }
        add("pem", "export-cert.pem", Fixtures.exportCertificatePEM)
        add("pem", "export-key.pem", Fixtures.exportKeyPEM)
        add("pem", "ed25519-key.pem", try Fixtures.deviceKey.pem)
        add("pem", "ed25519-public.pem", try Fixtures.deviceKey.publicKeyPEM)
        return out
    }
}
