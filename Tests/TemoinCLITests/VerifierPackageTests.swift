import Foundation
import TemoinExport
import TemoinTestSupport
import Testing

/// Scripts/package-verifier: the lab's verifier is one binary that needs only system libraries,
/// packed with its guide, a README and checksums that `sha256sum -c` accepts.
///
/// The static release build (about 80 s cold on the quiet 2-core machine, minutes beside the rest
/// of the suite, and a second SwiftPM build inside `swift test`) is not run here: the test packs an
/// already-built binary (`.build-static/release/temoin-verify`, which `.ci/run` builds by running
/// the script before the tests), and is reported as skipped where there is none.
@Suite(.tags(.process, .slow), .notInFastRuns)
struct VerifierPackageTests {
    static let script = DocumentationPaths.repository.appendingPathComponent("Scripts/package-verifier").path
    static let staticBinary = DocumentationPaths.repository.appendingPathComponent(
        ".build-static/release/temoin-verify"
    )
    .path
    static var hasStaticBinary: Bool { FileManager.default.isExecutableFile(atPath: staticBinary) }

    @Test func aBinaryThatNeedsTheSwiftRuntimeIsRefused() throws {
        let t = TempFolder()
        let r = try runProcess(
            Self.script,
            ["--binary", Tool.buildFolder.appendingPathComponent("temoin-verify").path, "--out", t.url.path]
        )
        #expect(r.status == 1)
        #expect(r.errorText.contains("libswiftCore") && r.errorText.contains("--static-swift-stdlib"), "\(r.errorText)")
    }

    @Test(.enabled(if: hasStaticBinary, "no static build: run Scripts/package-verifier first (.ci/run does)"))
    func theStaticVerifierIsPackedWithItsGuideAndChecksumsAndVerifiesAnExport() throws {
        let t = TempFolder()
        let out = t.url.appendingPathComponent("dist").path
        let packed = try runProcess(Self.script, ["--binary", Self.staticBinary, "--out", out])
        #expect(packed.status == 0, "\(packed.errorText)")
        let archive = packed.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = URL(fileURLWithPath: archive).lastPathComponent
        #expect(name.hasPrefix("temoin-verify-") && name.hasSuffix("-linux-x86_64.tar.gz"), "\(name)")
        let outer = try runProcess("sha256sum", ["-c", name + ".sha256"], directory: out)
        #expect(outer.status == 0, "\(outer.text)\(outer.errorText)")

        let listing = try runProcess("tar", ["tzf", archive])
        let folder = String(name.dropLast(".tar.gz".count))
        #expect(
            Set(listing.text.split(separator: "\n").map(String.init))
                == Set(["", "README.txt", "SHA256SUMS", "temoin-verify", "verifying.md"].map { "\(folder)/\($0)" }),
            "\(listing.text)")
        #expect(try runProcess("tar", ["xzf", archive, "-C", out]).status == 0)
        let unpacked = out + "/" + folder
        let sums = try runProcess("sha256sum", ["-c", "SHA256SUMS"], directory: unpacked)
        #expect(sums.status == 0 && sums.text.split(separator: "\n").count == 3, "\(sums.text)\(sums.errorText)")
        let readme = try String(contentsOfFile: unpacked + "/README.txt", encoding: .utf8)
        #expect(readme.contains("FRANÇAIS") && readme.contains("ENGLISH"))
        #expect(readme.contains("sha256sum -c SHA256SUMS"))
        #expect(
            try String(contentsOfFile: unpacked + "/verifying.md", encoding: .utf8)
                == String(
                    contentsOf: DocumentationPaths.repository.appendingPathComponent("Docs/verifying.md"),
                    encoding: .utf8))

        // ldd: system libraries only, no Swift runtime.
        let ldd = try runProcess("ldd", [unpacked + "/temoin-verify"])
        #expect(ldd.status == 0)
        let allowed = [
            "linux-vdso", "libcrypto", "libogg", "libz", "libc.so", "libm.so", "libdl", "libpthread", "librt",
            "libstdc++", "libgcc_s", "ld-linux",
        ]
        for line in ldd.text.split(separator: "\n") {
            let library = line.trimmingCharacters(in: .whitespaces)
            #expect(allowed.contains { library.hasPrefix($0) || library.hasPrefix("/lib64/" + $0) }, "\(library)")
        }
        #expect(!ldd.text.contains("swift") && !ldd.text.contains("Foundation"), "\(ldd.text)")

        // The packed binary verifies a fresh export, folder and zip alike.
        let (bundle, key) = try VerifierCommandTests.exported(t)
        try BundleZip.plan(folder: bundle).write(to: bundle + ".zip")
        for input in [bundle, bundle + ".zip"] {
            let verified = try runProcess(unpacked + "/temoin-verify", [input, "--log-key", key])
            #expect(verified.status == 0, "\(input): \(verified.text)\(verified.errorText)")
        }
    }
}
