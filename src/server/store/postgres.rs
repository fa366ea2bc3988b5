//! PostgreSQL: any number of replicas on one database. A pool (deadpool) for queries,
//! and one dedicated connection per replica that LISTENs for changes other replicas make.
//!
//! TLS is rustls: `sslmode` is honoured (`disable`, `prefer`, `require`, `verify-ca`,
//! `verify-full`); without it, TLS is required for a server on another host and preferred
//! on this one. Whenever TLS is used the server's certificate is verified, against
//! `sslrootcert=PATH` or the system's roots. Only `sslverify=none` in the URL turns
//! verification off, with a warning at start.

use std::str::FromStr as _;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::audit::{self, Last};
use super::schema::{LATEST, LOCK_KEY, MIGRATIONS, too_new};
use super::{
    Delivery, Filed, LogKey, PairChanged, PairRule, Rule, Session, Store, StoreError,
    StoredRequest, Waiters, WitnessLog, to_sql,
};
use crate::approval::{Status, WitnessedHead, WitnessedLog};
use crate::server::lifecycle::{Refusal, Transition, stamp};

/// The channel changes are announced on; the payload is the request id.
const CHANNEL: &str = "gatekeep_requests";

pub struct PostgresStore {
    pool: Pool,
    waiters: Arc<Waiters>,
    sinks: super::Sinks,
    replica: audit::Replica,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn pg(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) => StoreError(format!("{}: {}", db.code().code(), db.message())),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                text = format!("{text}: {inner}");
                source = inner.source();
            }
            StoreError(text)
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        pg(e)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => pg(e),
            other => StoreError(other.to_string()),
        }
    }
}

/// The URL with its password replaced, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let secret = k == "password";
                    (
                        k.into_owned(),
                        if secret { "***".into() } else { v.into_owned() },
                    )
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".to_owned(),
    }
}

/// How to connect: the driver's configuration and the TLS connector.
pub struct Connect {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// TLS is used without verifying the server (said once at start).
    pub unverified: bool,
}

/// Reads a `postgres://` URL: the parameters gatekeep handles itself (`sslmode` beyond
/// what the driver knows, `sslrootcert`, `sslverify`) are taken out first.
pub fn connect_options(url: &str) -> Result<Connect, StoreError> {
    let bad = |why: String| StoreError(format!("bad database URL {}: {why}", redacted(url)));
    let mut parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let mut keep = Vec::new();
    let (mut mode, mut root, mut verify) = (None, None, true);
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => mode = Some(value.into_owned()),
            "sslrootcert" => root = Some(value.into_owned()),
            "sslverify" => match value.as_ref() {
                "none" => verify = false,
                "full" => verify = true,
                other => return Err(bad(format!("sslverify={other}: use full or none"))),
            },
            _ => keep.push((key.into_owned(), value.into_owned())),
        }
    }
    // Without sslmode, a server on another host is spoken to over verified TLS only: a
    // plain fallback would let anyone on the path turn TLS off.
    let local = parsed.host_str().is_none_or(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    let driver_mode = match mode.as_deref() {
        None if !local => "require",
        None | Some("prefer") | Some("allow") => "prefer",
        Some("disable") => "disable",
        Some("require" | "verify-ca" | "verify-full") => "require",
        Some(other) => return Err(bad(format!("unknown sslmode={other}"))),
    };
    keep.push(("sslmode".into(), driver_mode.into()));
    parsed.query_pairs_mut().clear().extend_pairs(keep);
    let mut config = tokio_postgres::Config::from_str(parsed.as_str()).map_err(|e| bad(pg(e).0))?;
    if config.get_application_name().is_none() {
        config.application_name("gatekeep");
    }
    config.connect_timeout(std::time::Duration::from_secs(10));
    crate::client::ensure_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let tls = if !verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else if let Some(path) = &root {
        use rustls_pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?
        {
            roots
                .add(cert.map_err(|e| bad(format!("sslrootcert {path}: {e}")))?)
                .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        use rustls_platform_verifier::BuilderVerifierExt as _;
        builder
            .with_platform_verifier()
            .map_err(|e| bad(e.to_string()))?
            .with_no_client_auth()
    };
    Ok(Connect {
        config,
        tls: MakeRustlsConnect::new(tls),
        unverified: !verify && driver_mode != "disable",
    })
}

/// Accepts any certificate: only when the URL says `sslverify=none`.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

type Client = deadpool_postgres::Object;

/// The database's clock.
async fn clock(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<jiff::Timestamp, StoreError> {
    let micros: i64 = client
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
            &[],
        )
        .await?
        .get(0);
    jiff::Timestamp::from_microsecond(micros).map_err(|e| StoreError(e.to_string()))
}

/// The events as outbox rows (one delivery per receiver) and the change announced, in
/// the caller's transaction.
async fn write_events(
    tx: &deadpool_postgres::Transaction<'_>,
    sinks: &[String],
    request: &StoredRequest,
    events: &[&str],
    at: jiff::Timestamp,
) -> Result<(), StoreError> {
    // Events are kept for delivery only: with no receiver configured there is nothing
    // to keep (the change is still announced to waiters).
    let body = if sinks.is_empty() {
        String::new()
    } else {
        serde_json::to_string(request)?
    };
    for kind in events.iter().filter(|_| !sinks.is_empty()) {
        let seq: i64 = tx
            .query_one(
                "INSERT INTO events (id, request_id, kind, created_at, request) VALUES ($1, $2, $3, $4, $5)
                 RETURNING seq",
                &[&uuid::Uuid::now_v7().to_string(), &request.id, kind, &stamp(at), &body],
            )
            .await?
            .get(0);
        for sink in sinks {
            tx.execute(
                "INSERT INTO deliveries (event_seq, request_id, sink, due_unix) VALUES ($1, $2, $3, $4)",
                &[&seq, &request.id, sink, &at.as_second()],
            )
            .await?;
        }
    }
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &request.id])
        .await?;
    Ok(())
}

