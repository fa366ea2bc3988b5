//! Storage of requests and witnessed log heads, behind a trait so other databases can
//! follow; SQLite (WAL) is the one shipped.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::approval::{Grant, LogHead, NewRequest, Review, Status};

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
    fn witness(
        &self,
        host: &str,
        user: &str,
        chain_id: &str,
    ) -> Result<Option<LogHead>, StoreError>;
    /// Records a head; only the identity that first reported a chain may move it, and only
    /// forward. Returns whether it was stored.
    fn put_witness(
        &self,
        host: &str,
        user: &str,
        head: &LogHead,
        identity: &str,
    ) -> Result<bool, StoreError>;
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
    /// Every chain witnessed for one host and user.
    fn witnesses(&self, host: &str, user: &str) -> Result<Vec<LogHead>, StoreError>;
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
            CREATE TABLE IF NOT EXISTS witness (
                host TEXT NOT NULL,
                user TEXT NOT NULL,
                chain_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL,
                identity TEXT NOT NULL,
                PRIMARY KEY (host, user, chain_id)
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

    fn witness(
        &self,
        host: &str,
        user: &str,
        chain_id: &str,
    ) -> Result<Option<LogHead>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq, hash FROM witness WHERE host = ?1 AND user = ?2 AND chain_id = ?3",
                params![host, user, chain_id],
                |row| {
                    Ok(LogHead {
                        chain_id: chain_id.to_owned(),
                        seq: row.get::<_, i64>(0)? as u64,
                        hash: row.get(1)?,
                    })
                },
            )
            .optional()?)
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

    fn witnesses(&self, host: &str, user: &str) -> Result<Vec<LogHead>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached("SELECT chain_id, seq, hash FROM witness WHERE host = ?1 AND user = ?2 ORDER BY chain_id")?;
        let heads = statement
            .query_map(params![host, user], |row| {
                Ok(LogHead {
                    chain_id: row.get(0)?,
                    seq: row.get::<_, i64>(1)? as u64,
                    hash: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(heads)
    }

    fn put_witness(
        &self,
        host: &str,
        user: &str,
        head: &LogHead,
        identity: &str,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "INSERT INTO witness (host, user, chain_id, seq, hash, identity) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (host, user, chain_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
             WHERE excluded.seq >= witness.seq AND excluded.identity = witness.identity",
            params![host, user, head.chain_id, head.seq as i64, head.hash, identity],
        )?;
        Ok(changed > 0)
    }
}
