//! The client side of the approval service: finding the server and credentials, and the
//! API v1 calls (blocking HTTP, rustls with the ring provider).

pub mod break_glass;
mod cause;
pub(crate) mod credentials;
pub mod keyring;
pub mod logins;
mod resolve;
pub mod secret_store;
mod wait;
pub mod witness;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use credentials::{Connection, DevServer, TokenSource, connect, is_loopback_url};
pub use resolve::request_id;
pub use wait::{Outcome, Progress, wait_for_decision};

use crate::approval::{
    ApiError, Created, NewRequest, NewReview, RequestView, WitnessProof, Witnessed, WitnessedLog,
};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error.
    #[error("{url} answered {status}: {}{}", .body.error, token_note(*.status, .token_source.as_deref()))]
    Api {
        status: u16,
        body: ApiError,
        /// The service URL that answered.
        url: String,
        /// Where the token sent came from, when known.
        token_source: Option<Box<TokenSource>>,
    },
    /// The service could not be reached (worth retrying). The message names the URL and
    /// the cause.
    #[error("{0}")]
    Unreachable(String),
    /// The answer made no sense.
    #[error("unexpected answer from the approval service: {0}")]
    Protocol(String),
}

/// For a 401: which token was refused.
fn token_note(status: u16, source: Option<&TokenSource>) -> String {
    match source {
        Some(source) if status == 401 => format!(" (the token from {source})"),
        _ => String::new(),
    }
}

impl ClientError {
    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClientError::Unreachable(message) => {
                Some(cause::Cause::of_message(message).hint().to_owned())
            }
            ClientError::Api { status: 401, .. } => Some(
                "the service does not know this token: check it, or log in again with `gatekeep login`"
                    .to_owned(),
            ),
            ClientError::Api { body, .. } => body.hint.clone(),
            ClientError::Protocol(_) => None,
        }
    }

    /// The error for people: `doing` (what failed, e.g. "cannot fetch request X"), the
    /// cause, and its hint.
    pub fn to_user_error(&self, doing: &str) -> crate::exit::UserError {
        let error = crate::exit::UserError::new(format!("{doing}: {self}")).kind(match self {
            ClientError::Unreachable(_) => "service_unreachable",
            _ => "service_refused",
        });
        match self.hint() {
            Some(hint) => error.hint(hint),
            None => error,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error for a request the service would not file. Its own policy denying the
    /// command ends the run as a denial (exit 126), like a local `deny`.
    pub fn filing_refused(&self) -> crate::exit::UserError {
        use crate::exit::{Exit, UserError};
        match self {
            ClientError::Api {
                status: 403, body, ..
            } if !body.denied_by.is_empty() => UserError::new(body.error.clone())
                .hint("the approval service's own policy refuses it; nothing was run")
                .exit(Exit::Denied)
                .kind("service_denied"),
            ClientError::Api {
                body: ApiError {
                    hint: Some(hint), ..
                },
                ..
            } => UserError::new(format!("the approval service refused the request: {self}"))
                .hint(hint.clone())
                .kind("service_refused"),
            _ => self.to_user_error("the approval service refused the request"),
        }
    }
}

/// One page of the service's export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportPage {
    /// The records, one JSON line each.
    pub text: String,
    /// The `seq` to ask after for the next page.
    pub next: Option<u64>,
    /// The id of the service's chain.
    pub chain_id: Option<String>,
}

