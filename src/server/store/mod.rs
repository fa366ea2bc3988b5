//! What the service keeps, behind one async, transactional trait with two implementations:
//! SQLite (embedded, one replica) and PostgreSQL (any number of replicas).
//!
//! Every read-modify-write of a request runs in one transaction holding the request's row
//! (`SELECT … FOR UPDATE`, SQLite `BEGIN IMMEDIATE`): the store reads it, hands it to a
//! [`Rule`] (a lifecycle rule with the handler's checks), and writes the result together
//! with the events the rule emitted. Events become outbox rows in the same transaction, and
//! waiters of the request are woken once it commits (directly, or through `pg_notify`).

pub mod audit;
mod postgres;
mod schema;
mod sqlite;
mod waiters;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use waiters::Waiters;

use super::lifecycle::{Refusal, Transition};
use crate::approval::{
    BreakGlass, Escalated, Grant, NewRequest, Review, Status, Window, WitnessedHead, WitnessedLog,
};

/// Everything the service keeps about one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequest {
    pub id: String,
    pub requester: String,
    pub request: NewRequest,
    pub status: Status,
    pub created_at: String,
    pub expires_at: String,
    /// Expiry as Unix seconds (the database's clock decides).
    pub expires_unix: i64,
    pub reviews: Vec<Review>,
    pub grant: Option<Grant>,
    pub consumed_at: Option<String>,
    /// The grant nonce the consume named, when it named one: only a repeat naming the
    /// same nonce, soon after, is answered again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_nonce: Option<String>,
    /// Digests of the secret values the consume released, by name: a repeat releases
    /// them again only while they are unchanged.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub released: std::collections::BTreeMap<String, String>,
    /// How the request's log head contradicts the witness, when it does (shown to
    /// reviewers).
    #[serde(default)]
    pub log_head_conflict: Option<String>,
    /// The window this request's approval opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The window (its id) this request was granted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_window: Option<String>,
    /// Escalation steps taken while it waited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalated>,
    /// Reminders sent while it waited, and when the last went out (Unix seconds).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reminders: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub reminded_unix: i64,
    /// Set for a break-glass run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlass>,
    /// When the sweeper next has something to do for it besides expiry (an escalation
    /// step, a reminder, an overdue review): Unix seconds, 0 for nothing.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub next_unix: i64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

impl StoredRequest {
    /// Reads the JSON body a store keeps.
    fn from_body(body: &str) -> Result<StoredRequest, StoreError> {
        serde_json::from_str(body).map_err(StoreError::from)
    }

    /// The `expires_unix` column: when the request stops being usable (its grant's
    /// expiry once approved), so the sweeper finds what is due with an index.
    fn deadline_column(&self) -> i64 {
        super::lifecycle::deadline(self).unwrap_or(self.expires_unix)
    }

    /// The `window_until` column: when the window this request opened closes, while it
    /// is not revoked; 0 otherwise.
    fn window_column(&self) -> i64 {
        self.window
            .as_ref()
            .filter(|w| w.revoked.is_none())
            .and_then(|w| super::lifecycle::unix(&w.ends_at))
            .unwrap_or(0)
    }

    /// The `review_open` column: 1 while a break-glass run waits for its review.
    fn review_column(&self) -> i64 {
        i64::from(
            self.break_glass
                .as_ref()
                .is_some_and(|b| b.review.is_none()),
        )
    }
}

/// The receivers a store writes deliveries for, set once before serving and read by
/// every transaction that writes events.
#[derive(Default)]
struct Sinks(std::sync::RwLock<Vec<String>>);

impl Sinks {
    fn get(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, sinks: Vec<String>) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sinks;
    }
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
pub struct StoreError(pub(crate) String);

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

/// A change to one request, run inside the store's transaction: it gets the request as
/// stored and the database's clock, and either changes the request (returning what
/// happened) or refuses. A refusal writes nothing.
pub type Rule =
    Box<dyn FnOnce(&mut StoredRequest, jiff::Timestamp) -> Result<Transition, Refusal> + Send>;

/// A change to two requests in one transaction holding both rows: a window's request
/// (first) and a request granted or used under it (second).
pub type PairRule = Box<
    dyn FnOnce(
            &mut StoredRequest,
            &mut StoredRequest,
            jiff::Timestamp,
        ) -> Result<(Transition, Transition), Refusal>
        + Send,
>;

/// What `change_pair` did: both requests and both transitions.
pub type PairChanged = (StoredRequest, StoredRequest, Transition, Transition);

/// What `create` did.
#[derive(Debug)]
pub enum Filed {
    /// A new request.
    New(StoredRequest),
    /// The requester already filed one under this idempotency key: that one.
    Existing(StoredRequest),
}

