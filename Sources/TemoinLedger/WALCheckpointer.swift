internal import CTemoinSQLite
import Synchronization
import TemoinCore

/// SQLite's automatic checkpoint, moved off the commit path. By default the commit that takes the
/// write-ahead log past 1 000 pages also copies them into the database file and fsyncs it, inside
/// that commit: every few seconds of phones streaming, one group of receipts waited for it. Here the
/// writer's connection only counts the log's pages (`sqlite3_wal_hook`, which also turns the
/// automatic checkpoint off), and past the same threshold a thread of its own runs a `PASSIVE`
/// checkpoint on a connection of its own: it never waits for readers or the writer, and the writer
/// goes on appending to the log meanwhile. Durability is unchanged: a commit is durable once its
/// log frames are fsynced (`synchronous=FULL`); the checkpoint only bounds the log's size.
final class WALCheckpointer: Sendable {
    /// Pages in the log past which a checkpoint is started (SQLite's own default).
    static let threshold = 1000
    /// Pages past which the writer checkpoints itself between two commits, as SQLite did: when
    /// commits never pause, a background checkpoint copies what was there when it started and
    /// the log can only be reset when nothing was appended meanwhile.
    static let limit = 4 * threshold

    private let path: String
    private let pages = Atomic<Int>(0)
    private let scheduled = Atomic<Bool>(false)
    /// Held while a checkpoint runs: the writer's own (TRUNCATE, after an erasure) waits for it.
    private let running = Mutex<Void>(())
    private let thread = BlockingIO(threads: 1, name: "temoin-checkpoint")
    /// Checkpoints run (tests).
    let runs = Atomic<Int>(0)

    init(path: String) {
        self.path = path
    }

    /// Counts the log's pages after each commit on `db` (the writer's connection), which keeps
    /// this object alive as long as it may call the hook.
    func install(on db: SQLiteConnection) {
        db.walHookOwner = self
        sqlite3_wal_hook(
            db.handle,
            { context, _, _, pages in
                Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue().pages.store(
                    Int(pages), ordering: .relaxed)
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Whether the log is past `limit`: the writer then checkpoints itself (`exclusive`).
    var mustCatchUp: Bool { pages.load(ordering: .relaxed) >= Self.limit }

    /// After a commit: starts a checkpoint if the log is past the threshold and none is under way.
    func committed() {
        guard pages.load(ordering: .relaxed) >= Self.threshold,
            scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        thread.submit { [self] in
            defer { scheduled.store(false, ordering: .releasing) }
            running.withLock { _ in
                // A failure (the folder gone, a busy reader) is left to the next checkpoint: the
                // log only grows meanwhile, nothing committed is at stake.
                guard let db = try? SQLiteConnection(path: path) else { return }
                try? db.execute("PRAGMA synchronous=FULL")
                if (try? db.execute("PRAGMA wal_checkpoint(PASSIVE)")) != nil {
                    runs.add(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Runs `body` (a checkpoint of the writer's own) unless a background checkpoint is running
    /// (the writer never waits for one: nil).
    func exclusive<T>(_ body: () throws(TemoinError) -> T) throws(TemoinError) -> T? {
        try running.withLockIfAvailable { _ throws(TemoinError) in try body() }
    }
}