/// Appends `records` to the service's audit chain in the caller's transaction, holding
/// the chain's advisory lock until it commits: appends of all replicas form one chain.
async fn write_audit<E: AsRef<str> + Sync>(
    tx: &deadpool_postgres::Transaction<'_>,
    replica: &str,
    records: &[(E, serde_json::Value)],
    at: jiff::Timestamp,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&audit::LOCK_KEY])
        .await?;
    let last = tx
        .query_opt(
            "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|row| Last {
            seq: row.get(0),
            line: row.get(1),
        });
    if last.is_none()
        && let Some(row) = tx
            .query_opt(
                "SELECT value FROM meta WHERE key = $1",
                &[&audit::CHAIN_ID_KEY],
            )
            .await?
    {
        return Err(audit::vanished(row.get(0)));
    }
    let (rows, opened) = audit::rows(last, records, at, replica);
    if let Some(chain_id) = opened {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)",
            &[&audit::CHAIN_ID_KEY, &chain_id],
        )
        .await?;
    }
    let insert = tx
        .prepare_cached("INSERT INTO audit_records (seq, line) VALUES ($1, $2)")
        .await?;
    for row in rows {
        tx.execute(&insert, &[&row.seq, &row.line]).await?;
    }
    Ok(())
}

/// Writes a changed request: its status, body and the columns derived from it.
async fn update(
    tx: &deadpool_postgres::Transaction<'_>,
    request: &StoredRequest,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE requests SET status = $2, body = $3, expires_unix = $4, window_until = $5,
             next_unix = $6, review_open = $7
         WHERE id = $1",
        &[
            &request.id,
            &request.status.as_str(),
            &serde_json::to_string(request)?,
            &request.deadline_column(),
            &request.window_column(),
            &request.next_unix,
            &request.review_column(),
        ],
    )
    .await?;
    Ok(())
}

async fn migrate(connect: &Connect) -> Result<(), StoreError> {
    let (mut client, connection) = connect
        .config
        .connect(connect.tls.clone())
        .await
        .map_err(pg)?;
    let driver = tokio::spawn(connection);
    // Replicas starting together take turns; the lock goes with the session.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = async {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let found: Option<i64> = client
            .query_one("SELECT max(version) FROM schema_version", &[])
            .await?
            .get(0);
        let found = found.unwrap_or(0);
        if found > LATEST {
            return Err(too_new(found));
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
            let tx = client.transaction().await?;
            tx.batch_execute(migration.postgres).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&migration.version],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
    .await;
    drop(client);
    let _ = driver.await;
    result
}