/// One event waiting in the outbox for one receiver.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The event's id: the stable delivery id receivers deduplicate on.
    pub event_id: String,
    pub sink: String,
    pub kind: String,
    pub request_id: String,
    /// When the event happened (RFC 3339).
    pub created_at: String,
    /// The request as it was right after the change.
    pub request: StoredRequest,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// A browser session of the review page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// The digest of the token the user signed in with: the session ends when the
    /// user's token is replaced.
    pub token_sha256: String,
    pub csrf: String,
    pub expires_unix: i64,
}

/// Persistent state of the service.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Who is woken when a request changes.
    fn waiters(&self) -> &Arc<Waiters>;
    /// Whether the database answers (migrations ran when the store was opened).
    async fn ready(&self) -> Result<(), StoreError>;
    /// The database's clock.
    async fn now(&self) -> Result<jiff::Timestamp, StoreError>;
    /// Records `key_id` as the service's signing key on first use; afterwards answers
    /// the key id recorded (which the caller compares).
    async fn signing_key(&self, key_id: &str) -> Result<String, StoreError>;
    /// Replaces the recorded signing key id (an operator's rotation), recording it in the
    /// audit chain in the same transaction.
    async fn rotate_signing_key(&self, key_id: &str) -> Result<(), StoreError>;
    /// The receivers events are delivered to; set once before serving. This replica
    /// claims deliveries to these only (one that another replica knows stays for it).
    fn set_sinks(&self, sinks: Vec<String>);

    /// The replica name the service's audit records carry; set once before serving.
    fn set_replica(&self, name: String);

    /// Files `request` (its `request.created` event and the `audit` records with it),
    /// unless `key` names a request the same requester already filed: then that one,
    /// unchanged, and nothing is recorded.
    async fn create(
        &self,
        request: &StoredRequest,
        key: Option<&str>,
        audit: audit::Records,
    ) -> Result<Filed, StoreError>;
    async fn get(&self, id: &str) -> Result<Option<StoredRequest>, StoreError>;
    /// Runs `rule` on request `id` in one transaction holding its row; writes the changed
    /// request, the transition's events and its audit records, or nothing when the rule
    /// refuses.
    /// `Ok(None)`: no such request.
    async fn change(
        &self,
        id: &str,
        rule: Rule,
    ) -> Result<Option<Result<(StoredRequest, Transition), Refusal>>, StoreError>;
    /// Runs `rule` on the window's request `window` and on request `id` in one transaction
    /// holding both rows (locked in id order); writes both, or nothing when the rule
    /// refuses. `Ok(None)`: one of them does not exist.
    async fn change_pair(
        &self,
        window: &str,
        id: &str,
        rule: PairRule,
    ) -> Result<Option<Result<PairChanged, Refusal>>, StoreError>;
    /// The requests of `requester` whose window is open (not revoked, not closed by the
    /// database's clock), oldest first.
    async fn open_windows(&self, requester: &str) -> Result<Vec<StoredRequest>, StoreError>;
    /// Up to `limit` ids of requests whose `next_unix` is due by the database's clock.
    async fn due(&self, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Break-glass runs whose review is still open, oldest first.
    async fn open_reviews(&self) -> Result<Vec<StoredRequest>, StoreError>;
    async fn with_status(&self, status: Status) -> Result<Vec<StoredRequest>, StoreError>;
    /// Up to `limit` requests whose id starts with `prefix` (lower-case hex digits and
    /// dashes only; anything else matches nothing), oldest first. Whoever asks filters
    /// them by what the caller may see.
    async fn by_id_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<StoredRequest>, StoreError>;
    async fn by_requester_digest(
        &self,
        requester: &str,
        digest: &str,
    ) -> Result<Vec<StoredRequest>, StoreError>;
    /// Moves requests whose time ran out to `expired`, each exactly once with its event
    /// and audit record, skipping rows another replica holds. Returns the ones this call
    /// moved.
    async fn expire_due(&self, limit: u32) -> Result<Vec<StoredRequest>, StoreError>;

    /// Appends records to the service's audit chain, in one transaction.
    async fn append_audit(&self, records: audit::Records) -> Result<(), StoreError>;
    /// One record of the audit chain, (seq, line): record `seq`, or the last when `None`.
    async fn audit_record(&self, seq: Option<u64>) -> Result<Option<(u64, String)>, StoreError>;
    /// Up to `limit` records of the audit chain after `after` (from the oldest kept when
    /// `None`), oldest first.
    async fn audit_page(&self, after: Option<u64>, limit: u32) -> Result<audit::Page, StoreError>;
    /// Retention: removes, in one transaction, the finished requests whose time ended
    /// before `before` (Unix seconds; with their events, deliveries and messages) and the
    /// oldest audit records the lines say are stamped before it and about no request still
    /// kept (a contiguous run, never the last record), and appends a `retention` record
    /// saying what went, signed with `sign`. The caller decides `before`.
    async fn prune(
        &self,
        before: i64,
        min_days: u64,
        keep_days: u64,
        sign: audit::Signer,
    ) -> Result<audit::Pruned, StoreError>;

    /// Claims up to `limit` deliveries to this replica's receivers that are due and not
    /// leased by anyone, for `lease`. Of one request's events for one receiver only the
    /// oldest undelivered is ever claimable, so receivers see each request's events in
    /// order.
    async fn claim(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The delivery `owner` claimed is done (`error` set when it was given up). Nothing
    /// changes when `owner` no longer holds it (its lease ran out and another took it).
    async fn delivered(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// The delivery `owner` claimed failed; it is due again after `delay` (nothing
    /// changes when `owner` no longer holds it).
    async fn retry_later(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Deliveries not done yet (for tests and `/readyz` detail).
    async fn undelivered(&self) -> Result<u64, StoreError>;

    async fn put_session(&self, id: &str, session: &Session) -> Result<(), StoreError>;
    /// The session, if it exists and has not expired.
    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    async fn remove_session(&self, id: &str) -> Result<(), StoreError>;

    /// The witnessed log `key`, if any.
    async fn witness_log(&self, key: LogKey<'_>) -> Result<Option<WitnessLog>, StoreError>;
    /// The record hashes the witness holds for `log` with `seq` in `from..=to`, in order.
    async fn witness_hashes(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError>;
    /// In one transaction holding the log's row: creates the log `key` of `chain_id` when
    /// it is new, checks that its latest witnessed head is still `expected` (what the
    /// caller checked the proof against; another replica may have moved it since), adds
    /// the record hashes, and records `head` (the last of them) as a witnessed head.
    async fn witness_extend(
        &self,
        key: LogKey<'_>,
        chain_id: &str,
        expected: Option<u64>,
        records: &[(u64, String)],
        head: &WitnessedHead,
    ) -> Result<(), StoreError>;
    /// Every witnessed log of one host and user (only the one at `path`, when given), with
    /// every head.
    async fn witnessed_logs(
        &self,
        host: &str,
        user: &str,
        path: Option<&str>,
    ) -> Result<Vec<WitnessedLog>, StoreError>;
    /// Remembers a chat message posted about a request (to update it later).
    async fn put_message(
        &self,
        request_id: &str,
        kind: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError>;
    /// The chat messages posted about a request: (kind, channel, message id).
    async fn messages(&self, request_id: &str)
    -> Result<Vec<(String, String, String)>, StoreError>;
}

/// Where the service keeps its data: a SQLite file or a PostgreSQL URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Database {
    /// `postgres://…` and `postgresql://…` (any case) are PostgreSQL; a path is a SQLite
    /// file. Any other URL is refused, and named without its password.
    pub fn parse(text: &str) -> Result<Database, String> {
        let text = text.trim();
        match text.split_once("://") {
            Some((scheme, _))
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                Ok(Database::Postgres(format!(
                    "postgres://{}",
                    &text[scheme.len() + 3..]
                )))
            }
            Some(_) => Err(format!(
                "database {} is neither a postgres:// URL nor a file path",
                postgres::redacted(text)
            )),
            None => Ok(Database::Sqlite(text.into())),
        }
    }

    /// How to name it in messages: a PostgreSQL URL without its password.
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => postgres::redacted(url),
        }
    }
}

/// Opens (and migrates) the store.
pub async fn open(database: &Database) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database {
        Database::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        Database::Postgres(url) => Arc::new(PostgresStore::open(url).await?),
    })
}

/// The events that are outbox rows: every request event.
pub const EVENT_KINDS: &[&str] = super::webhooks::EVENTS;

/// The error when another replica extended the log between the check and the write.
/// The `LIKE` pattern of an id prefix, or `None` when the prefix holds anything but
/// lower-case hex digits and dashes (no id does; and no `%` or `_` reaches a pattern).
fn id_prefix_pattern(prefix: &str) -> Option<String> {
    prefix
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        .then(|| format!("{prefix}%"))
}

fn witness_moved() -> StoreError {
    StoreError("the witnessed log was extended meanwhile; send the proof again".into())
}

/// SQL integers are signed; a `seq` past `i64::MAX` cannot occur in a real log.
fn to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests;
