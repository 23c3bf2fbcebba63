import Foundation
import TemoinCore
import TemoinCrypto
import TemoinTestSupport
import Testing

/// Runs the built `temoin` executable as a user would.
struct Tool {
    static let buildFolder: URL = {
        // The test bundle sits in the build products folder, next to the executables.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("temoin").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    static func run(_ name: String, _ arguments: [String]) throws -> Result {
        try run(buildFolder.appendingPathComponent(name), arguments)
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> Result {
        let r = try runProcess(executable.path, arguments)
        return Result(status: r.status, stdout: Data(r.stdout), stderr: r.errorText)
    }

    /// Starts one of our executables in the background (a service, a phone).
    static func start(_ name: String, _ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(buildFolder.appendingPathComponent(name).path, arguments)
    }
}

final class TempFolder: @unchecked Sendable {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-cli-\(UUID().uuidString)")
    var data: String { url.appendingPathComponent("data").path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite(.tags(.process))
struct CommandLineTests {
    @Test func theTemoinExecutableIsBuilt() {
        #expect(
            FileManager.default.isExecutableFile(atPath: Tool.buildFolder.appendingPathComponent("temoin").path),
            "build the package (swift build) before the tests: \(Tool.buildFolder.path)")
    }

    @Test func initPrintsTheVerifierKeyAloneOnItsLineAndTheAuditPasses() throws {
        let t = TempFolder()
        let initialized = try Tool.run("temoin", ["init", "--data", t.data, "--origin", "example.org/temoin"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let keyLine = initialized.text.split(separator: "\n").first { $0.hasPrefix("example.org/temoin+") }
        let key = try VerifierKey(parsing: #require(keyLine))
        #expect(key.name == "example.org/temoin")
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0)
        #expect(audit.text.contains("PASS"))
    }

    @Test func keysRotateLogPrintsTheNewKeyAndTheAuditStillPasses() throws {
        let t = TempFolder()
        let initialized = try Tool.run("temoin", ["init", "--data", t.data, "--origin", "example.org/temoin"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let rotated = try Tool.run("temoin", ["keys", "rotate-log", "--data", t.data])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let keyLine = rotated.text.split(separator: "\n").last { $0.hasPrefix("example.org/temoin+") }
        let key = try VerifierKey(parsing: #require(keyLine))
        let file = try String(contentsOfFile: t.data + "/log-key.txt", encoding: .utf8)
        #expect(file == key.description + "\n")
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
    }

    @Test func theCheckpointIsWrittenByteForByteAndTheProofVerifies() throws {
        let t = TempFolder()
        let initialized = try Tool.run("temoin", ["init", "--data", t.data])
        let key = try VerifierKey(parsing: String(initialized.text.split(separator: "\n").last!))
        let checkpoint = try Tool.run("temoin", ["log", "checkpoint", "--data", t.data])
        #expect(checkpoint.status == 0)
        let outside = try Data(contentsOf: URL(fileURLWithPath: t.data + "/checkpoint"))
        #expect(checkpoint.stdout == outside)
        let signed = try SignedCheckpoint(parsing: Array(checkpoint.stdout))
        try signed.verify(key: key, using: Ed25519())
        for index in 0..<2 {
            let proof = try Tool.run("temoin", ["log", "prove", "--data", t.data, "--index", String(index)])
            #expect(proof.status == 0)
            let parsed = try TlogProof(parsing: Array(proof.stdout))
            let entry = try readEntry(t.data, index)
            try parsed.verify(entry: entry, key: key, hasher: SHA256.merkle, ed25519: Ed25519())
        }
    }

    /// Entry bytes read independently of our code, with the sqlite3 tool when present.
    func readEntry(_ data: String, _ index: Int) throws -> [UInt8] {
        try runProcess(
            "python3",
            [
                "-c",
                "import sqlite3,sys;sys.stdout.buffer.write(sqlite3.connect(sys.argv[1]).execute('select bytes from "
                    + "entries where idx=?',(int(sys.argv[2]),)).fetchone()[0])",
                data + "/ledger.sqlite", String(index),
            ]
        ).stdout
    }

    @Test(arguments: [
        ["init", "--data"],
        ["audit", "--bogus"],
        ["log", "prove", "--index", "minus"],
        ["nonsense"],
        ["log", "prove", "--data", "/nonexistent/temoin", "--index", "0"],
        ["audit", "--data", "/nonexistent/temoin"],
    ])
    func usageErrorsExitWith2AndSaySomething(_ arguments: [String]) throws {
        let r = try Tool.run("temoin", arguments)
        #expect(r.status == 2, "\(arguments): \(r.status)")
        #expect(!r.stderr.isEmpty)
    }

    @Test func helpExitsWith0() throws {
        let r = try Tool.run("temoin", ["--help"])
        #expect(r.status == 0)
        #expect(r.text.contains("init"))
    }

    @Test func initRefusesANonEmptyFolderWith2AndAProofOfAMissingEntryIs2() throws {
        let t = TempFolder()
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let again = try Tool.run("temoin", ["init", "--data", t.data])
        #expect(again.status == 2)
        #expect(again.stderr.contains("not empty"))
        #expect(try Tool.run("temoin", ["log", "prove", "--data", t.data, "--index", "99"]).status == 2)
    }

    @Test func aTamperedLedgerMakesTheAuditExit1AndNameThePlace() throws {
        let t = TempFolder()
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let checkpoint = t.data + "/checkpoint"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        bytes[bytes.count - 5] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: checkpoint))
        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 1)
        #expect(audit.text.contains("checkpoint file"))
    }
}
