import Foundation
import TemoinTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.tags(.process))
struct ChildProcessTests {
    /// Writes 4 MiB to each output, interleaved, before reading its input; then says how much it
    /// read. A helper that writes all the input before reading, or reads one output to its end
    /// before the other, waits forever here (the timeout turns that into a failure).
    static let chatterbox = """
        import sys
        out, err = sys.stdout.buffer, sys.stderr.buffer
        for _ in range(64):
            out.write(b"o" * 65536); out.flush()
            err.write(b"e" * 65536); err.flush()
        data = sys.stdin.buffer.read()
        out.write(b"%d %d" % (len(data), sum(data) % 65521))
        """

    // Async, as every test here that waits long: a blocked thread of the concurrency pool's two
    // would starve the in-process services that other tests run meanwhile.
    @Test func bothOutputsAreDrainedWhileTheInputIsWritten() async throws {
        let input = (0..<3 << 20).map { UInt8(truncatingIfNeeded: $0 &* 31 % 251) }
        let expected = "\(input.count) \(input.reduce(0) { ($0 + Int($1)) % 65521 })"
        let r = try await runProcess("python3", ["-c", Self.chatterbox], input: input, timeout: .seconds(120))
        #expect(r.status == 0, "\(r.errorText.suffix(500))")
        #expect(r.stdout.count == 64 * 65536 + expected.utf8.count)
        #expect(r.stdout.prefix(64 * 65536).allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(String(decoding: r.stdout.suffix(expected.utf8.count), as: UTF8.self) == expected)
        #expect(r.stderr == [UInt8](repeating: UInt8(ascii: "e"), count: 64 * 65536))
    }

    @Test func theBlockingVariantDrainsAsWell() async throws {
        let input = [UInt8](repeating: 7, count: 2 << 20)
        // On a thread of its own, for the reason above.
        let r = try await withCheckedThrowingContinuation { (done: CheckedContinuation<ProcessOutput, any Error>) in
            Thread {
                done.resume(
                    with: Result {
                        try runProcess("python3", ["-c", Self.chatterbox], input: input, timeout: .seconds(120))
                    })
            }.start()
        }
        #expect(r.status == 0)
        #expect(r.text.hasSuffix("\(input.count) \(input.count * 7 % 65521)"))
        #expect(r.stderr.count == 64 * 65536)
    }

    /// Input the child never reads: the write fails with EPIPE, the test process lives on.
    @Test func aChildThatIgnoresItsInputDoesNotKillTheTests() async throws {
        let r = try await runProcess("true", [], input: [UInt8](repeating: 1, count: 4 << 20), timeout: .seconds(60))
        #expect(r.status == 0)
    }

    @Test func aChildThatOutlivesItsTimeoutIsKilledAndTheCallFails() async throws {
        let start = ContinuousClock.now
        #expect(throws: ProcessError.self) { try runProcess("sleep", ["3600"], timeout: .milliseconds(300)) }
        await #expect(throws: ProcessError.self) {
            try await runProcess("sleep", ["3600"], timeout: .milliseconds(300))
        }
        // Killed at its timeout, not ended by itself (generous: the machine may be loaded).
        #expect(ContinuousClock.now - start < .seconds(120))
        do {
            _ = try await runProcess("sh", ["-c", "echo starting >&2; exec sleep 3600"], timeout: .milliseconds(300))
            Issue.record("the call returned")
        } catch {
            #expect("\(error)".contains("did not finish within"))
            #expect("\(error)".contains("starting"), "the error quotes the child's standard error")
        }
    }

    @Test func statusDirectoryAndEnvironment() throws {
        #expect(try runProcess("sh", ["-c", "exit 3"]).status == 3)
        #expect(try runProcess("sh", ["-c", "kill -9 $$"]).status == 128 + 9)
        let r = try runProcess(
            "sh", ["-c", "pwd; echo \"$TEMOIN_TEST_VALUE\""], environment: ["TEMOIN_TEST_VALUE": "witness"],
            directory: "/")
        #expect(r.text == "/\nwitness\n")
        #expect(throws: ProcessError.self) { try runProcess("/nonexistent/temoin-tool", []) }
    }

    @Test func aBackgroundChildIsStoppedAndReaped() async throws {
        let child = try ChildProcess("sleep", ["30"])
        #expect(child.isRunning)
        await child.stop(SIGTERM)
        #expect(!child.isRunning)
        let r = try await child.wait(timeout: .seconds(1))
        #expect(r.status == 128 + SIGTERM)
    }
}
