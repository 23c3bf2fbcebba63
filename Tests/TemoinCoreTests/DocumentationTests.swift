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

    @Test func theWorkedExampleInTheDocsAndSamplesIsTheTestedOne() throws {
        let doc = try read("Docs/ledger-format.md")
        #expect(doc.contains("```\n" + WorkedExample.chunkText + "```"))
        #expect(doc.contains(WorkedExample.chunkLeafHash))
        #expect(doc.contains("It is \(WorkedExample.chunkText.utf8.count) bytes"))
        let sample = try Data(contentsOf: Self.repository.appendingPathComponent("Samples/audio-chunk.entry"))
        #expect(Array(sample) == Array(WorkedExample.chunkText.utf8))
    }
}