/// The dedicated LISTEN connection: wakes the waiters of each request another replica
/// (or this one) changed. When the connection is lost, everyone is woken (changes may
/// have been missed) and it reconnects with backoff.
async fn listen(connect: Arc<Connect>, waiters: Arc<Waiters>) {
    let mut delay = std::time::Duration::from_millis(100);
    // A connection that died silently is noticed within a minute, not TCP's two hours.
    let mut config = connect.config.clone();
    config
        .keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(30))
        .keepalives_interval(std::time::Duration::from_secs(10))
        .keepalives_retries(3);
    loop {
        match config.connect(connect.tls.clone()).await {
            Ok((client, mut connection)) => {
                let (notes, mut incoming) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(note))) => {
                                if notes.send(note.payload().to_owned()).is_err() {
                                    break;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::warn!(error = %pg(error), "database notifications lost");
                                break;
                            }
                            None => break,
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        delay = std::time::Duration::from_millis(100);
                        // Whatever changed while no one listened is read again.
                        waiters.wake_all();
                        while let Some(id) = incoming.recv().await {
                            waiters.wake(&id);
                        }
                    }
                    Err(error) => tracing::warn!(error = %pg(error), "LISTEN failed"),
                }
                driver.abort();
                drop(client);
                waiters.wake_all();
            }
            Err(error) => {
                tracing::warn!(error = %pg(error), "cannot connect to listen for changes")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

impl PostgresStore {
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let connect = connect_options(url)?;
        if connect.unverified {
            eprintln!(
                "gatekeep: warning: the database URL says sslverify=none: the database server's certificate is not checked"
            );
        }
        migrate(&connect).await?;
        let manager = Manager::from_config(
            connect.config.clone(),
            connect.tls.clone(),
            ManagerConfig {
                // A connection is checked before reuse: after the database restarts, a
                // dead one is replaced instead of failing a request.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let waiters = Arc::new(Waiters::default());
        let listener = tokio::spawn(listen(Arc::new(connect), Arc::clone(&waiters)));
        Ok(PostgresStore {
            pool,
            waiters,
            sinks: super::Sinks::default(),
            replica: audit::Replica::default(),
            listener,
        })
    }

    async fn client(&self) -> Result<Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    fn sinks(&self) -> Vec<String> {
        self.sinks.get()
    }

    async fn query(
        &self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        client
            .query(&statement, args)
            .await?
            .iter()
            .map(|row| StoredRequest::from_body(row.get(0)))
            .collect()
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn waiters(&self) -> &Arc<Waiters> {
        &self.waiters
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let version: Option<i64> = client
            .query_one("SELECT max(version) FROM schema_version", &[])
            .await?
            .get(0);
        if version != Some(LATEST) {
            return Err(StoreError(format!(
                "schema version {version:?}, expected {LATEST}"
            )));
        }
        Ok(())
    }

    async fn now(&self) -> Result<jiff::Timestamp, StoreError> {
        clock(&self.client().await?).await
    }

    async fn signing_key(&self, key_id: &str) -> Result<String, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO meta (key, value) VALUES ('signing_key_id', $1) ON CONFLICT (key) DO NOTHING",
                &[&key_id],
            )
            .await?;
        Ok(client
            .query_one("SELECT value FROM meta WHERE key = 'signing_key_id'", &[])
            .await?
            .get(0))
    }

    async fn rotate_signing_key(&self, key_id: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let before: Option<String> = tx
            .query_opt(
                "SELECT value FROM meta WHERE key = 'signing_key_id' FOR UPDATE",
                &[],
            )
            .await?
            .map(|row| row.get(0));
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('signing_key_id', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key_id],
        )
        .await?;
        let at = clock(&tx).await?;
        let record = audit::key_rotated(before.as_deref(), key_id);
        write_audit(&tx, &self.replica.get(), &[record], at).await?;
        tx.commit().await?;
        Ok(())
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
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let body = serde_json::to_string(request)?;
        // A concurrent retry with the same key waits on the unique index and then files
        // nothing; it reads the request the first one filed.
        let inserted = tx
            .execute(
                "INSERT INTO requests (id, requester, digest, status, body, expires_unix, idempotency_key,
                     window_until, next_unix, review_open)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (requester, idempotency_key) DO NOTHING",
                &[
                    &request.id,
                    &request.requester,
                    &request.request.digest,
                    &request.status.as_str(),
                    &body,
                    &request.deadline_column(),
                    &key,
                    &request.window_column(),
                    &request.next_unix,
                    &request.review_column(),
                ],
            )
            .await?;
        if inserted == 0 {
            let row = tx
                .query_one(
                    "SELECT body FROM requests WHERE requester = $1 AND idempotency_key = $2",
                    &[&request.requester, &key],
                )
                .await?;
            return Ok(Filed::Existing(StoredRequest::from_body(row.get(0))?));
        }
        let at = clock(&tx).await?;
        write_events(&tx, &self.sinks(), request, &["request.created"], at).await?;
        write_audit(&tx, &self.replica.get(), &records, at).await?;
        tx.commit().await?;
        Ok(Filed::New(request.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT body FROM requests WHERE id = $1")
            .await?;
        client
            .query_opt(&statement, &[&id])
            .await?
            .map(|row| StoredRequest::from_body(row.get(0)))
            .transpose()
    }

    async fn change(
        &self,
        id: &str,
        rule: Rule,
    ) -> Result<Option<Result<(StoredRequest, Transition), Refusal>>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt("SELECT body FROM requests WHERE id = $1 FOR UPDATE", &[&id])
            .await?
        else {
            return Ok(None);
        };
        let mut request = StoredRequest::from_body(row.get(0))?;
        let at = clock(&tx).await?;
        let transition = match rule(&mut request, at) {
            Ok(t) => t,
            Err(refusal) => return Ok(Some(Err(refusal))),
        };
        if transition.changed() {
            update(&tx, &request).await?;
            write_events(&tx, &self.sinks(), &request, &transition.events, at).await?;
            write_audit(&tx, &self.replica.get(), &transition.audit, at).await?;
            tx.commit().await?;
        }
        Ok(Some(Ok((request, transition))))
    }

    async fn change_pair(
        &self,
        window: &str,
        id: &str,
        rule: PairRule,
    ) -> Result<Option<Result<PairChanged, Refusal>>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Both rows, locked in id order: two transactions never wait on each other.
        let rows = tx
            .query(
                "SELECT id, body FROM requests WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE",
                &[&window, &id],
            )
            .await?;
        let mut first = None;
        let mut second = None;
        for row in &rows {
            let row_id: &str = row.get(0);
            let request = StoredRequest::from_body(row.get(1))?;
            if row_id == window {
                first = Some(request);
            } else {
                second = Some(request);
            }
        }
        let (Some(mut first), Some(mut second)) = (first, second) else {
            return Ok(None);
        };
        let at = clock(&tx).await?;
        let (one, two) = match rule(&mut first, &mut second, at) {
            Ok(t) => t,
            Err(refusal) => return Ok(Some(Err(refusal))),
        };
        let (sinks, replica) = (self.sinks(), self.replica.get());
        let mut records = Vec::new();
        for (request, transition) in [(&first, &one), (&second, &two)] {
            if transition.changed() {
                update(&tx, request).await?;
                write_events(&tx, &sinks, request, &transition.events, at).await?;
                records.extend(transition.audit.iter().cloned());
            }
        }
        write_audit(&tx, &replica, &records, at).await?;
        tx.commit().await?;
        Ok(Some(Ok((first, second, one, two))))
    }

    async fn open_windows(&self, requester: &str) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests
             WHERE requester = $1 AND window_until > extract(epoch FROM clock_timestamp())::bigint
             ORDER BY id",
            &[&requester],
        )
        .await
    }

    async fn due(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id FROM requests
                 WHERE next_unix > 0 AND next_unix <= extract(epoch FROM clock_timestamp())::bigint
                 ORDER BY next_unix LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    async fn open_reviews(&self) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE review_open = 1 ORDER BY id",
            &[],
        )
        .await
    }

    async fn with_status(&self, status: Status) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE status = $1 ORDER BY id",
            &[&status.as_str()],
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
        self.query(
            "SELECT body FROM requests WHERE id LIKE $1 ORDER BY id LIMIT $2",
            &[&pattern, &i64::from(limit)],
        )
        .await
    }

    async fn by_requester_digest(
        &self,
        requester: &str,
        digest: &str,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        self.query(
            "SELECT body FROM requests WHERE requester = $1 AND digest = $2 ORDER BY id DESC",
            &[&requester, &digest],
        )
        .await
    }

    async fn expire_due(&self, limit: u32) -> Result<Vec<StoredRequest>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let at = clock(&tx).await?;
        let rows = tx
            .query(
                "SELECT body FROM requests
                 WHERE status IN ('pending', 'approved') AND expires_unix <= $1
                 ORDER BY expires_unix LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&at.as_second(), &i64::from(limit)],
            )
            .await?;
        let (sinks, replica) = (self.sinks(), self.replica.get());
        let mut moved = Vec::new();
        let mut records = Vec::new();
        for row in rows {
            let mut request = StoredRequest::from_body(row.get(0))?;
            let Ok(transition) = crate::server::lifecycle::expire(&mut request, at) else {
                continue;
            };
            update(&tx, &request).await?;
            write_events(&tx, &sinks, &request, &transition.events, at).await?;
            records.extend(transition.audit);
            moved.push(request);
        }
        // Once, after every row lock is held: the chain's lock is always taken last.
        write_audit(&tx, &replica, &records, at).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn append_audit(&self, records: audit::Records) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let at = clock(&tx).await?;
        write_audit(&tx, &self.replica.get(), &records, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_record(&self, seq: Option<u64>) -> Result<Option<(u64, String)>, StoreError> {
        let client = self.client().await?;
        let found = match seq {
            Some(seq) => {
                client
                    .query_opt(
                        "SELECT seq, line FROM audit_records WHERE seq = $1",
                        &[&to_sql(seq)],
                    )
                    .await?
            }
            None => {
                client
                    .query_opt(
                        "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1",
                        &[],
                    )
                    .await?
            }
        };
        Ok(found.map(|row| {
            (
                u64::try_from(row.get::<_, i64>(0)).unwrap_or_default(),
                row.get(1),
            )
        }))
    }

    async fn audit_page(&self, after: Option<u64>, limit: u32) -> Result<audit::Page, StoreError> {
        let client = self.client().await?;
        let chain_id = client
            .query_opt(
                "SELECT value FROM meta WHERE key = $1",
                &[&audit::CHAIN_ID_KEY],
            )
            .await?
            .map(|row| row.get(0));
        let after = after.map_or(-1, to_sql);
        let rows = client
            .query(
                "SELECT seq, line FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await?
            .iter()
            .map(|row| {
                (
                    u64::try_from(row.get::<_, i64>(0)).unwrap_or_default(),
                    row.get(1),
                )
            })
            .collect();
        Ok(audit::Page { chain_id, rows })
    }

    async fn prune(
        &self,
        before: i64,
        min_days: u64,
        keep_days: u64,
        sign: audit::Signer,
    ) -> Result<audit::Pruned, StoreError> {
        let replica = self.replica.get();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Finished requests first (their rows, then the chain's lock: the order every
        // writer takes them in).
        let gone: Vec<String> = tx
            .query(
                "SELECT id FROM requests
                 WHERE status IN ('consumed', 'expired', 'rejected', 'cancelled')
                   AND expires_unix < $1 AND window_until < $1 AND review_open = 0
                 FOR UPDATE SKIP LOCKED",
                &[&before],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for table in ["deliveries", "events", "messages"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE request_id = ANY($1)"),
                &[&gone],
            )
            .await?;
        }
        tx.execute("DELETE FROM requests WHERE id = ANY($1)", &[&gone])
            .await?;
        let requests = gone.len() as u64;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&audit::LOCK_KEY])
            .await?;
        // The requests still kept: their records stay, and every record after them.
        let kept: std::collections::HashSet<String> = tx
            .query("SELECT id FROM requests", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let last: Option<i64> = tx
            .query_one("SELECT max(seq) FROM audit_records", &[])
            .await?
            .get(0);
        let rows: Vec<(i64, String)> = tx
            .query(
                "SELECT seq, line FROM audit_records ORDER BY seq LIMIT $1",
                &[&(audit::SCAN_LIMIT + 1)],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let at = clock(&tx).await?;
        let run = match last {
            Some(last) => audit::removable_run(&rows, before, &kept, last)?,
            None => None,
        };
        let chain_id: String = tx
            .query_opt(
                "SELECT value FROM meta WHERE key = $1",
                &[&audit::CHAIN_ID_KEY],
            )
            .await?
            .map(|row| row.get(0))
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
            write_audit(&tx, &replica, std::slice::from_ref(record), at).await?;
            if let Some((from, through)) = removed {
                records = tx
                    .execute(
                        "DELETE FROM audit_records WHERE seq >= $1 AND seq <= $2",
                        &[from, through],
                    )
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(audit::Pruned {
            records,
            requests,
            record: pass.map(|p| p.record.1),
        })
    }

    async fn claim(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let at = clock(&tx).await?.as_second();
        let rows = tx
            .query(
                "SELECT d.event_seq, e.id, d.sink, e.kind, e.request_id, e.created_at, e.request, d.attempts
                 FROM deliveries d JOIN events e ON e.seq = d.event_seq
                 WHERE d.done_unix IS NULL AND d.due_unix <= $1
                   AND (d.lease_until IS NULL OR d.lease_until <= $1)
                   AND d.sink = ANY($3)
                   AND NOT EXISTS (SELECT 1 FROM deliveries o
                                   WHERE o.request_id = d.request_id AND o.sink = d.sink
                                     AND o.done_unix IS NULL AND o.event_seq < d.event_seq)
                 ORDER BY d.event_seq LIMIT $2
                 FOR UPDATE OF d SKIP LOCKED",
                &[&at, &i64::from(limit), &self.sinks()],
            )
            .await?;
        let until = at + i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2);
        let mut claimed = Vec::new();
        for row in rows {
            let seq: i64 = row.get(0);
            let sink: String = row.get(2);
            tx.execute(
                "UPDATE deliveries SET lease_owner = $3, lease_until = $4 WHERE event_seq = $1 AND sink = $2",
                &[&seq, &sink, &owner, &until],
            )
            .await?;
            let attempts: i32 = row.get(7);
            claimed.push(Delivery {
                event_id: row.get(1),
                sink,
                kind: row.get(3),
                request_id: row.get(4),
                created_at: row.get(5),
                request: StoredRequest::from_body(row.get(6))?,
                attempts: attempts.max(0) as u32,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn delivered(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let at = clock(&client).await?.as_second();
        client
            .execute(
                "UPDATE deliveries SET done_unix = $3, error = $4, lease_owner = NULL, lease_until = NULL,
                        attempts = attempts + 1
                 WHERE sink = $2 AND event_seq = (SELECT seq FROM events WHERE id = $1) AND lease_owner = $5",
                &[&event_id, &sink, &at, &error, &owner],
            )
            .await?;
        Ok(())
    }

    async fn retry_later(
        &self,
        owner: &str,
        event_id: &str,
        sink: &str,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let due =
            clock(&client).await?.as_second() + i64::try_from(delay.as_secs()).unwrap_or(3600);
        client
            .execute(
                "UPDATE deliveries SET due_unix = $3, error = $4, lease_owner = NULL, lease_until = NULL,
                        attempts = attempts + 1
                 WHERE sink = $2 AND event_seq = (SELECT seq FROM events WHERE id = $1) AND lease_owner = $5",
                &[&event_id, &sink, &due, &error, &owner],
            )
            .await?;
        Ok(())
    }

    async fn undelivered(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()
            .await?
            .query_one(
                "SELECT count(*) FROM deliveries WHERE done_unix IS NULL",
                &[],
            )
            .await?
            .get(0);
        Ok(n as u64)
    }

    async fn put_session(&self, id: &str, session: &Session) -> Result<(), StoreError> {
        let client = self.client().await?;
        let at = clock(&client).await?.as_second();
        client
            .execute("DELETE FROM sessions WHERE expires_unix <= $1", &[&at])
            .await?;
        client
            .execute(
                "INSERT INTO sessions (id, \"user\", token_sha256, csrf, expires_unix) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &session.user, &session.token_sha256, &session.csrf, &session.expires_unix],
            )
            .await?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        let at = clock(&client).await?.as_second();
        Ok(client
            .query_opt(
                "SELECT \"user\", token_sha256, csrf, expires_unix FROM sessions WHERE id = $1 AND expires_unix > $2",
                &[&id, &at],
            )
            .await?
            .map(|row| Session {
                user: row.get(0),
                token_sha256: row.get(1),
                csrf: row.get(2),
                expires_unix: row.get(3),
            }))
    }

    async fn remove_session(&self, id: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM sessions WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn put_message(
        &self,
        request_id: &str,
        kind: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO messages (request_id, kind, channel, ts) VALUES ($1, $2, $3, $4)",
                &[&request_id, &kind, &channel, &ts],
            )
            .await?;
        Ok(())
    }

    async fn messages(
        &self,
        request_id: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(self
            .client()
            .await?
            .query(
                "SELECT kind, channel, ts FROM messages WHERE request_id = $1",
                &[&request_id],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    async fn witness_log(&self, key: LogKey<'_>) -> Result<Option<WitnessLog>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT id, chain_id FROM witness_logs WHERE host = $1 AND \"user\" = $2 AND path = $3",
                &[&key.host, &key.user, &key.path],
            )
            .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.get(0);
        let latest = client
            .query_opt(
                "SELECT seq, hash, at, identity FROM witness_heads WHERE log = $1 ORDER BY seq DESC LIMIT 1",
                &[&id],
            )
            .await?
            .map(|row| head_row(&row));
        Ok(Some(WitnessLog {
            id,
            chain_id: row.get(1),
            latest,
        }))
    }

    async fn witness_hashes(
        &self,
        log: i64,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self
            .client()
            .await?
            .query(
                "SELECT seq, hash FROM witness_records WHERE log = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
                &[&log, &to_sql(from), &to_sql(to)],
            )
            .await?
            .iter()
            .map(|row| {
                (
                    row.get::<_, i64>(0) as u64,
                    hex::encode(row.get::<_, Vec<u8>>(1)),
                )
            })
            .collect())
    }

    async fn witness_extend(
        &self,
        key: LogKey<'_>,
        chain_id: &str,
        expected: Option<u64>,
        records: &[(u64, String)],
        head: &WitnessedHead,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO witness_logs (host, \"user\", path, chain_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (host, \"user\", path) DO NOTHING",
            &[&key.host, &key.user, &key.path, &chain_id],
        )
        .await?;
        // The log's row is held until commit: replicas extend one log in turn.
        let log: i64 = tx
            .query_one(
                "SELECT id FROM witness_logs WHERE host = $1 AND \"user\" = $2 AND path = $3 FOR UPDATE",
                &[&key.host, &key.user, &key.path],
            )
            .await?
            .get(0);
        let latest: Option<i64> = tx
            .query_one("SELECT max(seq) FROM witness_heads WHERE log = $1", &[&log])
            .await?
            .get(0);
        if latest != expected.map(to_sql) {
            return Err(super::witness_moved());
        }
        let insert = tx
            .prepare("INSERT INTO witness_records (log, seq, hash) VALUES ($1, $2, $3)")
            .await?;
        for (seq, hash) in records {
            let bytes = hex::decode(hash).map_err(|e| StoreError(e.to_string()))?;
            tx.execute(&insert, &[&log, &to_sql(*seq), &bytes]).await?;
        }
        tx.execute(
            "INSERT INTO witness_heads (log, seq, hash, at, identity) VALUES ($1, $2, $3, $4, $5)",
            &[
                &log,
                &to_sql(head.seq),
                &head.hash,
                &head.at,
                &head.identity,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn witnessed_logs(
        &self,
        host: &str,
        user: &str,
        path: Option<&str>,
    ) -> Result<Vec<WitnessedLog>, StoreError> {
        let client = self.client().await?;
        let logs = client
            .query(
                "SELECT id, path, chain_id FROM witness_logs
                 WHERE host = $1 AND \"user\" = $2 AND ($3::text IS NULL OR path = $3) ORDER BY path",
                &[&host, &user, &path],
            )
            .await?;
        let mut out = Vec::new();
        for log in logs {
            let id: i64 = log.get(0);
            let heads = client
                .query(
                    "SELECT seq, hash, at, identity FROM witness_heads WHERE log = $1 ORDER BY seq",
                    &[&id],
                )
                .await?
                .iter()
                .map(head_row)
                .collect();
            out.push(WitnessedLog {
                host: host.to_owned(),
                user: user.to_owned(),
                path: log.get(1),
                chain_id: log.get(2),
                heads,
            });
        }
        Ok(out)
    }
}

fn head_row(row: &tokio_postgres::Row) -> WitnessedHead {
    WitnessedHead {
        seq: row.get::<_, i64>(0) as u64,
        hash: row.get(1),
        at: row.get(2),
        identity: row.get(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        let shown = redacted("postgres://app:s3cret@db.internal:5432/gatekeep?sslmode=require");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app:***@db.internal"), "{shown}");
        let shown = redacted("postgres://db/gatekeep?user=app&password=s3cret");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn database_urls_are_recognised_whatever_their_case_and_others_refused() {
        use super::super::Database;
        assert_eq!(
            Database::parse(" Postgres://u:s3cret@h/db ").unwrap(),
            Database::Postgres("postgres://u:s3cret@h/db".into())
        );
        assert_eq!(
            Database::parse("/var/lib/gatekeep/gatekeep.db").unwrap(),
            Database::Sqlite("/var/lib/gatekeep/gatekeep.db".into())
        );
        let error = Database::parse("mysql://u:s3cret@h/db").unwrap_err();
        assert!(error.contains("mysql://u:***@h/db"), "{error}");
        let shown = Database::Postgres("postgres://u:s3cret@h/db".into()).display();
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn sslmode_is_honoured_and_verification_is_on_unless_the_url_says_otherwise() {
        let disabled = connect_options("postgres://u:p@h/db?sslmode=disable").expect("parses");
        assert_eq!(
            disabled.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        for mode in ["require", "verify-ca", "verify-full"] {
            let c = connect_options(&format!("postgres://u:p@h/db?sslmode={mode}")).expect(mode);
            assert_eq!(
                c.config.get_ssl_mode(),
                tokio_postgres::config::SslMode::Require
            );
            assert!(!c.unverified, "{mode} verifies");
        }
        // Without sslmode: TLS required for another host, preferred on this one.
        let remote = connect_options("postgres://u:p@db.internal/db").expect("parses");
        assert_eq!(
            remote.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert!(!remote.unverified);
        let local = connect_options("postgres://u:p@127.0.0.1/db").expect("parses");
        assert_eq!(
            local.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Prefer
        );
        let unverified =
            connect_options("postgres://u:p@h/db?sslmode=require&sslverify=none").expect("parses");
        assert!(unverified.unverified);
        let error = connect_options("postgres://u:s3cret@h/db?sslmode=sometimes")
            .err()
            .expect("an unknown sslmode is refused")
            .to_string();
        assert!(
            error.contains("sslmode=sometimes") && !error.contains("s3cret"),
            "{error}"
        );
        let error = connect_options("postgres://u:s3cret@h/db?sslrootcert=/nonexistent/ca.pem")
            .err()
            .expect("a missing root certificate is refused")
            .to_string();
        assert!(
            error.contains("/nonexistent/ca.pem") && !error.contains("s3cret"),
            "{error}"
        );
    }
}
