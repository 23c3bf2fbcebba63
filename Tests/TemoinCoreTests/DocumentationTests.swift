import Foundation
import TemoinCore
import TemoinCrypto
import Testing

/// Docs/ledger-format.md must stay true: its tables and its worked example are checked here.
struct DocumentationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func read(_ path: String) throws -> String {
        try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func theKindTableListsExactlyTheFieldsOfEveryKindInOrder() throws {
        let doc = try read("Docs/ledger-format.md")
        for kind in EntryKind.allCases {
            let prefix = "| `\(kind.rawValue)` | "
            let row = try #require(
                doc.split(separator: "\n").first { $0.hasPrefix(prefix) }, "no row for \(kind.rawValue)")
            let cells = row.dropFirst(prefix.count).dropLast(2).split(separator: ", ").map { cell -> String in
                String(cell)
            }
            let expected = kind.fields.map { "`\($0.name)` \($0.type.rawValue)" }
            #expect(cells == expected, "\(kind.rawValue)")
        }
    }

    /// Docs/api.md's role table is `StaffRole.permissions`: a row per permission, a column per
    /// role in `StaffRole.allCases` order, ✓ where the role has it.
    @Test func theRoleTableOfTheAPIGuideIsTheOneTheServiceEnforces() throws {
        let doc = try read("Docs/api.md").split(separator: "\n")
        let header =
            "| permission | allows | routes | " + StaffRole.allCases.map(\.rawValue).joined(separator: " | ") + " |"
        #expect(doc.contains { $0 == header }, "the table's columns are the roles, in order")
        for permission in StaffPermission.allCases {
            let prefix = "| `\(permission.rawValue)` | "
            let row = try #require(doc.first { $0.hasPrefix(prefix) }, "no row for \(permission.rawValue)")
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(
                Array(cells.suffix(StaffRole.allCases.count))
                    == StaffRole.allCases.map { $0.may(permission) ? "✓" : "" },
                "\(permission.rawValue)")
        }
    }

    @Test func theWorkedExampleInTheDocsAndSamplesIsTheTestedOne() throws {
        let doc = try read("Docs/ledger-format.md")
        #expect(doc.contains("```\n" + WorkedExample.chunkText + "```"))
        #expect(doc.contains(WorkedExample.chunkLeafHash))
        #expect(doc.contains("It is \(WorkedExample.chunkText.utf8.count) bytes"))
        let sample = try Data(contentsOf: Self.repository.appendingPathComponent("Samples/audio-chunk.entry"))
        #expect(Array(sample) == Array(WorkedExample.chunkText.utf8))
    }
}
