import Foundation
public import TemoinCore

/// Fault injection for tests: makes the next blob writes fail as a full disk or a failing fsync
/// would, before anything reaches the ledger. Production code passes none.
public final class StorageFaults: @unchecked Sendable {
    public enum Fault: Sendable {
        case diskFull
        case fsyncFailure
    }

    private let lock = NSLock()
    private var pending: [Fault] = []
    public private(set) var tripped = 0

    public init() {}

    /// The next `count` blob writes fail with `fault`.
    public func failNext(_ count: Int, with fault: Fault) {
        lock.withLock { pending += Array(repeating: fault, count: count) }
    }

    /// Called before a blob is made durable; throws the injected error, if any.
    func check(_ path: String) throws(TemoinError) {
        let fault: Fault? = lock.withLock {
            guard !pending.isEmpty else { return nil }
            tripped += 1
            return pending.removeFirst()
        }
        switch fault {
        case .diskFull: throw FileSystem.fail("write", path, errno: ENOSPC)
        case .fsyncFailure: throw FileSystem.fail("fsync", path, errno: EIO)
        case nil: return
        }
    }
}

/// Tests only: stops a resumable command (`temoin migrate`, an erasure) right after its k-th step,
/// as a crash there would, so that a test can check what a crash at every step leaves behind.
/// Production code passes none.
public final class CrashPoints: @unchecked Sendable {
    private let lock = NSLock()
    private let stopAfter: Int
    private var steps: [String] = []

    /// `stopAfter`: the number of the step (from 1) after which the command stops.
    public init(stopAfter: Int) {
        self.stopAfter = stopAfter
    }

    /// The steps completed so far, in order.
    public var passed: [String] { lock.withLock { steps } }

    /// Called by the command after each step; throws `test.stopped` after the chosen one.
    public func step(_ name: String) throws(TemoinError) {
        let count = lock.withLock {
            steps.append(name)
            return steps.count
        }
        if count == stopAfter {
            throw TemoinError(.testStopped, "stopped after step \(count) (\(name)), as a crash there would")
        }
    }
}
