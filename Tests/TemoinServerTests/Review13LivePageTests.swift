import Foundation
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinFanout
import TemoinLedger
import Testing

// Review 13: the live-location page and what a phone (attacker B) can put on it.
struct Review13LivePageTests {
    /// F1 (page): a fix with `u` of 21 digits or more (accepted by GeoURI: numbers up to 32
    /// characters) makes `LiveText.accuracy` trap (`Int((metres / 100).rounded())`): every view of
    /// the page — every contact's 5-second refresh — kills the service.
    @Test func aHugeUncertaintyDoesNotCrashTheLivePage() async {
        await #expect(processExitsWith: .success) {
            _ = LiveText.accuracy(try! GeoURI(parsing: "geo:48.8566,2.3522;u=9999999999999999999999").uncertainty!)
        }
    }

    @Test func aLivePageWithAHugeUncertaintyAnswers() async {
        await #expect(processExitsWith: .success) {
            let f = try! await LivePageFixture()
            let (_, links) = try! await f.openAlert(fix: "geo:48.8566,2.3522;u=9999999999999999999999")
            let answer = try! await f.page(links[0].token)
            precondition(answer.status == 200)
        }
    }
}
