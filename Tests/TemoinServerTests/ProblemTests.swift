import TemoinCore
@testable import TemoinServer
import Testing

/// Every refusal is a complete RFC 9457 document: the status its code carries, with its standard
/// reason phrase as `title` (a status built from a bare number has none).
struct ProblemTests {
    @Test func everyCodeGivesAProblemWithItsStatusAndATitle() {
        for id in ErrorCode.allCases {
            let problem = Problem(TemoinError(id, "reason"))
            #expect(problem.status == id.httpStatus, "\(id.rawValue)")
            #expect(!problem.title.isEmpty, "\(id.rawValue) has no title")
            #expect(problem.code == id.rawValue)
            #expect(problem.type == "urn:temoin:problem:\(id.rawValue)")
        }
    }
}
