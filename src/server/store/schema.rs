//! Versioned schema migrations, one list for both databases. A store runs the ones its
//! database has not had, in order, each in its own transaction, under a lock (PostgreSQL:
//! an advisory lock, so replicas starting together are safe; SQLite: `BEGIN IMMEDIATE`).
//! A database whose version is newer than [`LATEST`] is refused: an older gatekeep would
//! misread it.

/// One migration: its version and its statements for each database.
pub struct Migration {
    pub version: i64,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// The advisory lock key migrations run under (PostgreSQL).
pub const LOCK_KEY: i64 = 0x6761_7465_6b65_6570; // "gatekeep"

pub const MIGRATIONS: &[Migration] = &[
    // The tables of the single-process service (a SQLite database made before versions
    // were recorded already has them).
    Migration {
        version: 1,
        sqlite: "CREATE TABLE IF NOT EXISTS requests (
                id TEXT PRIMARY KEY,
                requester TEXT NOT NULL,
                digest TEXT NOT NULL,
                status TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS requests_status ON requests(status);
            CREATE INDEX IF NOT EXISTS requests_mine ON requests(requester, digest);
            CREATE TABLE IF NOT EXISTS messages (
                request_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                channel TEXT NOT NULL,
                ts TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS witness_logs (
                id INTEGER PRIMARY KEY,
                host TEXT NOT NULL,
                user TEXT NOT NULL,
                path TEXT NOT NULL,
                chain_id TEXT NOT NULL,
                UNIQUE (host, user, path)
            );
            CREATE TABLE IF NOT EXISTS witness_records (
                log INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                hash BLOB NOT NULL,
                PRIMARY KEY (log, seq)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS witness_heads (
                log INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL,
                at TEXT NOT NULL,
                identity TEXT NOT NULL,
                PRIMARY KEY (log, seq)
            );",
        postgres: "CREATE TABLE requests (
                id TEXT PRIMARY KEY,
                requester TEXT NOT NULL,
                digest TEXT NOT NULL,
                status TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX requests_status ON requests(status);
            CREATE INDEX requests_mine ON requests(requester, digest);
            CREATE TABLE messages (
                request_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                channel TEXT NOT NULL,
                ts TEXT NOT NULL
            );
            CREATE TABLE witness_logs (
                id BIGSERIAL PRIMARY KEY,
                host TEXT NOT NULL,
                \"user\" TEXT NOT NULL,
                path TEXT NOT NULL,
                chain_id TEXT NOT NULL,
                UNIQUE (host, \"user\", path)
            );
            CREATE TABLE witness_records (
                log BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                hash BYTEA NOT NULL,
                PRIMARY KEY (log, seq)
            );
            CREATE TABLE witness_heads (
                log BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL,
                at TEXT NOT NULL,
                identity TEXT NOT NULL,
                PRIMARY KEY (log, seq)
            );",
    },
    // Several replicas: expiry and idempotency keys as columns, the outbox, web
    // sessions, the signing key's id.
    Migration {
        version: 2,
        sqlite: "ALTER TABLE requests ADD COLUMN expires_unix INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN idempotency_key TEXT;
            UPDATE requests SET expires_unix = CAST(json_extract(body, '$.expires_unix') AS INTEGER);
            CREATE UNIQUE INDEX requests_idempotency ON requests(requester, idempotency_key);
            CREATE INDEX requests_due ON requests(status, expires_unix);
            CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                request_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at TEXT NOT NULL,
                request TEXT NOT NULL
            );
            CREATE TABLE deliveries (
                event_seq INTEGER NOT NULL,
                request_id TEXT NOT NULL,
                sink TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                due_unix INTEGER NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                done_unix INTEGER,
                error TEXT,
                PRIMARY KEY (event_seq, sink)
            );
            CREATE INDEX deliveries_open ON deliveries(done_unix, due_unix);
            CREATE INDEX deliveries_order ON deliveries(request_id, sink, done_unix);
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user TEXT NOT NULL,
                token_sha256 TEXT NOT NULL,
                csrf TEXT NOT NULL,
                expires_unix INTEGER NOT NULL
            );
            CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );",
        postgres: "ALTER TABLE requests ADD COLUMN expires_unix BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN idempotency_key TEXT;
            CREATE UNIQUE INDEX requests_idempotency ON requests(requester, idempotency_key);
            CREATE INDEX requests_due ON requests(status, expires_unix);
            CREATE TABLE events (
                seq BIGSERIAL PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                request_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at TEXT NOT NULL,
                request TEXT NOT NULL
            );
            CREATE TABLE deliveries (
                event_seq BIGINT NOT NULL,
                request_id TEXT NOT NULL,
                sink TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                due_unix BIGINT NOT NULL,
                lease_owner TEXT,
                lease_until BIGINT,
                done_unix BIGINT,
                error TEXT,
                PRIMARY KEY (event_seq, sink)
            );
            CREATE INDEX deliveries_open ON deliveries(done_unix, due_unix);
            CREATE INDEX deliveries_order ON deliveries(request_id, sink, done_unix);
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                \"user\" TEXT NOT NULL,
                token_sha256 TEXT NOT NULL,
                csrf TEXT NOT NULL,
                expires_unix BIGINT NOT NULL
            );
            CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );",
    },
    // Windows, escalation and reminders, break-glass reviews: columns the sweeper and
    // the window lookup find rows by.
    Migration {
        version: 3,
        sqlite: "ALTER TABLE requests ADD COLUMN window_until INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN next_unix INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN review_open INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX requests_windows ON requests(requester, window_until);
            CREATE INDEX requests_next ON requests(next_unix);
            CREATE INDEX requests_review_open ON requests(review_open);",
        postgres: "ALTER TABLE requests ADD COLUMN window_until BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN next_unix BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE requests ADD COLUMN review_open BIGINT NOT NULL DEFAULT 0;
            CREATE INDEX requests_windows ON requests(requester, window_until);
            CREATE INDEX requests_next ON requests(next_unix);
            CREATE INDEX requests_review_open ON requests(review_open);",
    },
    // The service's own audit records: one hash chain for every replica.
    Migration {
        version: 4,
        sqlite: "CREATE TABLE audit_records (
                seq INTEGER PRIMARY KEY,
                line TEXT NOT NULL
            );",
        postgres: "CREATE TABLE audit_records (
                seq BIGINT PRIMARY KEY,
                line TEXT NOT NULL
            );",
    },
];

/// The newest schema this build knows.
pub const LATEST: i64 = 4;

/// The error for a database made by a newer gatekeep.
pub fn too_new(found: i64) -> super::StoreError {
    super::StoreError(format!(
        "the database's schema is version {found}, newer than this gatekeep knows ({LATEST}); \
         upgrade gatekeep on this replica before starting it"
    ))
}
