//! The embedded store: SQLite in WAL mode, one connection used from blocking threads.
//! One replica only: a second process on the same file would never be woken.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::audit::{self, Last};
use super::schema::{LATEST, MIGRATIONS, too_new};
use super::{
    Delivery, Filed, LogKey, PairChanged, PairRule, Rule, Session, Store, StoreError,
    StoredRequest, Waiters, WitnessLog, to_sql,
};
use crate::approval::{Status, WitnessedHead, WitnessedLog};
use crate::server::lifecycle::{Refusal, Transition, stamp};

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    waiters: Arc<Waiters>,
    sinks: super::Sinks,
    replica: audit::Replica,
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// This machine's clock (which tests of a debug build may set, like the audit log's).
fn now() -> jiff::Timestamp {
    crate::audit::now()
}

/// Runs the migrations the database has not had.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: Option<i64> = tx
        .query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    let found = found.unwrap_or(0);
    if found > LATEST {
        return Err(too_new(found));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(migration.sqlite)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            params![migration.version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The events of `transition` as outbox rows, one delivery per receiver.
fn write_events(
    tx: &rusqlite::Transaction<'_>,
    sinks: &[String],
    request: &StoredRequest,
    events: &[&str],
    at: jiff::Timestamp,
) -> Result<(), StoreError> {
    // Events are kept for delivery only: with no receiver configured there is nothing
    // to keep.
    if events.is_empty() || sinks.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_string(request)?;
    for kind in events {
        tx.execute(
            "INSERT INTO events (id, request_id, kind, created_at, request) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid::Uuid::now_v7().to_string(), request.id, kind, stamp(at), body],
        )?;
        let seq = tx.last_insert_rowid();
        for sink in sinks {
            tx.execute(
                "INSERT INTO deliveries (event_seq, request_id, sink, due_unix) VALUES (?1, ?2, ?3, ?4)",
                params![seq, request.id, sink, at.as_second()],
            )?;
        }
    }
    Ok(())
}

/// Appends `records` to the service's audit chain, in the caller's transaction (which
/// `BEGIN IMMEDIATE` made the only writer).
fn write_audit<E: AsRef<str>>(
    tx: &rusqlite::Transaction<'_>,
    replica: &str,
    records: &[(E, serde_json::Value)],
    at: jiff::Timestamp,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let last = tx
        .query_row(
            "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1",
            [],
            |row| {
                Ok(Last {
                    seq: row.get(0)?,
                    line: row.get(1)?,
                })
            },
        )
        .optional()?;
    if last.is_none()
        && let Some(chain_id) = tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                params![audit::CHAIN_ID_KEY],
                |row| row.get::<_, String>(0),
            )
            .optional()?
    {
        return Err(audit::vanished(&chain_id));
    }
    let (rows, opened) = audit::rows(last, records, at, replica);
    if let Some(chain_id) = opened {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![audit::CHAIN_ID_KEY, chain_id],
        )?;
    }
    let mut insert = tx.prepare_cached("INSERT INTO audit_records (seq, line) VALUES (?1, ?2)")?;
    for row in rows {
        insert.execute(params![row.seq, row.line])?;
    }
    Ok(())
}

/// Writes a changed request: its status, body and the columns derived from it.
fn update(tx: &rusqlite::Transaction<'_>, request: &StoredRequest) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE requests SET status = ?2, body = ?3, expires_unix = ?4, window_until = ?5,
             next_unix = ?6, review_open = ?7
         WHERE id = ?1",
        params![
            request.id,
            request.status.as_str(),
            serde_json::to_string(request)?,
            request.deadline_column(),
            request.window_column(),
            request.next_unix,
            request.review_column()
        ],
    )?;
    Ok(())
}

