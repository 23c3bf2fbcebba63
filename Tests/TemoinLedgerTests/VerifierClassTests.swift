import Foundation
@testable import TemoinLedger
import TemoinAudio
import TemoinCore
import TemoinCrypto
import TemoinVerify
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What someone holding the export key (not the log key) can do: change the folder, then list
/// every regular file in a canonical manifest and sign it again.
struct Insider {
    let key: P256PrivateKey
    let certificate: Certificate

    init(_ f: LedgerFixture) throws {
        key = try P256PrivateKey(pem: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.directory.exportKeyFile))))
        certificate = try f.directory.loadExportCertificate()
    }

    func resign(_ bundle: String) throws {
        let old = try JSONDecoder().decode(
            ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: bundle + "/manifest.json")))
        var files: [String: String] = [:]
        for case let name as String in FileManager.default.enumerator(atPath: bundle)!
        where !name.hasPrefix("manifest.json") {
            let path = bundle + "/" + name
            guard
                (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            files[name] = SHA256.hash([UInt8](data)).hex
        }
        let manifest = ExportManifest(
            origin: old.origin, alert: old.alert, requester: old.requester, reference: old.reference,
            created: old.created, exportEntry: old.exportEntry, checkpointSize: old.checkpointSize, files: files)
        try sign(bundle, manifest: manifest.encoded())
    }

    func sign(_ bundle: String, manifest: [UInt8]) throws {
        try Data(manifest).write(to: URL(fileURLWithPath: bundle + "/manifest.json"))
        try Data(CMS.sign(manifest, key: key, certificate: certificate)).write(
            to: URL(fileURLWithPath: bundle + "/manifest.json.p7s"))
    }
}

func verify(_ folder: String, _ f: LedgerFixture) throws -> VerificationReport {
    var v = BundleVerifier(folder: folder, trustedKey: f.created.verifierKey)
    return try v.run()
}

func copyBundle(_ folder: String) throws -> String {
    let target = folder + "-copy-\(UUID().uuidString.prefix(8))"
    try FileManager.default.copyItem(atPath: folder, toPath: target)
    return target
}

extension VerificationReport {
    /// Fails, and names `subject` in a failing check.
    func failsNaming(_ subject: String) -> Bool { !passed && checks.contains { !$0.passed && $0.subject == subject } }
}

/// Item 10: the file set is read without loss; anything the format does not define fails.
struct BundleFileSetTests {
    @Test func aFileWhoseNameIsNotUTF8IsSeenAndFails() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let path = Array((folder + "/originals/7").utf8) + [0xff] + Array(".wav".utf8) + [0]
        let fd = path.withUnsafeBytes {
            open($0.baseAddress!.assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644)
        }
        #expect(fd >= 0)
        _ = write(fd, "fabricated", 10)
        close(fd)
        try Insider(f).resign(folder)
        #expect(try verify(folder, f).failsNaming("originals/7\\xff.wav"))
    }

    @Test func linksDanglingLinksFIFOsAndLinkedFoldersInsideFail() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        #expect(try verify(folder, f).passed)
        let cases: [(String, (String) throws -> Void)] = [
            ("originals/9.wav", { b in _ = symlink("0.wav", b + "/originals/9.wav") }),
            ("originals/8.wav", { b in _ = symlink("/nonexistent/fabricated.wav", b + "/originals/8.wav") }),
            ("pipe", { b in _ = mkfifo(b + "/pipe", 0o644) }),
            (
                "originals",
                { b in
                    try FileManager.default.moveItem(atPath: b + "/originals", toPath: b + "-originals")
                    _ = symlink(b + "-originals", b + "/originals")
                }
            ),
            (
                "extra",
                { b in try FileManager.default.createDirectory(atPath: b + "/extra", withIntermediateDirectories: false)
                }
            ),
        ]
        for (subject, change) in cases {
            let bundle = try copyBundle(folder)
            try change(bundle)
            try Insider(f).resign(bundle)
            #expect(try verify(bundle, f).failsNaming(subject), "\(subject)")
        }
    }

    @Test(.tags(.process)) func aPathLongerThanPATH_MAXInsideFails() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let component = String(repeating: "a", count: 200)
        var fd = open(folder + "/originals", O_RDONLY | O_DIRECTORY)
        for _ in 0..<25 {
            #expect(mkdirat(fd, component, 0o755) == 0)
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        let file = openat(fd, "0.wav", O_CREAT | O_WRONLY, 0o644)
        _ = write(file, "fabricated", 10)
        close(file)
        close(fd)
        #expect(try verify(folder, f).failsNaming("originals/" + component))
        _ = try await runProcess("/bin/rm", ["-rf", folder + "/originals/" + component])
    }

    @Test func aBundleReachedThroughASymbolicLinkVerifies() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        #expect(symlink(folder, folder + "-link") == 0)
        let report = try verify(folder + "-link", f)
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
    }

    @Test func aFolderThatIsNotABundleIsUnusableInputNotEvidence() async throws {
        let f = try await LedgerFixture()
        let empty = f.root.appendingPathComponent("not-a-bundle").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: empty + "/notes.txt"))
        #expect { _ = try verify(empty, f) } throws: {
            ($0 as? TemoinError)?.category == .usage && ($0 as? TemoinError)?.code == "verify.not-a-bundle"
        }
        #expect { _ = try verify(empty + "/nonexistent", f) } throws: { ($0 as? TemoinError)?.category == .usage }
    }
}

