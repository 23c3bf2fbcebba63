import Foundation
@testable import TemoinLedger
import TemoinCore
import Testing

/// The write-ahead log is checkpointed by a thread of its own, never inside a commit: the log stays
/// bounded however many commits there are, and every committed entry survives.
struct WALCheckpointTests {
    func pages(_ path: String) -> Int {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return (size ?? 0) / 4096
    }

    @Test func theLogStaysBoundedWhileCommitsGoOnAndNothingCommittedIsLost() async throws {
        let f = try await LedgerFixture()
        let w = try await f.populate(alerts: 1, chunks: 0)
        let before = await w.size
        let database = f.directory.database
        let initial = pages(database)
        // Each chunk its own commit (entry, nodes, signed checkpoint: several pages of log each),
        // so the log passes the threshold several times over.
        let commits = 800
        for seq in 0..<commits { _ = try await f.chunk(LedgerFixture.alert(0), seq: seq, on: w) }
        // The automatic checkpoint is off; only the checkpointer copies pages into the database
        // file, and it kept the log small (at most the threshold, what one commit adds, and what
        // was appended while the last checkpoint ran).
        #expect(pages(database) > initial, "pages were checkpointed into the database file")
        #expect(pages(database + "-wal") < 2 * WALCheckpointer.threshold, "the log stayed bounded")
        #expect(await w.size == before + UInt64(commits))
        #expect(try f.audit().passed)
    }
}
