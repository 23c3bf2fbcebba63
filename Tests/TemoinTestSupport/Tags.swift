public import Testing
import Foundation

/// The tags the test targets share (Docs/testing.md).
extension Tag {
    /// The test starts a child process: our executables (built by `swift build`) or a system tool
    /// that `Scripts/install-packages` installs (openssl, opusenc, espeak-ng, nginx, curl…).
    @Tag public static var process: Self
    /// The test takes a second or more (measured alone), or starts services: `temoin serve`
    /// killed and restarted, nginx, speech round trips, hostile clients that wait out timeouts.
    @Tag public static var slow: Self
}

extension Trait where Self == ConditionTrait {
    /// Goes with `.tags(.slow)`: leaves the test out when `TEMOIN_FAST_TESTS=1`, so
    /// `TEMOIN_FAST_TESTS=1 swift test` runs the fast tests alone. (Swift 6.3's `swift test`
    /// cannot filter by tag yet; once it can, `swift test --skip tag:slow` does the same.)
    public static var notInFastRuns: Self {
        .disabled(
            if: ProcessInfo.processInfo.environment["TEMOIN_FAST_TESTS"] == "1",
            "slow: left out because TEMOIN_FAST_TESTS=1")
    }
}