/// Item 11: whatever a court reads is proven; an insider with the export key cannot add, rename
/// or rewrite a file, nor give tools two readings of the manifest.
struct BundleProvenanceTests {
    @Test func everyFileMustBeAccountedForByAVerifiedEntryAndEveryTextRenderedFromThem() async throws {
        let (f, e, folder) = try await ExportTests.exported()
        let insider = try Insider(f)
        let conflict = e.files.keys.first { $0.contains("-conflict-") }!
        let otherCertificate = try Certificate.selfSigned(key: P256PrivateKey.generate(), commonName: "other").pem
        let stranger = try Ed25519NoteSigner(name: f.created.origin, privateKey: Ed25519PrivateKey.generate())
            .verifierKey
        func append(_ name: String, _ bytes: [UInt8]) -> (String) throws -> Void {
            { b in
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: b + "/" + name))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(bytes))
                try handle.close()
            }
        }
        func put(_ name: String, _ bytes: [UInt8]) -> (String) throws -> Void {
            { b in try Data(bytes).write(to: URL(fileURLWithPath: b + "/" + name)) }
        }
        let cases: [(String, (String) throws -> Void)] = [
            // An original for a sequence number no entry has.
            ("originals/7.wav", put("originals/7.wav", AudioIngestTests.chunks[0])),
            ("originals/0.raw", put("originals/0.raw", AudioIngestTests.chunks[0])), // .raw beside .wav
            (
                "originals/0-conflict-0123456789abcdef.wav",
                put("originals/0-conflict-0123456789abcdef.wav", AudioIngestTests.chunks[4])
            ),
            ("notes.txt", put("notes.txt", Array("à lire / read me".utf8))),
            ("entries/999.entry", put("entries/999.entry", Array("temoin/entry/v1\n".utf8))),
            ("README.txt", append("README.txt", Array("Ce dossier a été vérifié par un expert.\n".utf8))),
            (
                "custody-report.html",
                { b in
                    let path = b + "/custody-report.html"
                    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                        of: "OPJ Lyon", with: "OPJ Paris")
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                }
            ),
            ("log-key.txt", put("log-key.txt", Array((stranger.description + "\n").utf8))),
            ("export-cert.pem", append("export-cert.pem", otherCertificate)),
            (conflict, put(conflict, AudioIngestTests.chunks[5])), // quarantined bytes replaced
        ]
        for (subject, change) in cases {
            let bundle = try copyBundle(folder)
            try change(bundle)
            try insider.resign(bundle)
            let report = try verify(bundle, f)
            #expect(
                report.checks.contains { $0.check == "cms" && $0.passed },
                "\(subject): the insider's signature itself verifies")
            #expect(
                report.failsNaming(subject),
                "\(subject): \(report.checks.filter { !$0.passed }.map { "\($0.subject) \($0.en)" })")
        }
    }

    @Test func aManifestWithARepeatedOrUnknownKeyIsRefusedEvenWhenSigned() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let insider = try Insider(f)
        let canonical = try String(contentsOfFile: folder + "/manifest.json", encoding: .utf8)
        for line in ["  \"requester\" : \"OPJ Paris\",\n", "  \"note\" : \"vérifié\",\n"] {
            let bundle = try copyBundle(folder)
            // Swift's decoder keeps one requester, Python and jq the other: both readings must fail.
            let forged = canonical.replacingOccurrences(of: "  \"requester\" :", with: line + "  \"requester\" :")
            #expect(forged != canonical)
            try insider.sign(bundle, manifest: Array(forged.utf8))
            let report = try verify(bundle, f)
            #expect(report.failsNaming("manifest.json"), "\(line)")
        }
    }

    @Test func aSignatureWithUnsignedAttributesOrTrailingBytesIsRefused() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let p7s = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json.p7s")))
        // An unsigned signingDescription attribute ("forged"): ContentInfo → [0] → SignedData → signerInfos →
        // SignerInfo.
        let oid: [UInt8] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0d]
        let value = DER.tlv(0x31, DER.tlv(0x0c, Array("forged".utf8)))
        let unsigned = DER.tlv(0xa1, DER.tlv(0x30, oid + value))
        let withAttribute = DER.appending(unsigned, to: p7s, path: [1, 0, -1, 0])
        for (what, bytes) in [("unsigned attribute", withAttribute), ("trailing byte", p7s + [0])] {
            let bundle = try copyBundle(folder)
            try Data(bytes).write(to: URL(fileURLWithPath: bundle + "/manifest.json.p7s"))
            let manifest = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle + "/manifest.json")))
            let certificate = try f.directory.loadExportCertificate()
            if what == "unsigned attribute" {
                #expect(throws: Never.self, "OpenSSL itself still accepts it") {
                    _ = try CMS.verify(bytes, content: manifest, trusting: certificate)
                }
            }
            #expect(try verify(bundle, f).failsNaming("manifest.json.p7s"), "\(what)")
        }
    }
}

