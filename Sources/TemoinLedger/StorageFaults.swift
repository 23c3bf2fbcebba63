import Foundation
import TemoinCore

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
