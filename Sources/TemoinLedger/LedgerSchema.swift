import TemoinCore

/// The ledger's tables. Migrations are append-only: a shipped step is never edited.
///
/// `entries`, `nodes` and `checkpoints` refuse UPDATE and DELETE through triggers; with
/// `recursive_triggers=ON` the DELETE trigger also stops INSERT OR REPLACE. Entries must be
/// inserted at the next index.
enum LedgerSchema {
    static let migrations: [String] = [
        """
        CREATE TABLE entries (
            idx INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            alert TEXT,
            subject TEXT,
            leaf_hash BLOB NOT NULL,
            bytes BLOB NOT NULL
        );
        CREATE INDEX entries_by_alert ON entries(alert, idx) WHERE alert IS NOT NULL;
        CREATE INDEX entries_by_subject ON entries(subject, kind) WHERE subject IS NOT NULL;
        CREATE TABLE nodes (
            level INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)
        ) WITHOUT ROWID;
        CREATE TABLE checkpoints (
            size INTEGER PRIMARY KEY,
            root BLOB NOT NULL,
            note BLOB NOT NULL,
            time TEXT NOT NULL
        );
        CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
            BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
        CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
            BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
        CREATE TRIGGER entries_append_at_end BEFORE INSERT ON entries
            WHEN NEW.idx != (SELECT COALESCE(MAX(idx), -1) + 1 FROM entries)
            BEGIN SELECT RAISE(ABORT, 'ledger entries are appended at the next index only'); END;
        CREATE TRIGGER nodes_append_only_update BEFORE UPDATE ON nodes
            BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only'); END;
        CREATE TRIGGER nodes_append_only_delete BEFORE DELETE ON nodes
            BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only'); END;
        CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
        CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
        """,
        // 2: the encoder state after each alert's last committed chunk (not evidence: a cache
        // that lets a restart resume the Opus stream exactly). Written with the chunk's entry.
        """
        CREATE TABLE codec_states (
            alert TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            codec TEXT NOT NULL,
            library TEXT NOT NULL,
            state BLOB NOT NULL
        );
        """,
        // 3: what stays out of the ledger: device labels, location fixes (erasable), quarantine.
        """
        CREATE TABLE devices (
            device TEXT PRIMARY KEY,
            label TEXT
        );
        CREATE TABLE locations (
            entry INTEGER PRIMARY KEY,
            alert TEXT NOT NULL,
            salt BLOB NOT NULL,
            fix TEXT NOT NULL
        );
        CREATE INDEX locations_by_alert ON locations(alert);
        """,
        // 4: where libopus was mapped when an encoder state was saved, to relocate its pointers
        // to libopus's static tables in a new process.
        """
        ALTER TABLE codec_states ADD COLUMN library_start INTEGER;
        ALTER TABLE codec_states ADD COLUMN library_end INTEGER;
        """,
        // 5: encoder states are no longer kept. A row could be changed by whoever can write the
        // database, unseen by the audit (it is not evidence), and silently spoil every later
        // chunk of its alert; and a libopus state restored in another process or build can crash
        // or mis-encode. A restart now primes a fresh encoder from the ledger's own audio.
        """
        DROP TABLE codec_states;
        """,
        // 6: what each stored device statement said (its key, `StatementKey`: the statement's
        // bytes without the signature, hashed), so that a retried statement is found by one
        // indexed read whatever its signature; not evidence (the audit re-derives every key).
        // Entries by alert and kind, so "the close of this alert" reads one row. Ledgers written
        // before get their keys from `StatementKey.backfill`, in the same transaction.
        """
        CREATE TABLE statements (
            key BLOB PRIMARY KEY,
            entry INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX entries_by_alert_kind ON entries(alert, kind, idx) WHERE alert IS NOT NULL;
        """,
        // 7: staff accounts (not evidence: each row is mirrored by its `account.created` and
        // `account.revoked` entries, which the audit compares), and entries by kind for listings.
        // Only a token's SHA-256 is stored; a name is unique among the accounts not revoked.
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            token_hash BLOB NOT NULL UNIQUE,
            created_entry INTEGER NOT NULL,
            revoked_entry INTEGER
        );
        CREATE UNIQUE INDEX accounts_active_name ON accounts(name) WHERE revoked_entry IS NULL;
        CREATE INDEX entries_by_kind ON entries(kind, idx);
        """,
        // 8: each alert's AES-256 key, wrapped by the master key kept outside the database (not
        // evidence: destroying a row is how an alert is erased, crypto-shredding; Docs/storage.md).
        // `master` names the master key that wrapped it. (IF NOT EXISTS: a ledger whose
        // user_version was set back by hand keeps its keys.)
        """
        CREATE TABLE IF NOT EXISTS alert_keys (
            alert TEXT PRIMARY KEY,
            wrapped BLOB NOT NULL,
            master TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
        // 9: the fan-out (Docs/fanout.md), none of it evidence. Each device's contact key, wrapped
        // by the master key, and the person's name as her contacts know her, sealed under it; the
        // contacts, sealed under it (their numbers' salted hashes in clear, for the audit's
        // comparison with `contacts.changed`); the outbox, one text per alert and contact, written
        // with `alert.opened`; the live-location page's capability links, by their token's SHA-256.
        // (IF NOT EXISTS, as 8.)
        """
        CREATE TABLE IF NOT EXISTS device_keys (
            device TEXT PRIMARY KEY,
            wrapped BLOB NOT NULL,
            master TEXT NOT NULL,
            person BLOB
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS contacts (
            id TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            position INTEGER NOT NULL,
            sealed BLOB NOT NULL,
            number_sha256 BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX IF NOT EXISTS contacts_by_device ON contacts(device, position);
        CREATE TABLE IF NOT EXISTS outbox (
            alert TEXT NOT NULL,
            contact TEXT NOT NULL,
            device TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt INTEGER NOT NULL,
            created INTEGER NOT NULL,
            sealed BLOB,
            message_sha256 BLOB,
            number_sha256 BLOB,
            last_error TEXT,
            PRIMARY KEY (alert, contact)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt);
        CREATE INDEX IF NOT EXISTS outbox_by_device ON outbox(device, created);
        CREATE TABLE IF NOT EXISTS links (
            token_sha256 BLOB PRIMARY KEY,
            alert TEXT NOT NULL,
            contact TEXT NOT NULL,
            created INTEGER NOT NULL,
            revoked_entry INTEGER,
            views INTEGER NOT NULL DEFAULT 0,
            first_viewed INTEGER,
            last_viewed INTEGER
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX IF NOT EXISTS links_by_alert ON links(alert, contact);
        """,
    ]

