import Foundation
import TemoinLedger
import Testing

struct BlockingIOTests {
    @Test func aLinuxCPUListIsCountedAndAnythingElseIsNotACount() {
        #expect(UsableCPUs.count(list: "0") == 1)
        #expect(UsableCPUs.count(list: "0-1") == 2)
        #expect(UsableCPUs.count(list: " 0-3,8,10-11\t") == 7)
        for bad in ["", "a", "1-", "-1", "3-1", "0,,1", "0-1-2", "1,x"] {
            #expect(UsableCPUs.count(list: bad) == nil, "\(bad)")
        }
        #expect(UsableCPUs.count >= 1)
    }

    @Test func jobsRunOffTheCallerAndGiveBackTheirResultOrError() async throws {
        let pool = BlockingIO(threads: 2, name: "temoin-test", niceness: 4)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 { group.addTask { try await pool.run { i * i } } }
            return try await group.reduce(into: []) { $0.append($1) }.sorted()
        }
        #expect(results == (0..<20).map { $0 * $0 })
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await pool.run { throw Failure() } }
    }
}
