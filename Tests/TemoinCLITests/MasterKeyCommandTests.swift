import Foundation
import TemoinCore
import TemoinLedger
import TemoinTestSupport
import Testing

/// `temoin keys rotate-master` as an operator runs it (Docs/storage.md, "Rotating the master key").
@Suite(.tags(.process))
struct MasterKeyCommandTests {
    static func id(in text: String, after label: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(label) }.map { String($0.dropFirst(label.count)) }
    }

    @Test func rotateMasterPrintsBothIDsAndWarnsThatOlderBackupsNeedTheOldKeyWhichAloneRestoresThem() throws {
        let t = TempFolder()
        try FileManager.default.createDirectory(at: t.url, withIntermediateDirectories: true)
        #expect(try Tool.run("temoin", ["init", "--data", t.data]).status == 0)
        let first = try Tool.run("temoin", ["keys", "rotate-master", "--data", t.data])
        #expect(first.status == 0, "\(first.stderr)")
        let inForce = try #require(Self.id(in: first.text, after: "Nouvelle clé maîtresse / new master key: "))
        let backup = t.url.appendingPathComponent("backup").path
        #expect(try Tool.run("temoin", ["backup", "--data", t.data, "--out", backup]).status == 0)

        let kept = t.url.appendingPathComponent("old-master.key").path
        let rotated = try Tool.run("temoin", ["keys", "rotate-master", "--data", t.data, "--keep-old", kept])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let text = rotated.text
        #expect(Self.id(in: text, after: "Ancienne clé maîtresse / old master key: ") == inForce)
        let new = try #require(Self.id(in: text, after: "Nouvelle clé maîtresse / new master key: "))
        #expect(new != inForce && new.hasPrefix("aes256:"))
        #expect(text.contains("faites avant maintenant ne s'ouvrent qu'avec l'ANCIENNE clé maîtresse"))
        #expect(text.contains("backups made before now open only with the OLD master key (\(inForce))"))
        #expect(text.contains("old master key written to \(kept)"))
        #expect(text.contains("take a fresh backup now"))
        let mode = try FileManager.default.attributesOfItem(atPath: kept)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileMasterKey(path: kept).id == inForce)

        // The backup made before: refused with the new key (naming the key it needs), restored with the old.
        let refused = try Tool.run(
            "temoin",
            ["restore", "--backup", backup, "--master-key", t.data + "/keys/master.key", "--data", t.data + "-r1"])
        #expect(refused.status == 2, "\(refused.text)")
        #expect(
            refused.stderr.contains("keys.wrong-master-key") && refused.stderr.contains(inForce), "\(refused.stderr)")
        let restored = try Tool.run(
            "temoin", ["restore", "--backup", backup, "--master-key", kept, "--data", t.data + "-r2"])
        #expect(restored.status == 0, "\(restored.stderr)")
        defer {
            for suffix in ["-r1", "-r2"] { try? FileManager.default.removeItem(atPath: t.data + suffix) }
        }

        let audit = try Tool.run("temoin", ["audit", "--data", t.data])
        #expect(audit.status == 0, "\(audit.text)")
        #expect(audit.text.components(separatedBy: "MASTER KEY  renouvelée / rotated").count == 3, "\(audit.text)")
        let inside = try Tool.run(
            "temoin", ["keys", "rotate-master", "--data", t.data, "--keep-old", t.data + "/old.key"])
        #expect(inside.status == 2 && inside.stderr.contains("keys.unsafe-keep-old"), "\(inside.stderr)")
    }
}