/// The signing time a lab reads in the CMS blob is bounded by the export entry's time.
struct SigningTimeTests {
    @Test func aManifestReSignedDaysAfterTheExportFails() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let insider = try Insider(f)
        let manifest = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        let created = try JSONDecoder().decode(ExportManifest.self, from: Data(manifest)).created
        let exportSeconds = Timestamp(rfc3339: created)!.millisecondsSinceEpoch / 1000
        for (offset, passes) in [(Int64(60), true), (Int64(3 * 86_400), false), (Int64(-3600), false)] {
            let p7s = try CMS.sign(
                manifest, key: insider.key, certificate: insider.certificate, signingTime: exportSeconds + offset)
            try Data(p7s).write(to: URL(fileURLWithPath: folder + "/manifest.json.p7s"))
            let report = try verify(folder, f)
            #expect(
                report.passed == passes,
                "signed \(offset) s after the export: \(report.checks.filter { !$0.passed }.map(\.en))")
            if !passes { #expect(report.failsNaming("manifest.json.p7s")) }
        }
    }
}

/// Item 14: what the device did not sign is said, with what that leaves uncovered.
struct UnsignedStatementTests {
    @Test func statementsTheDeviceDidNotSignGetANote() async throws {
        let (f, _, folder) = try await ExportTests.exported()
        let report = try verify(folder, f)
        #expect(report.passed)
        let note = report.notes.first { $0.contains("not signed by the device") }
        #expect(
            note?.contains("(alert.opened)") == true && note?.contains("(chunk.conflict)") == true, "\(report.notes)")
        #expect(note?.contains("sans signature de l'appareil") == true)
    }
}

/// Minimal DER editing for tests: enough to add what a CMS blob can carry unsigned.
enum DER {
    static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        var bytes = [UInt8](), v = n
        while v > 0 { bytes.insert(UInt8(v & 0xff), at: 0); v >>= 8 }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    static func header(_ b: [UInt8], _ at: Int) -> (size: Int, length: Int) {
        let first = b[at + 1]
        if first < 0x80 { return (2, Int(first)) }
        let n = Int(first & 0x7f)
        return (2 + n, (0..<n).reduce(0) { $0 << 8 | Int(b[at + 2 + $1]) })
    }

    /// Appends `payload` to the content of the element reached by `path` (child indices, -1 the last).
    static func appending(_ payload: [UInt8], to der: [UInt8], path: [Int]) -> [UInt8] {
        let (h, n) = header(der, 0)
        var content = Array(der[h..<h + n])
        if let step = path.first {
            var children = [[UInt8]](), i = 0
            while i < content.count {
                let (ch, cn) = header(content, i)
                children.append(Array(content[i..<i + ch + cn]))
                i += ch + cn
            }
            let k = step < 0 ? children.count + step : step
            children[k] = appending(payload, to: children[k], path: Array(path.dropFirst()))
            content = children.flatMap { $0 }
        } else {
            content += payload
        }
        return tlv(der[0], content)
    }
}
