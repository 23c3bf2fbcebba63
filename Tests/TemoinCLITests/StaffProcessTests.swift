import Foundation
import TemoinCore
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Staff accounts as an operator and staff use them: `temoin users` with and without a running
/// service, secrets that stay secret, and a service that will not start with exposed keys.
@Suite(.tags(.process, .slow), .notInFastRuns)
struct StaffProcessTests {
    func curl(_ arguments: [String]) throws -> (status: Int32, out: String) {
        let r = try runProcess("/usr/bin/curl", ["-s"] + arguments)
        return (r.status, String(decoding: r.stdout, as: UTF8.self))
    }

    @Test func usersWorkWithAndWithoutTheServiceAndTokensNeverReachLogsOrMetrics() async throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        // Service stopped: straight into the ledger.
        let offline = try Tool.run(
            "temoin", ["users", "add", "--data", t.data, "--role", "legal", "--name", "Me Offline"])
        #expect(offline.status == 0, "\(offline.stderr)")
        let offlineToken = try #require(String(decoding: offline.stdout, as: UTF8.self).split(separator: "\n").last)
        #expect(offlineToken.hasPrefix("tmn_"))
        let badRole = try Tool.run("temoin", ["users", "add", "--data", t.data, "--role", "root", "--name", "X"])
        #expect(badRole.status == 2)

        // Service running, logging everything: through its admin API.
        let port = freeLoopbackPort()
        try? FileManager.default.removeItem(atPath: t.data + "/service.url")
        let server = try Tool.start(
            "temoin", ["serve", "--data", t.data, "--port", String(port), "--log-level", "trace"])
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: t.data + "/service.url") {
            try await Task.sleep(for: .milliseconds(20))
        }
        let online = try Tool.run("temoin", ["users", "add", "--data", t.data, "--role", "police", "--name", "OPJ"])
        #expect(online.status == 0, "\(online.stderr)")
        let token = try #require(String(decoding: online.stdout, as: UTF8.self).split(separator: "\n").last)
        let base = "http://127.0.0.1:\(port)"
        #expect(try curl(["-H", "Authorization: Bearer \(token)", base + "/v1/staff/me"]).out.contains("\"police\""))
        #expect(
            try curl(["-H", "Authorization: Bearer \(offlineToken)", base + "/v1/staff/alerts"]).out.contains("alerts"))
        _ = try curl(["-H", "Authorization: Bearer tmn_wrong-guess-\(token.suffix(8))", base + "/v1/staff/me"])
        let list = try Tool.run("temoin", ["users", "list", "--data", t.data])
        let listed = String(decoding: list.stdout, as: UTF8.self)
        #expect(listed.contains("OPJ") && listed.contains("Me Offline") && !listed.contains("tmn_"))
        #expect(try Tool.run("temoin", ["users", "revoke", "--data", t.data, "--name", "OPJ"]).status == 0)
        #expect(
            try curl(["-H", "Authorization: Bearer \(token)", base + "/v1/staff/me"]).out.contains("staff.unauthorized")
        )
        let metrics = try curl([base + "/metrics"]).out
        #expect(metrics.contains("temoin_staff_auth_failures_total"))
        await server.stop(SIGTERM)
        let finished = try await server.wait(timeout: .seconds(30))
        let log = finished.errorText + String(decoding: finished.stdout, as: UTF8.self)
        #expect(log.contains("staff authentication failed"), "failures are recorded in the log")
        for secret in [String(token), String(offlineToken), String(token.dropFirst(4).prefix(20))] {
            #expect(!log.contains(secret), "a token reached the log")
            #expect(!metrics.contains(secret), "a token reached the metrics")
        }
        // Nothing in the data folder holds a token either (only its SHA-256).
        let enumerator = FileManager.default.enumerator(atPath: t.data)!
        while let name = enumerator.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: t.data + "/" + name) else { continue }
            #expect(data.range(of: Data(token.utf8)) == nil, "\(name) holds a token")
        }
    }

    @Test func theServiceRefusesToStartWithKeysOrTokensOthersCanRead() throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        _ = try Tool.run("temoin", ["users", "list", "--data", t.data])
        for file in ["keys/log.key", "keys/export.key", "keys/ingest-device.key"] {
            let path = t.data + "/" + file
            #expect(chmod(path, 0o644) == 0)
            let r = try Tool.run("temoin", ["serve", "--data", t.data, "--port", "0"])
            #expect(r.status == 2, "\(file) readable by others")
            #expect(r.stderr.contains("keys.too-open") && r.stderr.contains("chmod 600"), "\(r.stderr)")
            #expect(chmod(path, 0o600) == 0)
        }
        // The admin token, once it exists.
        let token = t.data + "/keys/admin.token"
        #expect(
            FileManager.default.createFile(
                atPath: token, contents: Data("x\n".utf8), attributes: [.posixPermissions: 0o640]))
        let r = try Tool.run("temoin", ["serve", "--data", t.data, "--port", "0"])
        #expect(r.status == 2 && r.stderr.contains("admin.token"), "\(r.stderr)")
        // The keys folder writable by others.
        #expect(chmod(token, 0o600) == 0)
        #expect(chmod(t.data + "/keys", 0o777) == 0)
        let folder = try Tool.run("temoin", ["serve", "--data", t.data, "--port", "0"])
        #expect(folder.status == 2 && folder.stderr.contains("chmod 700"), "\(folder.stderr)")
    }
}
