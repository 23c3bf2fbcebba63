import Foundation
import TemoinCore
import TemoinTestSupport
import Testing

/// The commands of Docs/verifying.md, run on a fresh export made by the temoin executable.
@Suite(.tags(.process, .slow), .notInFastRuns)
struct VerificationGuideTests {
    @Test func theByHandCommandsOfTheGuideWorkOnAFreshExport() throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        let initialized = try Tool.run("temoin", ["init", "--data", t.data])
        let logKey = String(initialized.text.split(separator: "\n").last!)
        let alert = String(
            try Tool.run("temoin", ["ingest", "--data", t.data, "--chunk-seconds", "5", ServiceProcessTests.sample])
                .text
                .split(separator: "\n").last!)
        let bundle = t.url.appendingPathComponent("bundle").path
        let exported = try Tool.run(
            "temoin",
            [
                "export", "--data", t.data, "--alert", alert, "--out", bundle,
                "--requester", "OPJ, brigade de protection des familles", "--reference", "PV 2026/123",
            ])
        #expect(exported.status == 0, "\(exported.stderr)")

        let guide = try String(
            contentsOf: DocumentationPaths.repository.appendingPathComponent("Docs/verifying.md"), encoding: .utf8)
        let commands = guide.split(separator: "\n").filter { $0.hasPrefix("openssl ") || $0.hasPrefix("python3 ") }.map(
            String.init)
        #expect(commands.count == 3)
        for command in commands {
            // Standard error joins standard output, as in a terminal.
            let r = try runProcess("/bin/bash", ["-c", "exec 2>&1; set -o pipefail; " + command], directory: bundle)
            let text = r.text
            #expect(r.status == 0, "\(command): \(text)")
            if command.contains("x509") {
                let hash = String(text.prefix(64))
                let genesis = try String(contentsOfFile: bundle + "/entries/0.entry", encoding: .utf8)
                #expect(genesis.contains("export-cert-sha256 \(hash)"))
            }
        }
        // The verifier, and tools that are not ours reading the recording.
        let verified = try Tool.run("temoin-verify", [bundle, "--log-key", logKey])
        #expect(verified.status == 0, "\(verified.text)")
        let json = try Tool.run("temoin-verify", [bundle, "--log-key", logKey, "--json"])
        #expect(json.text.contains("\"passed\" : true"))
        let probe = try system(
            "ffprobe",
            ["-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", bundle + "/recording.opus"])
        #expect(abs((Double(probe.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - 19.41) < 0.05)
        #expect(try system("opusinfo", [bundle + "/recording.opus"]).contains("Playback length: 0m:19.4"))
        // A lone entry and its proof.
        #expect(
            try Tool.run(
                "temoin-verify",
                [
                    "--entry", bundle + "/entries/2.entry", "--proof", bundle + "/entries/2.entry.tlog-proof",
                    "--log-key", logKey,
                ]
            ).status == 0)
        #expect(
            try Tool.run(
                "temoin-verify",
                [
                    "--entry", bundle + "/entries/3.entry", "--proof", bundle + "/entries/2.entry.tlog-proof",
                    "--log-key", logKey,
                ]
            ).status == 1)
        #expect(
            try Tool.run("temoin-verify", ["--entry", bundle + "/entries/2.entry", "--log-key", logKey]).status == 2)
        // Usage errors and a wrong key.
        #expect(try Tool.run("temoin-verify", ["/nonexistent", "--log-key", logKey]).status == 2)
        #expect(try Tool.run("temoin-verify", [bundle, "--log-key", "not a key"]).status == 2)
        let other = try Tool.run("temoin", ["init", "--data", t.url.appendingPathComponent("other").path])
        #expect(
            try Tool.run("temoin-verify", [bundle, "--log-key", String(other.text.split(separator: "\n").last!)]).status
                == 1)
    }
}

enum DocumentationPaths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
