import Foundation
import TemoinCore
import TemoinTestSupport
import Testing

/// Runs a tool from the system (not ours) and returns its output; fails the test if it fails.
func system(_ tool: String, _ arguments: [String]) throws -> String {
    let r = try runProcess(tool, arguments)
    guard r.status == 0 else {
        throw TestFailure("\(tool) \(arguments) failed: \(r.errorText)")
    }
    return r.text + r.errorText
}

/// Real speech from espeak-ng, converted by sox, through `temoin ingest` and `temoin recording`,
/// checked with opusinfo, ffprobe and opusdec.
@Suite(.tags(.process))
struct SpeechRoundTripTests {
    static let sentences = [
        (
            "fr",
            "Il est entré dans l'appartement à vingt-deux heures. Il a cassé la porte de la chambre. Appelez la "
                + "police, s'il vous plaît."
        ),
        ("en", "He came into the flat at ten in the evening. He broke the bedroom door. Please call the police now."),
    ]

    static let cases: [(String, Int, Int)] = [
        ("fr", 16000, 1), ("en", 16000, 2), ("fr", 44100, 1), ("en", 44100, 2), ("fr", 48000, 2), ("en", 48000, 1),
    ]

    /// Per-20 ms RMS envelope: comparable across a lossy codec, sensitive to time shifts.
    static func envelope(_ samples: [Float], rate: Int) -> [Float] {
        let n = rate / 50
        return stride(from: 0, to: samples.count - n + 1, by: n).map { i in
            (samples[i..<i + n].reduce(0) { $0 + $1 * $1 } / Float(n)).squareRoot()
        }
    }

    static func correlation(_ a: [Float], _ b: [Float]) -> Float {
        let n = min(a.count, b.count)
        let x = a.prefix(n), y = b.prefix(n)
        let mx = x.reduce(0, +) / Float(n), my = y.reduce(0, +) / Float(n)
        var sxy: Float = 0, sxx: Float = 0, syy: Float = 0
        for (p, q) in zip(x, y) {
            sxy += (p - mx) * (q - my)
            sxx += (p - mx) * (p - mx)
            syy += (q - my) * (q - my)
        }
        return sxy / (sxx * syy).squareRoot()
    }

    @Test(.tags(.slow), .notInFastRuns, arguments: cases)
    func speechComesBackAsAStandardOggOpusFileOfTheSameLength(_ language: String, _ rate: Int, _ channels: Int) throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        let text = Self.sentences.first { $0.0 == language }!.1
        let spoken = t.url.appendingPathComponent("spoken.wav").path
        let input = t.url.appendingPathComponent("input.wav").path
        _ = try system("espeak-ng", ["-v", language, "-s", "150", "-w", spoken, text])
        _ = try system("sox", [spoken, "-r", String(rate), "-c", String(channels), "-b", "16", input])

        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let ingest = try Tool.run("temoin", ["ingest", "--data", t.data, "--chunk-seconds", "2", input])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let alert = String(ingest.text.split(separator: "\n").last ?? "")
        #expect(EntryFieldType.id128.accepts(alert), "the last line is the alert id: \(ingest.text)")

        let opus = t.url.appendingPathComponent("recording.opus").path
        let recorded = try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", opus])
        #expect(recorded.status == 0, "\(recorded.stderr)")

        // Tools that are not ours accept it.
        let info = try system("opusinfo", [opus])
        #expect(info.contains("Original sample rate: \(rate) Hz"))
        let probe = try system(
            "ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,channels", "-of", "default=nw=1", opus])
        #expect(probe.contains("codec_name=opus"))
        #expect(probe.contains("channels=1"))

        // Same length as the input, to the sample (opusdec decodes at the original rate).
        let decodedPath = t.url.appendingPathComponent("decoded.wav").path
        _ = try system("opusdec", ["--quiet", opus, decodedPath])
        let original = try WAV.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: input))))
        let decoded = try WAV.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: decodedPath))))
        #expect(decoded.format.sampleRate == rate)
        if rate == 44100 {
            // opusdec resamples 48 kHz to 44.1 kHz itself: allow its rounding.
            #expect(
                abs(decoded.frameCount - original.frameCount) <= 2, "\(decoded.frameCount) vs \(original.frameCount)")
        } else {
            #expect(decoded.frameCount == original.frameCount)
        }

        // Close to the input: the speech envelope matches, with no time shift.
        let a = Self.envelope(original.monoSamples(), rate: rate)
        let b = Self.envelope(decoded.monoSamples(), rate: rate)
        let c = Self.correlation(a, b)
        #expect(c > 0.95, "envelope correlation \(c)")
        #expect(Self.correlation(a, Array(b.dropFirst(2))) < c, "decoded audio is not shifted")

        // The recording is deterministic and the ledger audits clean.
        let again = t.url.appendingPathComponent("again.opus").path
        #expect(try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", again]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: opus)) == Data(contentsOf: URL(fileURLWithPath: again)))
        #expect(try Tool.run("temoin", ["audit", "--data", t.data]).status == 0)
    }

    @Test func hostileAudioIsRefusedWith2AndTheLedgerIsUntouched() throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let before = try Tool.run("temoin", ["log", "checkpoint", "--data", t.data]).stdout
        let bad = t.url.appendingPathComponent("bad.wav").path
        for bytes in [
            Array("RIFF\u{4}\0\0\0WAVE".utf8), Array("not audio at all".utf8), [UInt8](repeating: 0, count: 100),
        ] {
            try Data(bytes).write(to: URL(fileURLWithPath: bad))
            let r = try Tool.run("temoin", ["ingest", "--data", t.data, bad])
            #expect(r.status == 2)
            #expect(!r.stderr.isEmpty)
        }
        #expect(try Tool.run("temoin", ["ingest", "--data", t.data, "/nonexistent.wav"]).status == 2)
        #expect(try Tool.run("temoin", ["ingest", "--data", t.data, "--chunk-seconds", "0.03", bad]).status == 2)
        #expect(try Tool.run("temoin", ["log", "checkpoint", "--data", t.data]).stdout == before)
        #expect(
            try Tool.run(
                "temoin", ["recording", "--data", t.data, "--alert", "00000000000000000000000000000000", "--out", bad]
            ).status == 2)
        #expect(try Tool.run("temoin", ["recording", "--data", t.data, "--alert", "nothex", "--out", bad]).status == 2)
    }
}

/// A failure of the test's own set-up (a tool, a process), not of Témoin.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