/// An authenticated client of one service.
pub struct ApiClient {
    /// The service's URLs: replicas tried in turn.
    bases: Vec<String>,
    /// The one in use.
    current: std::sync::atomic::AtomicUsize,
    token: String,
    /// Where the token came from, named when the service refuses it.
    token_source: Option<TokenSource>,
    http: reqwest::blocking::Client,
    /// When set, no call runs past it (a hook must answer before the agent gives up).
    deadline: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The service's URLs from `server:` or `GATEKEEP_SERVER`: one, or several separated by
/// commas or spaces (replicas, tried in turn).
pub fn split_servers(text: &str) -> Vec<String> {
    let bases: Vec<String> = text
        .split([',', ' ', '\n'])
        .map(|s| s.trim().trim_end_matches('/'))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if bases.is_empty() {
        vec![String::new()]
    } else {
        bases
    }
}

/// Installs the ring provider for rustls (this build carries no other), once.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> Result<ApiClient, ClientError> {
        ensure_crypto_provider();
        let mut builder = reqwest::blocking::Client::builder();
        // A private CA for the service, on top of the system's trust store.
        if let Some(path) = std::env::var_os(crate::env_vars::GATEKEEP_CA_CERT) {
            let pem = std::fs::read(&path).map_err(|e| {
                ClientError::Protocol(format!(
                    "cannot read {}: {e}",
                    std::path::Path::new(&path).display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::Protocol(format!("bad CA certificate: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(crate::server::MAX_WAIT_SECONDS + 15))
            .user_agent(concat!("gatekeep/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(ApiClient {
            bases: split_servers(base),
            current: std::sync::atomic::AtomicUsize::new(0),
            token: token.trim().to_owned(),
            token_source: None,
            http,
            deadline: std::sync::Mutex::new(None),
        })
    }

    /// Names where the token came from in the errors of later calls.
    #[must_use]
    pub fn with_token_source(mut self, source: TokenSource) -> ApiClient {
        self.token_source = Some(source);
        self
    }

    /// Bounds every later call by `deadline`: a call that would run past it fails as
    /// unreachable.
    pub fn set_deadline(&self, deadline: std::time::Instant) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
    }

    /// The URL of the replica in use.
    pub fn base(&self) -> &str {
        &self.bases[self.current.load(std::sync::atomic::Ordering::Relaxed) % self.bases.len()]
    }

    /// Moves to the next replica, when there is one; says whether it did.
    fn fail_over(&self) -> bool {
        if self.bases.len() < 2 {
            return false;
        }
        let from = self.base().to_owned();
        self.current
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(%from, to = %self.base(), "moving to another replica of the service");
        true
    }

    /// Sends the request `build` makes; when the replica in use cannot be reached or its
    /// proxy says it is down (502, 503, 504), the same request goes to the next replica
    /// (every call is safe to repeat: creates carry an idempotency key, consumes the
    /// grant's nonce, reviews count once per reviewer).
    fn send<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<T, ClientError> {
        self.send_for_status(build).map(|(answer, _)| answer)
    }

    /// `send`, also giving the status the service answered with.
    fn send_for_status<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<(T, u16), ClientError> {
        let mut tries = self.bases.len();
        loop {
            tries -= 1;
            match self.send_once(build()) {
                Err(
                    ClientError::Unreachable(_)
                    | ClientError::Api {
                        status: 502..=504, ..
                    },
                ) if tries > 0 && self.fail_over() => {}
                other => return other,
            }
        }
    }

    /// The error for an answer of `status` with `bytes`: the service's error body, or its
    /// text when it is not one.
    fn refused(&self, status: u16, bytes: &[u8]) -> ClientError {
        let body = serde_json::from_slice(bytes).unwrap_or_else(|_| ApiError {
            error: String::from_utf8_lossy(bytes).trim().to_owned(),
            hint: None,
            denied_by: Vec::new(),
        });
        ClientError::Api {
            status,
            body,
            url: self.base().to_owned(),
            token_source: self.token_source.clone().map(Box::new),
        }
    }

    fn send_once<T: DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<(T, u16), ClientError> {
        let mut request = request.bearer_auth(&self.token);
        let deadline = *self.deadline.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ClientError::Unreachable(format!(
                    "cannot reach the approval service at {}: timed out (no time left before the deadline)",
                    self.base()
                )));
            }
            request = request.timeout(left);
        }
        let response = request
            .send()
            .map_err(|e| ClientError::Unreachable(cause::describe(self.base(), &e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .map_err(|e| ClientError::Unreachable(cause::describe(self.base(), &e)))?;
        if !status.is_success() {
            return Err(self.refused(status.as_u16(), &bytes));
        }
        let answer = if bytes.is_empty() {
            serde_json::from_value(Value::Null)
        } else {
            serde_json::from_slice(&bytes)
        };
        answer
            .map(|answer| (answer, status.as_u16()))
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// A URL whose last path segments are percent-encoded.
    fn url_with_segments(&self, path: &str, segments: &[&str]) -> String {
        let mut url = match reqwest::Url::parse(&self.url(path)) {
            Ok(url) => url,
            Err(_) => return self.url(path),
        };
        if let Ok(mut parts) = url.path_segments_mut() {
            parts.extend(segments);
        }
        url.to_string()
    }

    /// Files a request. `key` (the run id) makes the call safe to retry: the service
    /// answers a retry with the request the first call filed.
    pub fn create(&self, request: &NewRequest, key: Option<&str>) -> Result<Created, ClientError> {
        self.send(|| {
            let call = self.http.post(self.url("/v1/requests")).json(request);
            match key {
                Some(key) => call.header("idempotency-key", key),
                None => call,
            }
        })
    }

    /// Long-polls a request for up to `wait` seconds.
    pub fn get(&self, id: &str, wait: u64) -> Result<RequestView, ClientError> {
        self.send(|| {
            self.http
                .get(self.url(&format!("/v1/requests/{id}")))
                .query(&[("wait", wait)])
        })
    }

    pub fn pending(&self) -> Result<Vec<RequestView>, ClientError> {
        let value: Value = self.send(|| {
            self.http
                .get(self.url("/v1/requests"))
                .query(&[("status", "pending")])
        })?;
        serde_json::from_value(value["requests"].clone())
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// The requests whose id starts with `prefix` that the caller may see (at most a
    /// few; the service refuses prefixes under `approval::ids::MIN_PREFIX` characters).
    pub fn by_prefix(&self, prefix: &str) -> Result<Vec<RequestView>, ClientError> {
        let value: Value = self.send(|| {
            self.http
                .get(self.url("/v1/requests"))
                .query(&[("prefix", prefix)])
        })?;
        serde_json::from_value(value["requests"].clone())
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Who the service says the caller is (`GET /v1/me`).
    pub fn me(&self) -> Result<crate::approval::Me, ClientError> {
        self.send(|| self.http.get(self.url("/v1/me")))
    }

    pub fn mine_for_digest(&self, digest: &str) -> Result<Vec<RequestView>, ClientError> {
        let value: Value = self.send(|| {
            self.http
                .get(self.url("/v1/requests"))
                .query(&[("digest", digest), ("mine", "true")])
        })?;
        serde_json::from_value(value["requests"].clone())
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Reviews a request; says whether the review was recorded (false: this reviewer had
    /// given the same verdict already, and nothing changed).
    pub fn review(&self, id: &str, review: &NewReview) -> Result<(RequestView, bool), ClientError> {
        let (view, status) = self.send_for_status(|| {
            self.http
                .post(self.url(&format!("/v1/requests/{id}/reviews")))
                .json(review)
        })?;
        Ok((view, status == 201))
    }

    /// One page of the service's own records (`GET /v1/export`, gatekeep's JSON Lines)
    /// after record `after`: the lines, and the cursor of the next page (none at the end).
    pub fn export_page(&self, after: Option<u64>) -> Result<ExportPage, ClientError> {
        let mut query = vec![("format", "jsonl".to_owned()), ("limit", "1000".to_owned())];
        if let Some(after) = after {
            query.push(("after", after.to_string()));
        }
        let response = self
            .http
            .get(self.url("/v1/export"))
            .query(&query)
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| ClientError::Unreachable(cause::describe(self.base(), &e)))?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next = header("gatekeep-next-after").and_then(|v| v.parse().ok());
        let chain_id = header("gatekeep-chain-id");
        let text = response
            .text()
            .map_err(|e| ClientError::Unreachable(cause::describe(self.base(), &e)))?;
        if !status.is_success() {
            return Err(self.refused(status.as_u16(), text.as_bytes()));
        }
        Ok(ExportPage {
            text,
            next,
            chain_id,
        })
    }

    /// The service's signature of a report's digest.
    pub fn sign_report(&self, digest: &str) -> Result<crate::report::sign::Signature, ClientError> {
        self.send(|| {
            self.http
                .post(self.url("/v1/reports/signatures"))
                .json(&serde_json::json!({ "digest": digest }))
        })
    }

    /// Revokes the window request `id` opened.
    pub fn revoke(&self, id: &str, reason: Option<&str>) -> Result<RequestView, ClientError> {
        let body = crate::approval::NewRevocation {
            reason: reason.map(str::to_owned),
        };
        self.send(|| {
            self.http
                .post(self.url(&format!("/v1/requests/{id}/revoke")))
                .json(&body)
        })
    }

    /// Closes the review of break-glass run `id`.
    pub fn after_review(
        &self,
        id: &str,
        review: &crate::approval::NewAfterReview,
    ) -> Result<RequestView, ClientError> {
        self.send(|| {
            self.http
                .post(self.url(&format!("/v1/requests/{id}/after-review")))
                .json(review)
        })
    }

    /// Break-glass runs whose review is still open, that the caller may review or ran.
    pub fn open_break_glass(&self) -> Result<Vec<RequestView>, ClientError> {
        let value: Value = self.send(|| {
            self.http
                .get(self.url("/v1/requests"))
                .query(&[("break_glass", "open")])
        })?;
        serde_json::from_value(value["requests"].clone())
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    pub fn cancel(&self, id: &str) -> Result<RequestView, ClientError> {
        self.send(|| {
            self.http
                .post(self.url(&format!("/v1/requests/{id}/cancel")))
        })
    }

    /// Uses the approved request once; the answer holds the values of its secrets.
    /// `nonce` (the grant's) makes a retry get the same answer.
    /// `agent`: the command runs in an agent's context; the service then refuses a
    /// person's approval (a window or break-glass of theirs).
    pub fn consume(
        &self,
        id: &str,
        nonce: Option<&str>,
        agent: bool,
    ) -> Result<crate::approval::Consumed, ClientError> {
        self.send(|| {
            let call = self
                .http
                .post(self.url(&format!("/v1/requests/{id}/consume")));
            match (nonce, agent) {
                (Some(nonce), true) => {
                    call.json(&serde_json::json!({ "nonce": nonce, "agent": true }))
                }
                (Some(nonce), false) => call.json(&serde_json::json!({ "nonce": nonce })),
                (None, true) => call.json(&serde_json::json!({ "agent": true })),
                (None, false) => call,
            }
        })
    }

    /// The service's signing key (hex), from `GET /v1/keys`.
    pub fn public_key(&self) -> Result<String, ClientError> {
        let value: Value = self.send(|| self.http.get(self.url("/v1/keys")))?;
        value["keys"][0]["public_key"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol("no key in /v1/keys".into()))
    }

    /// Sends record lines that extend the log's witnessed chain.
    pub fn witness(&self, proof: &WitnessProof) -> Result<Witnessed, ClientError> {
        self.send(|| self.http.post(self.url("/v1/witness")).json(proof))
    }

    /// The witnessed log at `path` of this host and user, with every head.
    pub fn witnessed(
        &self,
        host: &str,
        user: &str,
        path: &str,
    ) -> Result<Option<WitnessedLog>, ClientError> {
        let value: Value = self.send(|| {
            self.http
                .get(self.url_with_segments("/v1/witness", &[host, user]))
                .query(&[("path", path)])
        })?;
        let logs: Vec<WitnessedLog> = serde_json::from_value(value["logs"].clone())
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(logs.into_iter().find(|log| log.path == path))
    }
}
