import Foundation

/// A few threads of their own for work that blocks on the disk (blob writes wait for fsync), so
/// it never holds one of the threads of Swift's cooperative pool, where audio is encoded and
/// requests are served. `run` suspends the caller until its job is done on one of these threads.
/// The threads end when the last reference to the pool goes (after the jobs already queued).
public final class BlockingIO: Sendable {
    private let queue = JobQueue()

    /// `niceness`: how much lower than the process these threads run (Linux thread niceness, 0–19):
    /// staff work that must never slow the phones' receipts runs at 10.
    public init(threads: Int, name: String, niceness: Int32 = 0) {
        for i in 0..<max(1, threads) {
            let thread = Thread { [queue] in
                lowerPriority(by: niceness)
                queue.work()
            }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    deinit { queue.stop() }

    /// Queues `job` on one of the pool's threads without waiting for it.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        queue.enqueue(job)
    }

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

/// Lowers the calling thread's CPU priority (Linux: `setpriority` on the thread's own id). A thread
/// that cannot be lowered runs at normal priority: only scheduling changes, never results.
func lowerPriority(by niceness: Int32) {
    guard niceness > 0 else { return }
    #if os(Linux)
    // With NPTL the nice value is per thread: who = 0 is the calling thread alone.
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    #endif
}

/// The CPUs this process may run on.
public enum UsableCPUs {
    /// How many CPUs the process may run on: its affinity (`taskset`, a cpuset), read from
    /// `/proc/self/status`, which `ProcessInfo.activeProcessorCount` ignores; all online CPUs when
    /// it cannot be read.
    public static var count: Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
            let n = count(list: line.dropFirst("Cpus_allowed_list:".count))
        {
            return n
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// The number of CPUs in a Linux CPU list (`0-3,8,10-11`); nil if it is not one.
    public static func count(list: some StringProtocol) -> Int? {
        let text = list.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        var total = 0
        for range in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                low >= 0, low <= high
            else { return nil }
            total += high - low + 1
        }
        return total
    }
}
