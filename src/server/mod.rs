//! The approval service: `fn router(state)` for tests and `serve(listener, …)` for real.
//!
//! Requests, reviews and grants live in a [`Store`]; every state change is also appended to
//! the service's own hash-chained audit log (the same format as the client's).

mod bar;
pub mod chain_head;
mod channels;
mod config;
mod export;
mod handlers;
pub mod lifecycle;
mod messages;
mod outbox;
mod retention;
mod slack;
pub mod store;
mod web;
pub mod webhooks;
mod windows;
mod witness;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

pub use channels::{SlackConfig, TeamsConfig, verify_slack};
pub use config::{
    Identities, Limits, SecretConfig, ServerConfig, ServerSecret, Tls, User, token_sha256,
};
pub use store::{Database, Store, StoreError, StoredRequest};

use crate::approval::KeyPair;
use crate::audit::AuditLog;
use crate::policy::Policy;

/// Largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest body of `POST /v1/witness` (record lines proving an extension).
pub const WITNESS_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
pub use witness::MAX_LINES as WITNESS_MAX_LINES;
pub use witness::RETENTION_MIN_DAYS as WITNESS_RETENTION_MIN_DAYS;
/// Longest long-poll wait, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 60;
/// How often a long-poll reads its request again even when nothing woke it: the safety
/// net under the wake-ups.
pub const REREAD_SECONDS: u64 = 15;

/// Shared state of a running service.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub identities: RwLock<Identities>,
    pub key: Arc<KeyPair>,
    pub limits: Limits,
    /// Base URL for review links, without a trailing slash.
    pub public_url: RwLock<String>,
    /// This replica's own audit log.
    pub audit: AuditLog,
    /// This replica's name (its audit log and its leases on outbox rows carry it).
    pub replica: String,
    /// Serialises witness checks and writes on this replica.
    pub witness_writes: Mutex<()>,
    /// Wakes this replica's outbox worker after a change it made.
    pub outbox_poke: Arc<tokio::sync::Notify>,
    /// Long-polls held now, by identity.
    pub waits: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// Slack and Teams, when configured.
    pub channels: RwLock<Option<Arc<channels::Channels>>>,
    /// Webhook receivers.
    pub webhooks: RwLock<Vec<webhooks::Webhook>>,
    /// Whether the service is served over TLS (cookies are then `Secure`).
    pub tls: bool,
    /// Named secrets and their values (never written anywhere).
    pub secrets: RwLock<std::collections::BTreeMap<String, ServerSecret>>,
    /// The service's own policy (`policies:`), when it has one.
    pub policy: RwLock<Option<Arc<Policy>>>,
}

impl AppState {
    pub fn identities(&self) -> std::sync::RwLockReadGuard<'_, Identities> {
        self.identities
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn replace_identities(&self, identities: Identities) {
        *self
            .identities
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = identities;
    }

    pub fn replace_secrets(&self, secrets: std::collections::BTreeMap<String, ServerSecret>) {
        *self
            .secrets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = secrets;
    }

