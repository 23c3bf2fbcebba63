import Foundation
import TemoinCore
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `temoin backup` while a phone streams to the running service, then `temoin restore` and a
/// service started on the restored folder.
@Suite(.tags(.process, .slow), .notInFastRuns)
struct BackupProcessTests {
    @Test func aBackupDuringUploadsRestoresAndTheRestoredServiceContinues() async throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let key = t.url.appendingPathComponent("phone.key").path
        #expect(try Tool.run("temoin-device", ["keygen", "--out", key]).status == 0)
        #expect(try Tool.run("temoin", ["enroll", "--data", t.data, "--public-key", key + ".pub"]).status == 0)
        let server = try await startService(t.data, port: freeLoopbackPort())
        let url = try String(contentsOfFile: t.data + "/service.url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let phone = try ChildProcess(
            Tool.buildFolder.appendingPathComponent("temoin-device").path,
            [
                "alert", "--server", url, "--key", key, "--log-key", t.data + "/log-key.txt", "--wav",
                ServiceProcessTests.sample, "--chunk-seconds", "1", "--realtime",
            ])
        try await Task.sleep(for: .seconds(2))
        let backup = t.url.appendingPathComponent("backup").path
        let made = try Tool.run("temoin", ["backup", "--data", t.data, "--out", backup])
        #expect(made.status == 0, "\(made.stderr)")
        let streamed = try await phone.wait(timeout: .seconds(120))
        #expect(streamed.status == 0, "\(streamed.errorText)")
        await server.stop(SIGTERM)
        _ = try await server.wait(timeout: .seconds(30))

        let restored = t.url.appendingPathComponent("restored").path
        let r = try Tool.run(
            "temoin", ["restore", "--backup", backup, "--data", restored, "--master-key", t.data + "/keys/master.key"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Tool.run("temoin", ["audit", "--data", restored]).status == 0)
        // The restored service starts from the backup's checkpoint and takes new appends.
        let again = try await startService(restored, port: freeLoopbackPort())
        #expect(
            try Tool.run("temoin", ["users", "add", "--data", restored, "--role", "legal", "--name", "L"]).status == 0)
        await again.stop(SIGTERM)
        _ = try await again.wait(timeout: .seconds(30))
        #expect(try Tool.run("temoin", ["audit", "--data", restored]).status == 0)
        // Restoring again over it is refused.
        let over = try Tool.run(
            "temoin", ["restore", "--backup", backup, "--data", restored, "--master-key", t.data + "/keys/master.key"])
        // No master key: refused before anything is written.
        let blind = try Tool.run(
            "temoin", ["restore", "--backup", backup, "--data", t.url.appendingPathComponent("b").path])
        #expect(blind.status == 2)
        #expect(over.status == 2 && over.stderr.contains("newer ledger"), "\(over.stderr)")
    }
}
