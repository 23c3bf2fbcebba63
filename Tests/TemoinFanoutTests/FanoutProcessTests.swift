import Foundation
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built executables, beside the test bundle.
enum Built {
    static let folder: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("temoin").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func run(_ name: String, _ arguments: [String]) async throws -> ProcessOutput {
        try await runProcess(path(name), arguments)
    }

    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples/speech-fr-en-16k.wav").path
}

/// The real service, killed with SIGKILL in the middle of sending: between the commit of a text's
/// `sending` state and the gateway call, and between the gateway's answer and its record. After a
/// restart every contact has been texted exactly once (the relay drops a repeated key, as real
/// providers do), the ledger holds one `sms.sent` per contact and the audit passes.
@Suite(.tags(.process, .slow), .notInFastRuns)
struct FanoutProcessTests {
    @Test(arguments: ["after-prepare", "after-send"])
    func killedAtEitherStepTheServiceStillTextsEachContactOnce(step: String) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-fanout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let data = root.appendingPathComponent("data").path
        let initialized = try await Built.run("temoin", ["init", "--data", data])
        #expect(initialized.status == 0, "\(initialized.errorText)")
        let key = root.appendingPathComponent("phone.key").path
        #expect(try await Built.run("temoin-device", ["keygen", "--out", key]).status == 0)
        let enrolled = try await Built.run("temoin", ["enroll", "--data", data, "--public-key", key + ".pub"])
        #expect(enrolled.status == 0, "\(enrolled.errorText)")
        let device = String(enrolled.text.split(separator: "\n").last ?? "")
        let numbers = (0..<5).map { "+3361234560\($0)" }
        for (i, number) in numbers.enumerated() {
            let added = try await Built.run(
                "temoin",
                ["contacts", "add", "--data", data, "--device", device, "--name", "Contact \(i)", "--phone", number])
            #expect(added.status == 0, "\(added.errorText)")
        }
        let tokenFile = root.appendingPathComponent("relay.token").path
        _ = FileManager.default.createFile(
            atPath: tokenFile, contents: Data("relay-token\n".utf8), attributes: [.posixPermissions: 0o600])

        try await FakeProvider.with { provider in
            let port = freeLoopbackPort()
            let serve = [
                "serve", "--data", data, "--port", String(port), "--sms-gateway", "http", "--sms-url",
                provider.relayURL, "--sms-token-file", tokenFile, "--public-url", "http://127.0.0.1:\(port)",
            ]
            var server = try await start(serve, data: data, environment: ["TEMOIN_TEST_FANOUT_CRASH": step])
            let phone = try ChildProcess(
                Built.path("temoin-device"),
                [
                    "alert", "--server", "http://127.0.0.1:\(port)", "--key", key, "--log-key",
                    data + "/log-key.txt", "--wav", Built.sample, "--chunk-seconds", "4", "--location",
                    "geo:48.8566,2.3522;u=15", "--retry-seconds", "120",
                ])
            let killed = try await server.wait(timeout: .seconds(60))
            #expect(killed.status == 128 + SIGKILL, "the service stopped itself at \(step)")
            server = try await start(serve, data: data, environment: [:])
            let phoneDone = try await phone.wait(timeout: .seconds(300))
            #expect(phoneDone.status == 0, "\(phoneDone.errorText.suffix(1000))")
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, await provider.state.sentKeys.count < 5 {
                try await Task.sleep(for: .milliseconds(100))
            }
            await server.stop(SIGTERM)
            _ = try? await server.wait(timeout: .seconds(30))

            let accepted = await provider.state.sentKeys
            #expect(accepted.count == 5, "five distinct texts reached the provider")
            let posts = await provider.state.requests(to: "/send")
            let to = Set(posts.compactMap { $0.json?["to"] as? String })
            #expect(to == Set(numbers), "every contact, and only them")
            for post in posts {
                #expect(post.headers["authorization"] == "Bearer relay-token")
                let text = post.json?["text"] as? String ?? ""
                #expect(text.contains("http://127.0.0.1:\(port)/l/") && text.contains("48,85660 N"))
            }
            let reader = try LedgerReader(directory: DataDirectory(data))
            let alert = try #require(AlertID(String(phoneDone.text.split(separator: "\n").first ?? "")))
            let sent = try reader.entries(alert: alert).map(\.entry).filter { $0.kind == .smsSent }
            #expect(Set(sent.compactMap(\.contact)).count == 5 && sent.count == 5, "one sms.sent per contact")
            #expect(try reader.outbox(alert: alert).allSatisfy { $0.state == .sent && $0.sealed == nil })
            let audit = try await Built.run("temoin", ["audit", "--data", data])
            #expect(audit.status == 0, "\(audit.text.suffix(2000))")
        }
    }

    func start(_ arguments: [String], data: String, environment: [String: String]) async throws -> ChildProcess {
        try? FileManager.default.removeItem(atPath: data + "/service.url")
        let server = try ChildProcess(Built.path("temoin"), arguments, environment: environment)
        for _ in 0..<500 {
            if FileManager.default.fileExists(atPath: data + "/service.url") { return server }
            if !server.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let out = try? await server.wait(timeout: .seconds(5))
        throw ServiceDidNotStart("the service did not start: \(out?.errorText.suffix(2000) ?? "")")
    }
}

struct ServiceDidNotStart: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
