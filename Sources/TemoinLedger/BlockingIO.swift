import Foundation

/// A few threads of their own for work that blocks on the disk (blob writes wait for fsync), so
/// it never holds one of the threads of Swift's cooperative pool, where audio is encoded and
/// requests are served. `run` suspends the caller until its job is done on one of these threads.
/// The threads end when the last reference to the pool goes (after the jobs already queued).
public final class BlockingIO: Sendable {
    private let queue = JobQueue()

    public init(threads: Int, name: String) {
        for i in 0..<max(1, threads) {
            let thread = Thread { [queue] in queue.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    deinit { queue.stop() }

    /// Runs `body` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.enqueue {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}

/// Jobs run in order by the threads that call `work()` until `stop()`; the jobs already queued still
/// run. Shared by `BlockingIO` (a few threads) and `ThreadExecutor` (one).
final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false

    func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    func work() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