    /// Work a migration needs beyond SQL (computing hashes), run right after its step, in the
    /// same transaction. Keyed by the migration's number (1-based).
    static func backfill(after migration: Int, _ db: SQLiteConnection) throws(TemoinError) {
        if migration == 6 { try StatementKey.backfill(db) }
    }

    /// Sets and reads back the pragmas the ledger's guarantees depend on; refuses to run otherwise.
    static func configure(_ db: SQLiteConnection, readOnly: Bool) throws(TemoinError) {
        if !readOnly {
            try db.execute("PRAGMA journal_mode=WAL")
            // A deleted row (a destroyed alert key, an erased fix) is overwritten with zeros, not
            // left in a free page.
            try db.execute("PRAGMA secure_delete=ON")
        }
        try db.execute("PRAGMA synchronous=FULL")
        try db.execute("PRAGMA recursive_triggers=ON")
        let journal = try db.pragma("journal_mode")
        let synchronous = try db.pragma("synchronous")
        let recursive = try db.pragma("recursive_triggers")
        guard journal?.lowercased() == "wal", synchronous == "2", recursive == "1" else {
            throw TemoinError(
                .ledgerUnsafeSettings,
                "the database does not run in WAL mode with synchronous=FULL and recursive triggers "
                    + "(journal_mode=\(journal ?? "?"), synchronous=\(synchronous ?? "?"), "
                    + "recursive_triggers=\(recursive ?? "?"))",
                context: db.path)
        }
    }

    /// Brings a writable database to the latest schema, in one transaction.
    static func migrate(_ db: SQLiteConnection) throws(TemoinError) {
        guard let versionText = try db.pragma("user_version"), let version = Int(versionText) else {
            throw TemoinError(.ledgerSchema, "cannot read the schema version", context: db.path)
        }
        guard version <= migrations.count else {
            throw TemoinError(
                .ledgerSchemaTooNew,
                "the database schema (\(version)) is newer than this program knows (\(migrations.count))",
                context: db.path)
        }
        guard version < migrations.count else { return }
        try db.execute("BEGIN IMMEDIATE")
        do throws(TemoinError) {
            for (number, step) in zip((version + 1)..., migrations[version...]) {
                try db.execute(step)
                try backfill(after: number, db)
            }
            try db.execute("PRAGMA user_version=\(migrations.count)")
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }
}