    /// The secrets now configured.
    pub fn secrets(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, std::collections::BTreeMap<String, ServerSecret>> {
        self.secrets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The service's own policy in force now.
    pub fn policy(&self) -> Option<Arc<Policy>> {
        self.policy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts a newly loaded policy in force; requests already filed keep their requirements.
    pub fn replace_policy(&self, policy: Option<Policy>) {
        *self
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = policy.map(Arc::new);
    }

    pub fn review_url(&self, id: &str) -> String {
        let base = self
            .public_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        format!("{base}/requests/{id}")
    }

    pub(crate) fn channels(&self) -> Option<Arc<channels::Channels>> {
        self.channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn webhooks(&self) -> Vec<webhooks::Webhook> {
        self.webhooks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts the background work of this replica on the current runtime: the outbox
    /// worker delivering events to the webhooks, Slack and Teams, and the sweeper that
    /// expires requests. Every replica runs both; the database shares the work out.
    pub fn start(
        self: &Arc<Self>,
        hooks: Vec<webhooks::Webhook>,
        slack: Option<SlackConfig>,
        teams: Option<TeamsConfig>,
    ) {
        let mut sinks: Vec<String> = hooks.iter().map(webhooks::sink).collect();
        if slack.is_some() {
            sinks.push(outbox::SLACK.to_owned());
        }
        if teams.is_some() {
            sinks.push(outbox::TEAMS.to_owned());
        }
        let delivering = !sinks.is_empty();
        self.store.set_sinks(sinks);
        *self
            .webhooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = hooks;
        *self
            .channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            channels::Channels::new(slack, teams, Arc::clone(&self.store));
        if delivering {
            outbox::start(Arc::downgrade(self));
        }
        outbox::start_sweeper(Arc::downgrade(self));
    }

    /// After a change this replica committed (its audit records in the database with
    /// it): the records in this replica's own log file, and a nudge to the outbox worker.
    pub(crate) fn committed(&self, transition: &lifecycle::Transition) {
        for (event, fields) in &transition.audit {
            self.mirror(event, fields.clone());
        }
        if !transition.events.is_empty() {
            self.outbox_poke.notify_one();
        }
    }

    /// Records an event in the database's audit chain and, once it is there, in this
    /// replica's own log file; the database's refusal, if it refuses.
    pub async fn record(
        &self,
        event: &str,
        fields: serde_json::Value,
    ) -> Result<(), store::StoreError> {
        self.store
            .append_audit(vec![(event.to_owned(), fields.clone())])
            .await?;
        self.mirror(event, fields);
        Ok(())
    }

    /// As [`AppState::record`], for what goes on whether or not it is recorded: a failure
    /// is only reported in the diagnostics.
    pub async fn record_or_log(&self, event: &str, fields: serde_json::Value) {
        handlers::audit(self, event, fields).await;
    }

    /// Appends a record the database already holds to this replica's own log file.
    pub(crate) fn mirror(&self, event: &str, fields: serde_json::Value) {
        if let Err(error) = self.audit.append(event, fields) {
            tracing::error!(%error, event, "cannot write the service audit log");
        }
    }
}

/// Reads an Ed25519 signing key written by `gatekeep keygen` (hex seed, one line).
pub fn read_key(path: &Path) -> std::io::Result<KeyPair> {
    let text = std::fs::read_to_string(path)?;
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            std::io::Error::other(format!("{} is not a gatekeep signing key", path.display()))
        })?;
    Ok(KeyPair::from_seed(seed))
}

/// Writes a new signing key to `path` (created 0600; an existing file is never
/// overwritten).
pub fn write_new_key(path: &Path) -> std::io::Result<KeyPair> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = KeyPair::generate()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", hex::encode(key.seed()))?;
    file.sync_all()?;
    Ok(key)
}

/// Loads the signing key from `data_dir/signing.key`, creating it (0600) on first start.
pub fn load_or_create_key(data_dir: &Path) -> std::io::Result<KeyPair> {
    let path = data_dir.join("signing.key");
    match read_key(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new_key(&path),
        other => other,
    }
}

/// Everything needed to start a service.
pub struct Setup {
    pub data_dir: PathBuf,
    pub database: Option<Database>,
    /// The signing key file; required with PostgreSQL.
    pub signing_key: Option<PathBuf>,
    /// This replica's name (default: the host name).
    pub replica: Option<String>,
    pub users: Vec<User>,
    pub limits: Limits,
    pub public_url: Option<String>,
    pub tls: bool,
    pub secrets: std::collections::BTreeMap<String, ServerSecret>,
    pub policy: Option<Policy>,
}

impl AppState {
    /// Opens the data directory (created 0700), database, signing key and audit log.
    pub async fn open(setup: Setup) -> Result<Arc<AppState>, crate::exit::UserError> {
        use crate::exit::UserError;
        use std::os::unix::fs::DirBuilderExt as _;
        let fail =
            |what: &str, e: &dyn std::fmt::Display| UserError::new(format!("cannot {what}: {e}"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&setup.data_dir)
            .map_err(|e| fail("create the data directory", &e))?;
        let database = setup
            .database
            .clone()
            .unwrap_or_else(|| Database::Sqlite(setup.data_dir.join("gatekeep.db")));
        let key = match (&setup.signing_key, &database) {
            (Some(path), _) => read_key(path).map_err(|e| {
                UserError::new(format!(
                    "cannot read the signing key {}: {e}",
                    path.display()
                ))
                .hint("make one with `gatekeep keygen PATH`")
            })?,
            (None, Database::Postgres(_)) => {
                return Err(UserError::new(
                    "a service on PostgreSQL needs `signing_key: PATH` in its configuration",
                )
                .hint("make the key once with `gatekeep keygen PATH` and give every replica the same file"));
            }
            (None, Database::Sqlite(_)) => {
                load_or_create_key(&setup.data_dir).map_err(|e| fail("load the signing key", &e))?
            }
        };
        let store = store::open(&database).await.map_err(|e| {
            UserError::new(format!(
                "cannot open the database {}: {e}",
                database.display()
            ))
            .hint(match database {
                Database::Postgres(_) => "check the URL, that the server is up, and its sslmode",
                Database::Sqlite(_) => "check that the file is readable and writable",
            })
        })?;
        let recorded = store
            .signing_key(&key.key_id())
            .await
            .map_err(|e| fail("read the database", &e))?;
        if recorded != key.key_id() {
            return Err(UserError::new(format!(
                "the signing key (id {}) is not the one this database was first used with (id {})",
                &key.key_id()[..16],
                crate::render::prefix(&recorded, 16)
            ))
            .hint("give every replica the same signing_key file; to change keys on purpose, run `gatekeep serve --rotate-key`"));
        }
        let replica = setup
            .replica
            .clone()
            .unwrap_or_else(crate::environment::hostname);
        store.set_replica(replica.clone());
        // One audit log per replica, named by replica, so replicas sharing a directory
        // never interleave their chains.
        let audit_name = match &database {
            Database::Sqlite(_) => "audit.jsonl".to_owned(),
            Database::Postgres(_) => format!("audit-{}.jsonl", file_safe(&replica)),
        };
        let audit = AuditLog::new(
            setup.data_dir.join(audit_name),
            None,
            crate::environment::hostname(),
            format!("gatekeep-serve@{replica}"),
        );
        Ok(Arc::new(AppState {
            store,
            identities: RwLock::new(Identities::new(setup.users)),
            key: Arc::new(key),
            limits: setup.limits,
            public_url: RwLock::new(
                setup
                    .public_url
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned(),
            ),
            audit,
            replica,
            witness_writes: Mutex::new(()),
            outbox_poke: Arc::new(tokio::sync::Notify::new()),
            waits: Arc::default(),
            channels: RwLock::new(None),
            webhooks: RwLock::new(Vec::new()),
            tls: setup.tls,
            secrets: RwLock::new(setup.secrets),
            policy: RwLock::new(setup.policy.map(Arc::new)),
        }))
    }
}

/// A name made safe for a file name: letters, digits, `-`, `_` and `.` kept.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The API v1 routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/v1/keys", get(handlers::keys))
        .route("/v1/me", get(handlers::me))
        .route("/v1/requests", post(handlers::create).get(handlers::list))
        .route("/v1/requests/{id}", get(handlers::show))
        .route("/v1/requests/{id}/reviews", post(handlers::review))
        .route("/v1/requests/{id}/cancel", post(handlers::cancel))
        .route("/v1/requests/{id}/consume", post(handlers::consume))
        .route("/v1/requests/{id}/revoke", post(handlers::revoke))
        .route(
            "/v1/requests/{id}/after-review",
            post(handlers::after_review),
        )
        .route("/v1/slack/interactions", post(handlers::slack_interactions))
        .route("/v1/witness/{host}/{user}", get(witness::list_witnesses))
        .route("/v1/export", get(export::export))
        .route("/v1/reports/signatures", post(export::sign_report))
        .merge(web::routes())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        // Proofs of extension carry record lines: a larger limit of their own.
        .merge(
            Router::new()
                .route("/v1/witness", post(witness::put_witness))
                .layer(axum::extract::DefaultBodyLimit::max(WITNESS_MAX_BODY_BYTES))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(
                    WITNESS_MAX_BODY_BYTES,
                )),
        )
        .layer(axum::middleware::from_fn(api_errors_as_json))
        .with_state(state)
}

/// Errors that layers answer by themselves (a body over the limit) get the API's JSON
/// error shape on `/v1/` routes, like every other error there.
async fn api_errors_as_json(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let api = request.uri().path().starts_with("/v1/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    (status, axum::Json(serde_json::json!({"error": error}))).into_response()
}

/// Serves until `shutdown` resolves. With `tls`, connections are TLS (rustls).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = (
        std::time::Duration::from_secs(state.limits.header_timeout),
        state.limits.max_connections,
    );
    let app = router(state);
    match tls {
        None => serve_connections(PlainListener(listener), app, limits, shutdown).await,
        Some(acceptor) => {
            let listener = TlsListener::new(listener, acceptor, limits)?;
            serve_connections(listener, app, limits, shutdown).await
        }
    }
}

