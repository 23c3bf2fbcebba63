import Foundation
import TemoinCore
import TemoinTestSupport
import Testing

/// `temoin migrate`, `temoin hold`, `temoin release`, `temoin erase` as an operator runs them:
/// directly, and through a running service.
@Suite(.tags(.process))
struct ErasureCommandTests {
    static let sample = ServiceProcessTests.sample

    /// Init, ingest (the alert is closed at the end), then the hold/erase dance; returns the alert.
    static func ingested(_ t: TempFolder) throws -> String {
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let ingest = try Tool.run("temoin", ["ingest", "--data", t.data, "--chunk-seconds", "4", sample])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return String(ingest.text.split(separator: "\n").last ?? "")
    }

    static func holdEraseRelease(_ t: TempFolder, _ alert: String) throws {
        let data = ["--data", t.data, "--alert", alert]
        let hold = try Tool.run("temoin", ["hold"] + data + ["--reference", "RG 26/01234"])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.text.contains("RG 26/01234"))
        let refused = try Tool.run("temoin", ["erase"] + data + ["--reason", "Demande de la victime"])
        #expect(refused.status == 2 && refused.stderr.contains("alert.on-hold"), "\(refused.stderr)")
        let wrong = try Tool.run("temoin", ["release"] + data + ["--reference", "RG 99"])
        #expect(wrong.status == 2 && wrong.stderr.contains("hold.not-placed"), "\(wrong.stderr)")
        #expect(try Tool.run("temoin", ["release"] + data + ["--reference", "RG 26/01234"]).status == 0)
        let erased = try Tool.run("temoin", ["erase"] + data + ["--reason", "Demande de la victime"])
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(erased.text.contains("data erased"))
        let again = try Tool.run("temoin", ["erase"] + data + ["--reason", "Demande de la victime"])
        #expect(again.status == 0 && again.text.contains("already erased"), "\(again.stderr)")
        let out = t.url.appendingPathComponent("after.opus").path
        let recording = try Tool.run("temoin", ["recording", "--data", t.data, "--alert", alert, "--out", out])
        #expect(recording.status == 2 && recording.stderr.contains("alert.erased"), "\(recording.stderr)")
    }

    @Test(.tags(.slow), .notInFastRuns) func migrateHoldReleaseAndEraseFromTheShell() throws {
        let t = TempFolder()
        let alert = try Self.ingested(t)
        let migrated = try Tool.run("temoin", ["migrate", "--data", t.data])
        #expect(migrated.status == 0 && migrated.text.contains("already sealed"), "\(migrated.stderr)")
        try Self.holdEraseRelease(t, alert)
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
        #expect(audit.text.contains("ERASED  alerte/alert \(alert)") && !audit.text.contains("to finish"))
        let bad = try Tool.run("temoin", ["erase", "--data", t.data, "--alert", "nope", "--reason", "x"])
        #expect(bad.status == 2 && bad.stderr.contains("alert.bad-id"))
        let unknown = try Tool.run(
            "temoin", ["hold", "--data", t.data, "--alert", String(repeating: "ab", count: 16), "--reference", "x"])
        #expect(unknown.status == 2 && unknown.stderr.contains("alert.unknown"), "\(unknown.stderr)")
    }

    @Test(.tags(.slow), .notInFastRuns) func holdReleaseAndEraseGoThroughTheRunningService() async throws {
        let t = TempFolder()
        let alert = try Self.ingested(t)
        let server = try await startService(t.data, port: freeLoopbackPort())
        try Self.holdEraseRelease(t, alert)
        #expect(try Tool.run("temoin", ["audit", "--data", t.data]).status == 0)
        await server.stop(SIGTERM)
        let entries = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(entries.text.contains("ERASED"))
    }
}