/// Reads one request in the transaction.
fn read(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<Option<StoredRequest>, StoreError> {
    let body: Option<String> = tx
        .query_row(
            "SELECT body FROM requests WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )
        .optional()?;
    body.map(|b| StoredRequest::from_body(&b)).transpose()
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || {
            let mut conn = Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            migrate(&mut conn)?;
            Ok::<_, StoreError>(conn)
        })
        .await
        .map_err(|e| StoreError(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            waiters: Arc::new(Waiters::default()),
            sinks: super::Sinks::default(),
            replica: audit::Replica::default(),
        })
    }

    /// Runs `work` on the connection on a blocking thread.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || work(&mut lock(&conn)))
            .await
            .map_err(|e| StoreError(e.to_string()))?
    }

    fn sinks(&self) -> Vec<String> {
        self.sinks.get()
    }

    async fn query(
        &self,
        sql: &'static str,
        args: Vec<String>,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        self.with(move |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let bodies = statement
                .query_map(rusqlite::params_from_iter(args.iter()), |row| {
                    row.get::<_, String>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| StoredRequest::from_body(b)).collect()
        })
        .await
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn waiters(&self) -> &Arc<Waiters> {
        &self.waiters
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn now(&self) -> Result<jiff::Timestamp, StoreError> {
        Ok(now())
    }

    async fn signing_key(&self, key_id: &str) -> Result<String, StoreError> {
        let key_id = key_id.to_owned();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('signing_key_id', ?1) ON CONFLICT (key) DO NOTHING",
                params![key_id],
            )?;
            Ok(conn.query_row(
                "SELECT value FROM meta WHERE key = 'signing_key_id'",
                [],
                |row| row.get(0),
            )?)
        })
        .await
    }

    async fn rotate_signing_key(&self, key_id: &str) -> Result<(), StoreError> {
        let (key_id, replica) = (key_id.to_owned(), self.replica.get());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before: Option<String> = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'signing_key_id'",
                    [],
                    |row| row.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('signing_key_id', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key_id],
            )?;
            let record = audit::key_rotated(before.as_deref(), &key_id);
            write_audit(&tx, &replica, &[record], now())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    fn set_sinks(&self, sinks: Vec<String>) {
        self.sinks.set(sinks);
    }

    fn set_replica(&self, name: String) {
        self.replica.set(name);
    }

    async fn create(
        &self,
        request: &StoredRequest,
        key: Option<&str>,
        records: audit::Records,
    ) -> Result<Filed, StoreError> {
        let (request, key, sinks) = (request.clone(), key.map(str::to_owned), self.sinks());
        let replica = self.replica.get();
        let filed = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(key) = &key {
                    let existing: Option<String> = tx
                        .query_row(
                            "SELECT body FROM requests WHERE requester = ?1 AND idempotency_key = ?2",
                            params![request.requester, key],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if let Some(body) = existing {
                        return Ok(Filed::Existing(StoredRequest::from_body(&body)?));
                    }
                }
                tx.execute(
                    "INSERT INTO requests (id, requester, digest, status, body, expires_unix, idempotency_key,
                         window_until, next_unix, review_open)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        request.id,
                        request.requester,
                        request.request.digest,
                        request.status.as_str(),
                        serde_json::to_string(&request)?,
                        request.deadline_column(),
                        key,
                        request.window_column(),
                        request.next_unix,
                        request.review_column()
                    ],
                )?;
                let at = now();
                write_events(&tx, &sinks, &request, &["request.created"], at)?;
                write_audit(&tx, &replica, &records, at)?;
                tx.commit()?;
                Ok(Filed::New(request))
            })
            .await?;
        if let Filed::New(r) = &filed {
            self.waiters.wake(&r.id);
        }
        Ok(filed)
    }

    async fn get(&self, id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let id = id.to_owned();
        self.with(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM requests WHERE id = ?1",
                    params![id],
                    |row| row.get(0),
                )
                .optional()?;
            body.map(|b| StoredRequest::from_body(&b)).transpose()
        })
        .await
    }

    async fn change(
        &self,
        id: &str,
        rule: Rule,
    ) -> Result<Option<Result<(StoredRequest, Transition), Refusal>>, StoreError> {
        let (owned, sinks, replica) = (id.to_owned(), self.sinks(), self.replica.get());
        let answer = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(mut request) = read(&tx, &owned)? else {
                    return Ok(None);
                };
                let at = now();
                let transition = match rule(&mut request, at) {
                    Ok(t) => t,
                    Err(refusal) => return Ok(Some(Err(refusal))),
                };
                if transition.changed() {
                    update(&tx, &request)?;
                    write_events(&tx, &sinks, &request, &transition.events, at)?;
                    write_audit(&tx, &replica, &transition.audit, at)?;
                    tx.commit()?;
                }
                Ok(Some(Ok((request, transition))))
            })
            .await?;
        if let Some(Ok(_)) = &answer {
            self.waiters.wake(id);
        }
        Ok(answer)
    }

    async fn change_pair(
        &self,
        window: &str,
        id: &str,
        rule: PairRule,
    ) -> Result<Option<Result<PairChanged, Refusal>>, StoreError> {
        let (window, owned, sinks) = (window.to_owned(), id.to_owned(), self.sinks());
        let replica = self.replica.get();
        let answer = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (Some(mut first), Some(mut second)) = (read(&tx, &window)?, read(&tx, &owned)?)
                else {
                    return Ok(None);
                };
                let at = now();
                let (one, two) = match rule(&mut first, &mut second, at) {
                    Ok(t) => t,
                    Err(refusal) => return Ok(Some(Err(refusal))),
                };
                for (request, transition) in [(&first, &one), (&second, &two)] {
                    if transition.changed() {
                        update(&tx, request)?;
                        write_events(&tx, &sinks, request, &transition.events, at)?;
                        write_audit(&tx, &replica, &transition.audit, at)?;
                    }
                }
                tx.commit()?;
                Ok(Some(Ok((first, second, one, two))))
            })
            .await?;
        if let Some(Ok((first, second, _, _))) = &answer {
            self.waiters.wake(&first.id);
            self.waiters.wake(&second.id);
        }
        Ok(answer)
    }

    async fn open_windows(&self, requester: &str) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE requester = ?1 AND window_until > CAST(?2 AS INTEGER)
             ORDER BY id",
            vec![requester.to_owned(), now().as_second().to_string()],
        )
        .await
    }

    async fn due(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        self.with(move |conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT id FROM requests WHERE next_unix > 0 AND next_unix <= ?1
                     ORDER BY next_unix LIMIT ?2",
                )?
                .query_map(params![now().as_second(), limit], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .await
    }

    async fn open_reviews(&self) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE review_open = 1 ORDER BY id",
            Vec::new(),
        )
        .await
    }

    async fn with_status(&self, status: Status) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE status = ?1 ORDER BY id",
            vec![status.as_str().to_owned()],
        )
        .await
    }

    async fn by_id_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let Some(pattern) = super::id_prefix_pattern(prefix) else {
            return Ok(Vec::new());
        };
        // SQLite's LIKE ignores ASCII case; the pattern is lower-case, as ids are.
        self.query(
            "SELECT body FROM requests WHERE id LIKE ?1 ORDER BY id LIMIT CAST(?2 AS INTEGER)",
            vec![pattern, limit.to_string()],
        )
        .await
    }

    async fn by_requester_digest(
        &self,
        requester: &str,
        digest: &str,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE requester = ?1 AND digest = ?2 ORDER BY id DESC",
            vec![requester.to_owned(), digest.to_owned()],
        )
        .await
    }

    async fn expire_due(&self, limit: u32) -> Result<Vec<StoredRequest>, StoreError> {
        let (sinks, replica) = (self.sinks(), self.replica.get());
        let moved = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let at = now();
                let bodies: Vec<String> = tx
                    .prepare_cached(
                        "SELECT body FROM requests
                         WHERE status IN ('pending', 'approved') AND expires_unix <= ?1
                         ORDER BY expires_unix LIMIT ?2",
                    )?
                    .query_map(params![at.as_second(), limit], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                let mut moved = Vec::new();
                for body in bodies {
                    let mut request = StoredRequest::from_body(&body)?;
                    let Ok(transition) = crate::server::lifecycle::expire(&mut request, at) else {
                        continue;
                    };
                    update(&tx, &request)?;
                    write_events(&tx, &sinks, &request, &transition.events, at)?;
                    write_audit(&tx, &replica, &transition.audit, at)?;
                    moved.push(request);
                }
                tx.commit()?;
                Ok(moved)
            })
            .await?;
        for request in &moved {
            self.waiters.wake(&request.id);
        }
        Ok(moved)
    }

    async fn append_audit(&self, records: audit::Records) -> Result<(), StoreError> {
        let replica = self.replica.get();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_audit(&tx, &replica, &records, now())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn audit_record(&self, seq: Option<u64>) -> Result<Option<(u64, String)>, StoreError> {
        self.with(move |conn| {
            let row =
                |row: &rusqlite::Row<'_>| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?));
            let found = match seq {
                Some(seq) => conn
                    .query_row(
                        "SELECT seq, line FROM audit_records WHERE seq = ?1",
                        params![to_sql(seq)],
                        row,
                    )
                    .optional()?,
                None => conn
                    .query_row(
                        "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1",
                        [],
                        row,
                    )
                    .optional()?,
            };
            Ok(found.map(|(seq, line)| (u64::try_from(seq).unwrap_or_default(), line)))
        })
        .await
    }

    async fn audit_page(&self, after: Option<u64>, limit: u32) -> Result<audit::Page, StoreError> {
        let after = after.map_or(-1, to_sql);
        self.with(move |conn| {
            let chain_id: Option<String> = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1",
                    params![audit::CHAIN_ID_KEY],
                    |row| row.get(0),
                )
                .optional()?;
            let rows = conn
                .prepare_cached(
                    "SELECT seq, line FROM audit_records WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?
                .query_map(params![after, limit], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?
                .map(|row| row.map(|(seq, line)| (u64::try_from(seq).unwrap_or_default(), line)))
                .collect::<Result<_, _>>()?;
            Ok(audit::Page { chain_id, rows })
        })
        .await
    }

    async fn prune(
        &self,
        before: i64,
        min_days: u64,
        keep_days: u64,
        sign: audit::Signer,
    ) -> Result<audit::Pruned, StoreError> {
        let replica = self.replica.get();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let finished = "status IN ('consumed', 'expired', 'rejected', 'cancelled')
                 AND expires_unix < ?1 AND window_until < ?1 AND review_open = 0";
            let gone: Vec<String> = tx
                .prepare(&format!("SELECT id FROM requests WHERE {finished}"))?
                .query_map(params![before], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            for id in &gone {
                tx.execute("DELETE FROM deliveries WHERE request_id = ?1", params![id])?;
                tx.execute("DELETE FROM events WHERE request_id = ?1", params![id])?;
                tx.execute("DELETE FROM messages WHERE request_id = ?1", params![id])?;
                tx.execute("DELETE FROM requests WHERE id = ?1", params![id])?;
            }
            let requests = gone.len() as u64;
            // The requests still kept: their records stay, and every record after them.
            let kept: std::collections::HashSet<String> = tx
                .prepare("SELECT id FROM requests")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let last: Option<i64> =
                tx.query_row("SELECT max(seq) FROM audit_records", [], |row| row.get(0))?;
            let rows: Vec<(i64, String)> = tx
                .prepare("SELECT seq, line FROM audit_records ORDER BY seq LIMIT ?1")?
                .query_map(params![audit::SCAN_LIMIT + 1], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            let run = match last {
                Some(last) => audit::removable_run(&rows, before, &kept, last)?,
                None => None,
            };
            let chain_id: String = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1",
                    params![audit::CHAIN_ID_KEY],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or_default();
            let pass = audit::retention_pass(
                run.as_ref(),
                &chain_id,
                min_days,
                keep_days,
                requests,
                &sign,
            );
            let mut records = 0;
            if let Some(audit::Pass { record, removed }) = &pass {
                // Recorded in the same transaction as the removal: both happen, or neither.
                write_audit(&tx, &replica, std::slice::from_ref(record), now())?;
                if let Some((from, through)) = removed {
                    records = tx.execute(
                        "DELETE FROM audit_records WHERE seq >= ?1 AND seq <= ?2",
                        params![from, through],
                    )? as u64;
                }
            }
            tx.commit()?;
            Ok(audit::Pruned {
                records,
                requests,
                record: pass.map(|p| p.record.1),
            })
        })
        .await
    }

    async fn claim(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let owner = owner.to_owned();
        let mine = serde_json::to_string(&self.sinks())?;
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let at = now().as_second();
            let rows: Vec<(i64, String, String, String, String, String, String, u32)> = tx
                .prepare_cached(
                    "SELECT d.event_seq, e.id, d.sink, e.kind, e.request_id, e.created_at, e.request, d.attempts
                     FROM deliveries d JOIN events e ON e.seq = d.event_seq
                     WHERE d.done_unix IS NULL AND d.due_unix <= ?1
                       AND (d.lease_until IS NULL OR d.lease_until <= ?1)
                       AND d.sink IN (SELECT value FROM json_each(?3))
                       AND NOT EXISTS (SELECT 1 FROM deliveries o
                                       WHERE o.request_id = d.request_id AND o.sink = d.sink
                                         AND o.done_unix IS NULL AND o.event_seq < d.event_seq)
                     ORDER BY d.event_seq LIMIT ?2",
                )?
                .query_map(params![at, limit, mine], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let until = at + i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2);
            let mut claimed = Vec::new();
            for (seq, event_id, sink, kind, request_id, created_at, body, attempts) in rows {
                tx.execute(
                    "UPDATE deliveries SET lease_owner = ?3, lease_until = ?4 WHERE event_seq = ?1 AND sink = ?2",
                    params![seq, sink, owner, until],
                )?;
                claimed.push(Delivery {
                    event_id,
                    sink,
                    kind,
                    request_id,
                    created_at,
                    request: StoredRequest::from_body(&body)?,
                    attempts,
                });
            }
            tx.commit()?;
            Ok(claimed)
        })
        .await
    }

    async fn delivered(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (event_id, sink, error) = (
            event_id.to_owned(),
            sink.to_owned(),
            error.map(str::to_owned),
        );
        let owner = owner.to_owned();
        self.with(move |conn| {
            conn.execute(
                "UPDATE deliveries SET done_unix = ?3, error = ?4, lease_owner = NULL, lease_until = NULL,
                        attempts = attempts + 1
                 WHERE sink = ?2 AND event_seq = (SELECT seq FROM events WHERE id = ?1) AND lease_owner = ?5",
                params![event_id, sink, now().as_second(), error, owner],
            )?;
            Ok(())
        })
        .await
    }

    async fn retry_later(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let (event_id, sink, error) = (event_id.to_owned(), sink.to_owned(), error.to_owned());
        let owner = owner.to_owned();
        self.with(move |conn| {
            let due = now().as_second() + i64::try_from(delay.as_secs()).unwrap_or(3600);
            conn.execute(
                "UPDATE deliveries SET due_unix = ?3, error = ?4, lease_owner = NULL, lease_until = NULL,
                        attempts = attempts + 1
                 WHERE sink = ?2 AND event_seq = (SELECT seq FROM events WHERE id = ?1) AND lease_owner = ?5",
                params![event_id, sink, due, error, owner],
            )?;
            Ok(())
        })
        .await
    }

    async fn undelivered(&self) -> Result<u64, StoreError> {
        self.with(|conn| {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM deliveries WHERE done_unix IS NULL",
                [],
                |row| row.get(0),
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_session(&self, id: &str, session: &Session) -> Result<(), StoreError> {
        let (id, session) = (id.to_owned(), session.clone());
        self.with(move |conn| {
            conn.execute(
                "DELETE FROM sessions WHERE expires_unix <= ?1",
                params![now().as_second()],
            )?;
            conn.execute(
                "INSERT INTO sessions (id, user, token_sha256, csrf, expires_unix) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, session.user, session.token_sha256, session.csrf, session.expires_unix],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.with(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT user, token_sha256, csrf, expires_unix FROM sessions WHERE id = ?1 AND expires_unix > ?2",
                    params![id, now().as_second()],
                    |row| {
                        Ok(Session {
                            user: row.get(0)?,
                            token_sha256: row.get(1)?,
                            csrf: row.get(2)?,
                            expires_unix: row.get(3)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn remove_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.with(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
            Ok(())
        })
        .await
    }

    async fn put_message(
        &self,
        request_id: &str,
        kind: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        let args = [request_id, kind, channel, ts].map(str::to_owned);
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO messages (request_id, kind, channel, ts) VALUES (?1, ?2, ?3, ?4)",
                params![args[0], args[1], args[2], args[3]],
            )?;
            Ok(())
        })
        .await
    }

    async fn messages(
        &self,
        request_id: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let request_id = request_id.to_owned();
        self.with(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT kind, channel, ts FROM messages WHERE request_id = ?1")?;
            let rows = statement
                .query_map(params![request_id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn witness_log(&self, key: LogKey<'_>) -> Result<Option<WitnessLog>, StoreError> {
        let (host, user, path) = (
            key.host.to_owned(),
            key.user.to_owned(),
            key.path.to_owned(),
        );
        self.with(move |conn| {
            let log: Option<(i64, String)> = conn
                .query_row(
                    "SELECT id, chain_id FROM witness_logs WHERE host = ?1 AND user = ?2 AND path = ?3",
                    params![host, user, path],
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
        })
        .await
    }

    async fn witness_hashes(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        self.with(move |conn| {
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
        })
        .await
    }

    async fn witness_extend(
        &self,
        key: LogKey<'_>,
        chain_id: &str,
        expected: Option<u64>,
        records: &[(u64, String)],
        head: &WitnessedHead,
    ) -> Result<(), StoreError> {
        let (host, user, path) = (
            key.host.to_owned(),
            key.user.to_owned(),
            key.path.to_owned(),
        );
        let (chain_id, records, head) = (chain_id.to_owned(), records.to_vec(), head.clone());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO witness_logs (host, user, path, chain_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (host, user, path) DO NOTHING",
                params![host, user, path, chain_id],
            )?;
            let log: i64 = tx.query_row(
                "SELECT id FROM witness_logs WHERE host = ?1 AND user = ?2 AND path = ?3",
                params![host, user, path],
                |row| row.get(0),
            )?;
            let latest: Option<i64> = tx.query_row(
                "SELECT max(seq) FROM witness_heads WHERE log = ?1",
                params![log],
                |row| row.get(0),
            )?;
            if latest != expected.map(to_sql) {
                return Err(super::witness_moved());
            }
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO witness_records (log, seq, hash) VALUES (?1, ?2, ?3)",
                )?;
                for (seq, hash) in &records {
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
        })
        .await
    }

    async fn witnessed_logs(
        &self,
        host: &str,
        user: &str,
        path: Option<&str>,
    ) -> Result<Vec<WitnessedLog>, StoreError> {
        let (host, user, path) = (host.to_owned(), user.to_owned(), path.map(str::to_owned));
        self.with(move |conn| {
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
                    host: host.clone(),
                    user: user.clone(),
                    path,
                    chain_id,
                    heads,
                });
            }
            Ok(out)
        })
        .await
    }
}

fn head_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WitnessedHead> {
    Ok(WitnessedHead {
        seq: row.get::<_, i64>(0)? as u64,
        hash: row.get(1)?,
        at: row.get(2)?,
        identity: row.get(3)?,
    })
}