/// The router, with the connection's peer address put on each request (what
/// `ConnectInfo` extracts): one shared router for every connection.
#[derive(Clone)]
struct WithPeer {
    app: Router,
    addr: SocketAddr,
}

impl<B> tower_service::Service<axum::http::Request<B>> for WithPeer
where
    Router: tower_service::Service<axum::http::Request<B>>,
{
    type Response = <Router as tower_service::Service<axum::http::Request<B>>>::Response;
    type Error = <Router as tower_service::Service<axum::http::Request<B>>>::Error;
    type Future = <Router as tower_service::Service<axum::http::Request<B>>>::Future;

    fn poll_ready(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower_service::Service::poll_ready(&mut self.app, context)
    }

    fn call(&mut self, mut request: axum::http::Request<B>) -> Self::Future {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.addr));
        self.app.call(request)
    }
}

/// Plain TCP connections.
struct PlainListener(TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Serves HTTP/1.1 on each accepted connection, with the peer's address for handlers
/// (`ConnectInfo`). A client must send each request's headers within `header_timeout`
/// (an idle keep-alive connection is closed after as long), and at most `max` are held
/// at once (`connections:` in the configuration): a client that connects and says
/// nothing, or many of them, holds only what it opened, and not for long. On shutdown, accepting stops and open
/// connections finish what they are answering.
async fn serve_connections<L>(
    mut listener: L,
    app: Router,
    (header_timeout, max): (std::time::Duration, usize),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%addr, "too many connections; closing a new one");
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(WithPeer {
            app: app.clone(),
            addr,
        });
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(io), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %addr, "connection ended");
                    }
                }
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    // Every connection gives its slot back once it has finished.
    let _ = slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// Builds a TLS acceptor from PEM certificate chain and key files.
pub fn tls_acceptor(tls: &Tls) -> Result<tokio_rustls::TlsAcceptor, crate::exit::UserError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let fail = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        crate::exit::UserError::new(format!("cannot read TLS {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| fail("certificate", &tls.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail("certificate", &tls.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| fail("key", &tls.key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| crate::exit::UserError::new(format!("TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| crate::exit::UserError::new(format!("TLS certificate and key do not fit: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// TLS connections, each handshake done on its own task after accept: a client that
/// connects and says nothing holds only its own connection, never the next one's.
struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Handshakes get `timeout` each, and at most `max` are under way at once (more
    /// connections are closed as they arrive).
    fn new(
        tcp: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
        (timeout, max): (std::time::Duration, usize),
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (done, ready) = tokio::sync::mpsc::channel(64);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(max));
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&handshakes).try_acquire_owned() else {
                    tracing::warn!(%addr, "too many TLS handshakes under way; closing a new connection");
                    continue;
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
                    drop(slot);
                    match handshake {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, addr)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, %addr, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended (it never does by itself): serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
