//! Storage of requests and witnessed log heads, behind a trait so other databases can
//! follow; SQLite (WAL) is the one shipped.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::approval::{Grant, NewRequest, Review, Status, WitnessedHead, WitnessedLog};

/// Everything the service keeps about one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequest {
    pub id: String,
    pub requester: String,
    pub request: NewRequest,
    pub status: Status,
    pub created_at: String,
    pub expires_at: String,
    /// Expiry as Unix seconds (the server's clock decides).
    pub expires_unix: i64,
    pub reviews: Vec<Review>,
    pub grant: Option<Grant>,
    pub consumed_at: Option<String>,
    /// How the request's log head contradicts the witness, when it does (shown to
    /// reviewers).
    #[serde(default)]
    pub log_head_conflict: Option<String>,
}

/// A witnessed log as the store keys it, with its chain and latest head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessLog {
    pub id: i64,
    pub chain_id: String,
    pub latest: Option<WitnessedHead>,
}

/// Which log: host, local user and path.
#[derive(Clone, Copy, Debug)]
pub struct LogKey<'a> {
    pub host: &'a str,
    pub user: &'a str,
    pub path: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// Persistent state of the service.
pub trait Store: Send + Sync {
    fn insert(&self, request: &StoredRequest) -> Result<(), StoreError>;
    fn get(&self, id: &str) -> Result<Option<StoredRequest>, StoreError>;
    fn update(&self, request: &StoredRequest) -> Result<(), StoreError>;
    fn with_status(&self, status: Status) -> Result<Vec<StoredRequest>, StoreError>;
    fn by_requester_digest(
        &self,
        requester: &str,
        digest: &str,
    ) -> Result<Vec<StoredRequest>, StoreError>;
    /// The witnessed log `key`, if any.
    fn witness_log(&self, key: LogKey<'_>) -> Result<Option<WitnessLog>, StoreError>;
    /// The record hashes the witness holds for `log` with `seq` in `from..=to`, in order.
    fn witness_hashes(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError>;
    /// In one transaction: creates the log `key` of `chain_id` when it is new, adds the
    /// record hashes, and records `head` (the last of them) as a witnessed head.
    fn witness_extend(
        &self,
        key: LogKey<'_>,
        chain_id: &str,
        records: &[(u64, String)],
        head: &WitnessedHead,
    ) -> Result<(), StoreError>;
    /// Every witnessed log of one host and user (only the one at `path`, when given), with
    /// every head.
    fn witnessed_logs(
        &self,
        host: &str,
        user: &str,
        path: Option<&str>,
    ) -> Result<Vec<WitnessedLog>, StoreError>;
    /// Remembers a chat message posted about a request (to update it later).
    fn put_message(
        &self,
        request_id: &str,
        kind: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError>;
    /// The chat messages posted about a request: (kind, channel, message id).
    fn messages(&self, request_id: &str) -> Result<Vec<(String, String, String)>, StoreError>;
}

/// SQLite in WAL mode; one connection behind a mutex (every operation is short).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS requests (
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
        )?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn query(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(sql)?;
        let bodies = statement
            .query_map(args, |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }
}

impl Store for SqliteStore {
    fn insert(&self, r: &StoredRequest) -> Result<(), StoreError> {
        let body = serde_json::to_string(r)?;
        self.conn().execute(
            "INSERT INTO requests (id, requester, digest, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.id, r.requester, r.request.digest, r.status.as_str(), body],
        )?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM requests WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(StoreError::from))
            .transpose()
    }

    fn update(&self, r: &StoredRequest) -> Result<(), StoreError> {
        let body = serde_json::to_string(r)?;
        self.conn().execute(
            "UPDATE requests SET status = ?2, body = ?3 WHERE id = ?1",
            params![r.id, r.status.as_str(), body],
        )?;
        Ok(())
    }

    fn with_status(&self, status: Status) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE status = ?1 ORDER BY id",
            &[&status.as_str()],
        )
    }

    fn by_requester_digest(
        &self,
        requester: &str,
        digest: &str,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE requester = ?1 AND digest = ?2 ORDER BY id DESC",
            &[&requester, &digest],
        )
    }

    fn put_message(
        &self,
        request_id: &str,
        kind: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO messages (request_id, kind, channel, ts) VALUES (?1, ?2, ?3, ?4)",
            params![request_id, kind, channel, ts],
        )?;
        Ok(())
    }

    fn messages(&self, request_id: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached("SELECT kind, channel, ts FROM messages WHERE request_id = ?1")?;
        let rows = statement
            .query_map(params![request_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn witness_log(&self, key: LogKey<'_>) -> Result<Option<WitnessLog>, StoreError> {
        let conn = self.conn();
        let log: Option<(i64, String)> = conn
            .query_row(
                "SELECT id, chain_id FROM witness_logs WHERE host = ?1 AND user = ?2 AND path = ?3",
                params![key.host, key.user, key.path],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((id, chain_id)) = log else {
            return Ok(None);
        };
        let latest = conn
            .query_row(
                "SELECT seq, hash, at, identity FROM witness_heads WHERE log = ?1 ORDER BY seq DESC LIMIT 1",
                params![id],
                head_row,
            )
            .optional()?;
        Ok(Some(WitnessLog {
            id,
            chain_id,
            latest,
        }))
    }

    fn witness_hashes(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT seq, hash FROM witness_records WHERE log = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
        )?;
        let rows = statement
            .query_map(params![log, to_sql(from), to_sql(to)], |row| {
                Ok((
                    row.get::<_, i64>(0)? as u64,
                    hex::encode(row.get::<_, Vec<u8>>(1)?),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn witness_extend(
        &self,
        key: LogKey<'_>,
        chain_id: &str,
        records: &[(u64, String)],
        head: &WitnessedHead,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO witness_logs (host, user, path, chain_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (host, user, path) DO NOTHING",
            params![key.host, key.user, key.path, chain_id],
        )?;
        let log: i64 = tx.query_row(
            "SELECT id FROM witness_logs WHERE host = ?1 AND user = ?2 AND path = ?3",
            params![key.host, key.user, key.path],
            |row| row.get(0),
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO witness_records (log, seq, hash) VALUES (?1, ?2, ?3)",
            )?;
            for (seq, hash) in records {
                let bytes = hex::decode(hash).map_err(|e| StoreError(e.to_string()))?;
                insert.execute(params![log, to_sql(*seq), bytes])?;
            }
        }
        tx.execute(
            "INSERT INTO witness_heads (log, seq, hash, at, identity) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![log, to_sql(head.seq), head.hash, head.at, head.identity],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn witnessed_logs(
        &self,
        host: &str,
        user: &str,
        path: Option<&str>,
    ) -> Result<Vec<WitnessedLog>, StoreError> {
        let conn = self.conn();
        let mut logs_query = conn.prepare_cached(
            "SELECT id, path, chain_id FROM witness_logs
             WHERE host = ?1 AND user = ?2 AND (?3 IS NULL OR path = ?3) ORDER BY path",
        )?;
        let logs = logs_query
            .query_map(params![host, user, path], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut heads_query = conn.prepare_cached(
            "SELECT seq, hash, at, identity FROM witness_heads WHERE log = ?1 ORDER BY seq",
        )?;
        let mut out = Vec::new();
        for (id, path, chain_id) in logs {
            let heads = heads_query
                .query_map(params![id], head_row)?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(WitnessedLog {
                host: host.to_owned(),
                user: user.to_owned(),
                path,
                chain_id,
                heads,
            });
        }
        Ok(out)
    }
}

/// SQLite integers are signed; a `seq` past `i64::MAX` cannot occur in a real log.
fn to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn head_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WitnessedHead> {
    Ok(WitnessedHead {
        seq: row.get::<_, i64>(0)? as u64,
        hash: row.get(1)?,
        at: row.get(2)?,
        identity: row.get(3)?,
    })
}
