import Foundation
import TemoinCore
import Testing

/// Error codes are one enumeration: each a stable, well-formed string with a category (the exit
/// code) and an HTTP status, all listed in Docs/error-codes.md.
struct ErrorCodeTests {
    @Test func everyCodeIsStableWellFormedAndUnique() {
        let raw = ErrorCode.allCases.map(\.rawValue)
        #expect(Set(raw).count == raw.count)
        for code in raw {
            #expect(
                code.range(of: #"^[a-z0-9]+(\.[a-z0-9]+(-[a-z0-9]+)*)*$"#, options: .regularExpression) != nil,
                "\(code)")
        }
    }

    @Test func theCategoryDecidesTheExitCodeAndTheStatusComesWithTheCode() {
        for id in ErrorCode.allCases {
            let e = TemoinError(id, "reason")
            #expect(e.code == id.rawValue)
            #expect(e.exitCode == (id.category == .invalidEvidence ? 1 : 2))
            #expect((400...599).contains(e.httpStatus))
            if let specific = id.specificHTTPStatus {
                // A specific status survives a thrower's change of category.
                #expect(TemoinError(id, category: .environment, "reason").httpStatus == specific)
            }
        }
        #expect(ErrorCode.alertUnknown.httpStatus == 404)
        #expect(ErrorCode.rateLimited.httpStatus == 429)
        #expect(TemoinError(.oggBadPage, category: .invalidEvidence, "in a bundle").exitCode == 1)
        #expect(TemoinError(.oggBadPage, "from a phone").httpStatus == 422)
    }

    @Test func everyCodeIsDocumented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/error-codes.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for id in ErrorCode.allCases {
            #expect(
                text.contains(
                    "| `\(id.rawValue)` | \(id.category.rawValue) | \(id.category == .invalidEvidence ? 1 : 2) | "
                        + "\(id.httpStatus) |"
                ),
                "Docs/error-codes.md lacks or misstates \(id.rawValue)")
        }
    }
}
