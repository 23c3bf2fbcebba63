import Foundation

/// A serial executor on a thread of its own, for an actor whose jobs block on the disk (the
/// ledger writer's commits wait for fsync): they then never hold one of the few threads of
/// Swift's cooperative pool, where audio is encoded.
final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let queue = JobQueue()

    init(name: String) {
        let thread = Thread { [queue] in queue.work() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.enqueue { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread end once the jobs already queued have run.
    func stop() {
        queue.stop()
    }
}

/// A task executor on a thread of its own: async work that blocks on the disk or the CPU for long
/// (a staff export reads a whole alert's blobs and muxes its recording) runs there through
/// `withTaskExecutorPreference`, so it never holds a thread of the cooperative pool where phones'
/// audio is encoded. Jobs run one at a time, in order.
public final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = JobQueue()

    /// `niceness`: as `BlockingIO`'s (10 for staff work that must not slow the phones).
    public init(name: String, niceness: Int32 = 0) {
        let thread = Thread { [queue] in
            lowerPriority(by: niceness)
            queue.work()
        }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.enqueue { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Lets the thread end once the jobs already queued have run.
    public func stop() {
        queue.stop()
    }
}
