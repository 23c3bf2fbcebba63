internal import CTemoinSQLite
import TemoinCore

/// `SQLITE_TRANSIENT`: a macro Swift cannot import; tells SQLite to copy bound bytes.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not thread-safe: each owner (the writer actor, a reader) has its own.
/// SQL text may be logged in errors; bound values never are.
final class SQLiteConnection {
    let handle: OpaquePointer

    /// Rows changed by the last statement run.
    var changes: Int { Int(sqlite3_changes(handle)) }
    let path: String
    private var statements: [String: Statement] = [:]
    /// What a hook installed on this connection points to (`WALCheckpointer`): kept alive as long
    /// as the connection may call it.
    var walHookOwner: AnyObject?

    init(path: String, readOnly: Bool = false, create: Bool = false) throws(TemoinError) {
        var db: OpaquePointer?
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw TemoinError(.sqliteOpen, "cannot open the ledger database: \(message)", context: path)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 10_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The one place where SQLite result codes become errors.
    func error(_ rc: Int32, _ what: String) -> TemoinError {
        let message = String(cString: sqlite3_errmsg(handle))
        let primary = rc & 0xff
        let category: TemoinError.Category =
            primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? .invalidEvidence : .environment
        let code: ErrorCode
        switch primary {
        case SQLITE_FULL: code = .sqliteDiskFull
        case SQLITE_IOERR: code = .sqliteIoError
        case SQLITE_BUSY, SQLITE_LOCKED: code = .sqliteBusy
        case SQLITE_CONSTRAINT: code = .sqliteConstraint
        case SQLITE_CORRUPT, SQLITE_NOTADB: code = .sqliteCorrupt
        case SQLITE_READONLY: code = .sqliteReadOnly
        default: code = .sqliteError
        }
        return TemoinError(code, category: category, "SQLite failed to \(what): \(message) (code \(rc))", context: path)
    }

    /// Runs SQL without results. Transaction control first resets every cached statement:
    /// a finished read must not keep a transaction open or block a COMMIT.
    func execute(_ sql: String) throws(TemoinError) {
        if sql.hasPrefix("BEGIN") || sql.hasPrefix("COMMIT") || sql.hasPrefix("ROLLBACK") {
            for s in statements.values { sqlite3_reset(s.handle) }
        }
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            sqlite3_free(message)
            throw error(rc, "execute '\(sql.prefix(60))'")
        }
    }

    /// How long a statement waits for a lock held by another connection before `sqlite.busy`.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// A cached prepared statement, reset and cleared of bindings.
    func statement(_ sql: String) throws(TemoinError) -> Statement {
        if let s = statements[sql] {
            s.reset()
            return s
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "prepare '\(sql.prefix(60))'") }
        let s = Statement(connection: self, handle: stmt)
        statements[sql] = s
        return s
    }

    /// Reads a pragma's value as text.
    func pragma(_ name: String) throws(TemoinError) -> String? {
        let s = try statement("PRAGMA \(name)")
        defer { sqlite3_reset(s.handle) }
        guard try s.step() else { return nil }
        return s.text(0)
    }

    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }
}

/// A prepared statement. Columns and bindings are 0-based and 1-based as in SQLite.
final class Statement {
    unowned let connection: SQLiteConnection
    let handle: OpaquePointer

    init(connection: SQLiteConnection, handle: OpaquePointer) {
        self.connection = connection
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @discardableResult
    func bind(_ values: SQLValue...) throws(TemoinError) -> Statement {
        for (i, v) in values.enumerated() {
            let rc: Int32
            switch v {
            case .int(let x): rc = sqlite3_bind_int64(handle, Int32(i + 1), x)
            case .text(let s): rc = sqlite3_bind_text(handle, Int32(i + 1), s, -1, transient)
            case .blob(let b):
                rc = b.withUnsafeBytes {
                    sqlite3_bind_blob(handle, Int32(i + 1), $0.baseAddress, Int32($0.count), transient)
                }
            case .null: rc = sqlite3_bind_null(handle, Int32(i + 1))
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, "bind a value") }
        }
        return self
    }

    /// Steps once; true if a row is available.
    func step() throws(TemoinError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = connection.error(rc, "run '\(String(cString: sqlite3_sql(handle)).prefix(60))'")
            sqlite3_reset(handle)
            throw e
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(TemoinError) {
        _ = try step()
        sqlite3_reset(handle)
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// A column that holds an index, a size or a count: a negative value means the database was
    /// changed behind the ledger's back, reported as damage rather than trapping.
    func count(_ column: Int32) throws(TemoinError) -> UInt64 {
        let v = sqlite3_column_int64(handle, column)
        guard let u = UInt64(exactly: v) else {
            throw TemoinError(.ledgerCorrupt, "the ledger database is damaged: a negative index or size (\(v))")
        }
        return u
    }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: p)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

enum SQLValue {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null
}
