//! API v1 handlers. Every rule a reviewer relies on is enforced here, whatever the client.

use crate::policy::{ApprovalRequirement, Decision};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::lifecycle::{self, Refusal, Transition};
use super::store::Filed;
use super::{AppState, Identities, MAX_WAIT_SECONDS, REREAD_SECONDS, StoredRequest, User, bar};
use crate::approval::{ApiError, Created, NewRequest, NewReview, RequestView, Status, Verdict};

/// An error answer.
pub struct Failure(StatusCode, String, Option<&'static str>);

impl Failure {
    /// The message for people.
    pub fn message(&self) -> String {
        self.1.clone()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(ApiError {
                error: self.1,
                hint: self.2.map(str::to_owned),
                denied_by: Vec::new(),
            }),
        )
            .into_response()
    }
}

pub(super) fn fail(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure(status, message.into(), None)
}

/// The error answer of `create`: a failure, or the service's policy denying the command
/// (`403` naming its rules in `denied_by`).
pub enum Refused {
    Failure(Failure),
    Denied(String, Vec<String>),
}

impl From<Failure> for Refused {
    fn from(failure: Failure) -> Self {
        Refused::Failure(failure)
    }
}

impl From<super::StoreError> for Refused {
    fn from(e: super::StoreError) -> Self {
        Refused::Failure(e.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Failure(failure) => failure.into_response(),
            Refused::Denied(error, denied_by) => (
                StatusCode::FORBIDDEN,
                Json(ApiError {
                    error,
                    hint: Some(
                        "the approval service's own policy refuses it, whatever the requester's policy says"
                            .to_owned(),
                    ),
                    denied_by,
                }),
            )
                .into_response(),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        let status = match &refusal {
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Hidden(_) => StatusCode::NOT_FOUND,
            Refusal::Conflict(_) => StatusCode::CONFLICT,
        };
        fail(status, refusal.message())
    }
}

/// The database failed (most often: it cannot be reached, or is restarting). The answer
/// is 503, which clients retry: nothing was changed.
impl From<super::StoreError> for Failure {
    fn from(e: super::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage unavailable".into(),
            Some("the service's database did not answer; retry"),
        )
    }
}

/// A JSON body; a body that does not parse is a 4xx with the usual error shape.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = Failure;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(Failure(
                rejection.status(),
                rejection.body_text(),
                Some("see docs/api.md for the request body"),
            )),
        }
    }
}

/// Query parameters; ones that do not parse are a 400 with the usual error shape.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(Failure(rejection.status(), rejection.body_text(), None)),
        }
    }
}

/// The authenticated caller.
pub struct Caller(pub User);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Failure(
                StatusCode::UNAUTHORIZED,
                "missing bearer token".into(),
                Some("send Authorization: Bearer TOKEN"),
            ))?;
        let user = state.identities().authenticate(token).cloned();
        user.map(Caller).ok_or(Failure(
            StatusCode::UNAUTHORIZED,
            "invalid token".into(),
            None,
        ))
    }
}

/// The client's address, when the service is served over plain HTTP.
pub struct Peer(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// The database's clock.
pub(super) async fn now(state: &AppState) -> Result<jiff::Timestamp, Failure> {
    Ok(state.store.now().await?)
}

/// Records what this replica did: in the service's audit chain (the database every
/// replica shares) and in this replica's own log file.
pub(super) async fn audit(state: &AppState, event: &str, fields: Value) {
    if let Err(error) = state.record(event, fields).await {
        tracing::error!(%error, event, "cannot write the service's audit records");
    }
}

/// The request as `user` may see it: the grant (and its nonce) only for the requester.
pub(super) fn view_for(state: &AppState, r: &StoredRequest, user: &User) -> RequestView {
    let mut view = view(state, r);
    if user.name != r.requester {
        view.grant = None;
    }
    view
}

pub(super) fn view(state: &AppState, r: &StoredRequest) -> RequestView {
    RequestView {
        id: r.id.clone(),
        status: r.status,
        requester: r.requester.clone(),
        facts: r.request.facts(),
        host: r.request.host.clone(),
        user: r.request.user.clone(),
        agent: r.request.agent,
        agent_session: r.request.agent_session.clone(),
        rules: r.request.rules.clone(),
        descriptions: r.request.descriptions.clone(),
        rule_descriptions: r.request.rule_descriptions.clone(),
        approvals: r.request.approvals.clone(),
        // Granted under a window or by breaking glass: what the grant carries.
        progress: match (&r.under_window, &r.break_glass, &r.grant) {
            (Some(_), _, Some(grant)) | (_, Some(_), Some(grant)) => {
                grant.payload.approvals.clone()
            }
            _ => lifecycle::progress(&state.identities(), r),
        },
        reason: r.request.reason.clone(),
        digest: r.request.digest.clone(),
        created_at: r.created_at.clone(),
        expires_at: r.expires_at.clone(),
        reviews: r.reviews.clone(),
        review_url: state.review_url(&r.id),
        grant: r.grant.clone(),
        secrets: r.request.secrets.clone(),
        commands: r.request.commands.clone(),
        log_head_conflict: r.log_head_conflict.clone(),
        window: r.window.clone(),
        under_window: r.under_window.clone(),
        escalations: r.escalations.clone(),
        break_glass: r.break_glass.clone(),
    }
}

/// Whether `user` may review `r`: never the requester, only reviewers, only named approvers.
pub(super) fn may_review(user: &User, r: &StoredRequest) -> Result<(), Failure> {
    Ok(lifecycle::may_review(user, r)?)
}

/// Whether `user` is named among the approvers of `r` (whatever else applies).
pub(super) fn may_review_any(user: &User, r: &StoredRequest) -> bool {
    r.request
        .approvals
        .iter()
        .any(|a| Identities::is_approver(user, &a.approvers))
}

/// The process is up (load balancers: keep it in rotation only when `/readyz` says so).
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The replica can serve: its database answers and has the schema this build expects.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        // The cause goes to the service's log, not to whoever asks.
        Err(error) => {
            tracing::warn!(%error, "not ready");
            eprintln!("gatekeep: not ready: {error}");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
        }
    }
}

pub async fn keys(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(
        json!({"keys": [{"algorithm": "ed25519", "key_id": state.key.key_id(), "public_key": state.key.public_hex()}]}),
    )
}

/// The header carrying a create's idempotency key (the client's run id).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub async fn create(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    headers: axum::http::HeaderMap,
    Body(mut request): Body<NewRequest>,
) -> Result<(StatusCode, Json<Created>), Refused> {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    fail(
                        StatusCode::BAD_REQUEST,
                        "Idempotency-Key must be 1 to 200 visible characters",
                    )
                })?
                .to_owned(),
        ),
    };
    if request.digest != request.facts().digest() {
        return Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "digest does not match the command".into(),
            Some("see docs/api.md for the digest definition"),
        )
        .into());
    }
    if request.argv.is_empty() {
        return Err(fail(StatusCode::UNPROCESSABLE_ENTITY, "argv is empty").into());
    }
    // An identity configured as an agent is one, whatever its request says.
    request.agent |= user.agent;
    // The service's own policy sets its bar first: a command it denies goes no further.
    let policy = state.policy();
    let judgement = match &policy {
        Some(policy) => Some(bar::judge_bounded(Arc::clone(policy), &request).await),
        None => None,
    };
    // A break-glass run made while the service could not be reached already happened: it
    // is recorded whatever the bar, with what the service would have refused.
    let reported = request.break_glass && request.ran_at.is_some();
    let mut objection = None;
    if let Some(judgement) = judgement.as_ref().filter(|j| j.decision == Decision::Deny) {
        if !reported {
            return Err(denied(&state, &user, &request, judgement).await);
        }
        objection = Some(judgement.denial());
    }
    if reported {
        // A run reported afterwards is recorded, but never as what the requester says the
        // service requires: requirements named like the service's own, or malformed, are
        // left out (and said), and the service's own always join.
        if request.agent {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "agents may never break glass, even while the service cannot be reached",
            )
            .into());
        }
        let ran_at = request
            .ran_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .ok_or_else(|| {
                fail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "ran_at is not an RFC 3339 time",
                )
            })?;
        if ran_at.as_second() > now(&state).await?.as_second() + 300 {
            return Err(fail(StatusCode::UNPROCESSABLE_ENTITY, "ran_at is in the future").into());
        }
        request.ran_at = Some(lifecycle::stamp(ran_at));
        request.secrets.clear();
        let before = request.approvals.len();
        request
            .approvals
            .retain(|a| bar::well_formed(a) && !bar::reserved(&a.rule));
        if request.approvals.len() != before {
            objection.get_or_insert(
                "the report named requirements the service does not accept; they were left out"
                    .to_owned(),
            );
        }
        bar::merge(&mut request, judgement.as_ref()).map_err(|unfit| {
            Failure(StatusCode::UNPROCESSABLE_ENTITY, unfit.message, unfit.hint)
        })?;
    } else {
        bar::merge(&mut request, judgement.as_ref()).map_err(|unfit| {
            Failure(StatusCode::UNPROCESSABLE_ENTITY, unfit.message, unfit.hint)
        })?;
    }
    // A secret's own requirement joins the request's: the service decides what releasing
    // it takes, whatever the client's policy says.
    request.secrets.sort();
    request.secrets.dedup();
    {
        let secrets = state.secrets();
        for name in &request.secrets {
            let secret = secrets.get(name).ok_or_else(|| {
                Failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("unknown secret {name}"),
                    Some("the service's configuration names the secrets it holds"),
                )
            })?;
            if !Identities::is_approver(&user, &secret.config.requesters) {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    format!("secret {name} is not released to {}", user.name),
                )
                .into());
            }
            request.approvals.push(ApprovalRequirement {
                rule: format!("{}{name}", bar::SECRET_RULE),
                approvers: secret.config.approvers.clone(),
                quorum: secret.config.quorum,
                ..Default::default()
            });
        }
    }
    // Refused before anything is filed.
    if request.break_glass && !reported {
        lifecycle::may_break_glass(&request).map_err(Failure::from)?;
    }
    // A requirement nobody could meet would only wait until it expires (a reported run's
    // review could never be closed).
    if let Some(problem) = bar::unmeetable(&state.identities(), &user.name, &request.approvals) {
        return Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("no configured identity can meet this request: {problem}"),
            Some("fix the approvers in the policy, or the service's users and groups"),
        )
        .into());
    }
    let ttl = request
        .ttl_seconds
        .unwrap_or(state.limits.default_ttl)
        .min(
            judgement
                .as_ref()
                .and_then(|j| j.timeout_seconds)
                .unwrap_or(u64::MAX),
        )
        .clamp(1, state.limits.max_ttl);
    let created = now(&state).await?;
    let expires = created
        .checked_add(jiff::SignedDuration::from_secs(ttl as i64))
        .unwrap_or(created);
    let log_head_conflict = match &request.log_head {
        Some(head) => {
            super::witness::head_conflict(&*state.store, &request.host, &request.user, head).await?
        }
        None => None,
    };
    let stored = StoredRequest {
        id: uuid::Uuid::now_v7().to_string(),
        requester: user.name.clone(),
        request,
        status: Status::Pending,
        created_at: lifecycle::stamp(created),
        expires_at: lifecycle::stamp(expires),
        expires_unix: expires.as_second(),
        reviews: Vec::new(),
        grant: None,
        consumed_at: None,
        consumed_nonce: None,
        released: Default::default(),
        log_head_conflict,
        window: None,
        under_window: None,
        escalations: Vec::new(),
        reminders: 0,
        reminded_unix: 0,
        break_glass: None,
        next_unix: 0,
    };
    let mut stored = stored;
    stored.next_unix = lifecycle::schedule(&stored, state.limits.remind_every);
    // Recorded in the transaction that files it.
    let record = (
        "request_created".to_owned(),
        json!({"id": stored.id, "requester": stored.requester, "argv": stored.request.argv, "cwd": stored.request.cwd,
               "host": stored.request.host, "user": stored.request.user, "agent": stored.request.agent,
               "rules": stored.request.rules, "approvals": stored.request.approvals,
               "server_policy": policy.as_ref().map(|p| p.digest()),
               "digest": stored.request.digest, "expires_at": stored.expires_at,
               "log_head_conflict": stored.log_head_conflict}),
    );
    let filed = state
        .store
        .create(&stored, key.as_deref(), vec![record.clone()])
        .await?;
    let stored = match filed {
        Filed::New(stored) => stored,
        // A retry (after a lost answer, maybe through another replica): the request
        // already filed, if it is for the same command.
        Filed::Existing(existing) => {
            if existing.request.digest != stored.request.digest {
                return Err(Failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "this Idempotency-Key was already used for another command".into(),
                    Some("use a new key (the run id) for every run"),
                )
                .into());
            }
            // A break-glass filing whose grant was not issued (its answer lost with it):
            // issued now, never left pending.
            let existing = if existing.request.break_glass
                && existing.status == Status::Pending
                && existing.request.ran_at.is_none()
            {
                let owned = Arc::clone(&state);
                let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
                    let sign = |payload| owned.key.sign(payload);
                    lifecycle::break_glass(r, now, issue(&owned, &sign))
                });
                change(&state, &existing.id, rule).await?.0
            } else if let (true, Some(ran_at), None, Status::Approved | Status::Expired) = (
                existing.request.break_glass,
                stored.request.ran_at.clone(),
                existing.request.ran_at.as_ref(),
                existing.status,
            ) {
                let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
                    lifecycle::ran_offline(r, &ran_at, now)
                });
                change(&state, &existing.id, rule).await?.0
            } else if existing.request.break_glass
                && existing.status == Status::Pending
                && existing.request.ran_at.is_some()
            {
                let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
                    lifecycle::reported(r, None, now)
                });
                change(&state, &existing.id, rule).await?.0
            } else {
                existing
            };
            let created = Created {
                id: existing.id.clone(),
                status: lifecycle::status_at(&existing, now(&state).await?),
                expires_at: existing.expires_at.clone(),
                review_url: state.review_url(&existing.id),
                approvals: existing.request.approvals.clone(),
            };
            return Ok((StatusCode::OK, Json(created)));
        }
    };
    state.mirror(&record.0, record.1);
    state.outbox_poke.notify_one();
    // Breaking glass grants at once; otherwise an open window may cover the command.
    let stored = if reported {
        let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
            lifecycle::reported(r, objection, now)
        });
        change(&state, &stored.id, rule).await?.0
    } else if stored.request.break_glass {
        let owned = Arc::clone(&state);
        let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
            let sign = |payload| owned.key.sign(payload);
            lifecycle::break_glass(r, now, issue(&owned, &sign))
        });
        change(&state, &stored.id, rule).await?.0
    } else {
        under_window(&state, stored).await?
    };
    let created = Created {
        id: stored.id.clone(),
        status: stored.status,
        expires_at: stored.expires_at.clone(),
        review_url: state.review_url(&stored.id),
        approvals: stored.request.approvals.clone(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// What a grant is issued with on this service.
fn issue<'a>(
    state: &AppState,
    sign: &'a dyn Fn(crate::approval::GrantPayload) -> crate::approval::Grant,
) -> lifecycle::Issue<'a> {
    lifecycle::Issue {
        grant_lifetime: state.limits.grant_lifetime,
        window_cap: state.limits.max_window,
        nonce: uuid::Uuid::new_v4().to_string(),
        sign,
    }
}

/// Grants `filed` under the first open window of its requester that covers it, if any
/// does; otherwise answers it as filed. The grant is issued in a transaction holding the
/// window's row, so a revocation committed before it stops it.
async fn under_window(
    state: &Arc<AppState>,
    filed: StoredRequest,
) -> Result<StoredRequest, Failure> {
    let windows = state.store.open_windows(&filed.requester).await?;
    if windows.is_empty() {
        return Ok(filed);
    }
    let at = now(state).await?;
    let candidates: Vec<StoredRequest> = {
        let identities = state.identities();
        windows
            .into_iter()
            .filter(|origin| super::windows::covers(origin, &filed, &identities, at).is_ok())
            .collect()
    };
    for origin in candidates {
        let owned = Arc::clone(state);
        let rule = Box::new(
            move |origin: &mut StoredRequest, new: &mut StoredRequest, now: jiff::Timestamp| {
                let sign = |payload| owned.key.sign(payload);
                super::windows::grant_under(
                    origin,
                    new,
                    &owned.identities(),
                    now,
                    issue(&owned, &sign),
                )
            },
        );
        match state.store.change_pair(&origin.id, &filed.id, rule).await? {
            Some(Ok((_, granted, used, approved))) => {
                state.committed(&used);
                state.committed(&approved);
                return Ok(granted);
            }
            // Revoked or closed meanwhile: the next window, or none.
            Some(Err(_)) | None => continue,
        }
    }
    Ok(filed)
}

/// Refuses a request the service's policy denies: said in the service's log, recorded in
/// its audit log, answered `403` naming the rules.
async fn denied(
    state: &AppState,
    user: &User,
    request: &NewRequest,
    judgement: &bar::Judgement,
) -> Refused {
    let rules: Vec<String> = judgement.denied_by.iter().map(|(r, _)| r.clone()).collect();
    tracing::warn!(requester = %user.name, rules = ?rules, "request denied by the service's policy");
    audit(
        state,
        "request_denied",
        json!({"requester": user.name, "argv": request.argv, "cwd": request.cwd,
               "host": request.host, "user": request.user, "agent": request.agent,
               "rules": rules, "digest": request.digest}),
    )
    .await;
    Refused::Denied(judgement.denial(), rules)
}

#[derive(Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    wait: Option<u64>,
}

/// A request as a reader sees it now (past its time it reads as expired; only the
/// sweeper records that).
pub(super) async fn current(state: &AppState, id: &str) -> Result<StoredRequest, Failure> {
    let request = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no request {id}")))?;
    Ok(lifecycle::as_seen(request, now(state).await?))
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Params(query): Params<WaitQuery>,
) -> Result<Json<RequestView>, Failure> {
    // Subscribed before the first read: a change in between still wakes this poll.
    let mut waiter = state.store.waiters().subscribe(&id);
    let first = current(&state, &id).await?;
    if !lifecycle::may_see(&user, &first) {
        return Err(fail(StatusCode::NOT_FOUND, format!("no request {id}")));
    }
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECONDS));
    let _slot = if wait.is_zero() {
        None
    } else {
        Some(WaitSlot::take(&state, &user.name)?)
    };
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = first.clone();
    while seen.status == Status::Pending
        && seen.reviews.len() == first.reviews.len()
        && seen.escalations.len() == first.escalations.len()
    {
        // Wake for changes, at the request's own expiry, and now and then regardless.
        let until_expiry = Duration::from_secs(
            (seen.expires_unix - jiff::Timestamp::now().as_second()).max(0) as u64 + 1,
        );
        let sleep = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(until_expiry)
            .min(Duration::from_secs(REREAD_SECONDS));
        if sleep.is_zero() {
            break;
        }
        let _ = tokio::time::timeout(sleep, waiter.changed()).await;
        seen = current(&state, &id).await?;
        if tokio::time::Instant::now() >= deadline {
            break;
        }
    }
    Ok(Json(view_for(&state, &seen, &user)))
}

/// One of an identity's long-polls; given back when dropped.
struct WaitSlot {
    waits: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    user: String,
}

impl WaitSlot {
    fn take(state: &AppState, user: &str) -> Result<WaitSlot, Failure> {
        let mut waits = state
            .waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = waits.entry(user.to_owned()).or_default();
        if *held >= state.limits.max_waits_per_user {
            return Err(Failure(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{user} already holds {held} waiting requests"),
                Some("wait for some of them to end, then ask again"),
            ));
        }
        *held += 1;
        Ok(WaitSlot {
            waits: Arc::clone(&state.waits),
            user: user.to_owned(),
        })
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut waits = self
            .waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = waits.get_mut(&self.user) {
            *held -= 1;
            if *held == 0 {
                waits.remove(&self.user);
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    mine: Option<bool>,
    /// Requests whose id starts with this (at least `MIN_ID_PREFIX` characters), of any
    /// status, among those the caller may see.
    #[serde(default)]
    prefix: Option<String>,
    /// `open`: break-glass runs whose review is open, that the caller may review.
    #[serde(default)]
    break_glass: Option<String>,
}

/// How many requests an id prefix may name before the answer stops listing them.
const PREFIX_CANDIDATES: usize = 20;
/// How many rows a prefix lookup reads before it filters them by what the caller may see.
const PREFIX_SCAN: u32 = 1000;

/// The requests whose id starts with `prefix` that `user` may see: the requester's own and
/// the ones they may review. Nothing tells apart a request that does not exist from one
/// the caller may not see.
async fn by_prefix(state: &AppState, user: &User, prefix: &str) -> Result<Json<Value>, Failure> {
    let prefix = prefix.to_ascii_lowercase();
    if prefix.chars().count() < crate::approval::ids::MIN_PREFIX {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            format!(
                "an id prefix needs at least {} characters",
                crate::approval::ids::MIN_PREFIX
            ),
            Some("give more of the request id"),
        ));
    }
    let at = now(state).await?;
    let found = state.store.by_id_prefix(&prefix, PREFIX_SCAN).await?;
    // A scan cut short may have left out a request the caller may see: answering with
    // the one it found could resolve the prefix to the wrong request.
    if found.len() >= PREFIX_SCAN as usize {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("the id prefix {prefix} is too short to look up"),
            Some("give more of the request id"),
        ));
    }
    let views: Vec<RequestView> = found
        .into_iter()
        .filter(|r| lifecycle::may_see(user, r))
        .take(PREFIX_CANDIDATES)
        .map(|r| view_for(state, &lifecycle::as_seen(r, at), user))
        .collect();
    Ok(Json(json!({"requests": views})))
}

/// `GET /v1/me`: the caller's own identity as the service knows it, and nothing about
/// anyone else.
pub async fn me(Caller(user): Caller) -> Json<Value> {
    Json(json!({
        "name": user.name,
        "groups": user.groups,
        "can_review": user.can_review,
        "agent": user.agent,
    }))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Params(query): Params<ListQuery>,
) -> Result<Json<Value>, Failure> {
    if let Some(prefix) = &query.prefix {
        return by_prefix(&state, &user, prefix).await;
    }
    if let Some(which) = &query.break_glass {
        if which != "open" {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "break_glass takes `open` only",
            ));
        }
        let at = now(&state).await?;
        let views: Vec<RequestView> = state
            .store
            .open_reviews()
            .await?
            .into_iter()
            .filter(|r| lifecycle::may_see(&user, r))
            .map(|r| view_for(&state, &lifecycle::as_seen(r, at), &user))
            .collect();
        return Ok(Json(json!({"requests": views})));
    }
    let found: Vec<StoredRequest> = if query.mine == Some(true) || query.digest.is_some() {
        let digest = query
            .digest
            .as_deref()
            .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "mine=true needs digest=…"))?;
        state.store.by_requester_digest(&user.name, digest).await?
    } else {
        let status = match query.status.as_deref() {
            None => Status::Pending,
            Some(s) => Status::parse(s)
                .ok_or_else(|| fail(StatusCode::BAD_REQUEST, format!("unknown status {s}")))?,
        };
        let mut found = state.store.with_status(status).await?;
        // Requests past their time that the sweeper has not moved yet read as expired.
        if status == Status::Expired {
            for stored in [Status::Pending, Status::Approved] {
                found.extend(state.store.with_status(stored).await?);
            }
        }
        found
            .into_iter()
            .filter(|r| user.auditor || may_review(&user, r).is_ok())
            .collect()
    };
    let at = now(&state).await?;
    let wanted = match query.status.as_deref() {
        _ if query.digest.is_some() => None,
        None => Some(Status::Pending),
        Some(s) => Status::parse(s),
    };
    let mut views = Vec::new();
    for request in found {
        let request = lifecycle::as_seen(request, at);
        if wanted.is_some_and(|w| w != request.status) {
            continue;
        }
        views.push(view_for(&state, &request, &user));
    }
    Ok(Json(json!({"requests": views})))
}

pub async fn review(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(review): Body<NewReview>,
) -> Result<(StatusCode, Json<RequestView>), Failure> {
    let (request, recorded) = apply_review(&state, &user, &id, review).await?;
    // 201 when the review was recorded; 200 when the reviewer had given it already.
    let status = if recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view_for(&state, &request, &user))))
}

/// Runs `rule` on request `id` in the store's transaction; afterwards records what
/// happened in this replica's audit log.
async fn change(
    state: &AppState,
    id: &str,
    rule: super::store::Rule,
) -> Result<(StoredRequest, Transition), Failure> {
    let (request, transition) = state
        .store
        .change(id, rule)
        .await?
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no request {id}")))??;
    state.committed(&transition);
    Ok((request, transition))
}

/// Records a review with every rule enforced, whichever channel it came from; says
/// whether it was recorded (false: the reviewer had given this verdict already).
pub(super) async fn apply_review(
    state: &Arc<AppState>,
    user: &User,
    id: &str,
    review: NewReview,
) -> Result<(StoredRequest, bool), Failure> {
    let reviewer = user.name.clone();
    let (owned, user) = (Arc::clone(state), user.clone());
    let rule = Box::new(move |r: &mut StoredRequest, now: jiff::Timestamp| {
        let identities = owned.identities();
        let sign = |payload| owned.key.sign(payload);
        lifecycle::review(r, &user, &identities, &review, now, issue(&owned, &sign))
    });
    let (request, transition) = match change(state, id, rule).await {
        Ok(changed) => changed,
        Err(failure) => {
            // A self-approval refused is evidence too: recorded for the auditors' report.
            if failure.1.contains("never review their own") {
                audit(
                    state,
                    "review_refused",
                    json!({"id": id, "reviewer": reviewer, "why": failure.1}),
                )
                .await;
            }
            return Err(failure);
        }
    };
    Ok((request, transition.changed()))
}

/// `POST /v1/requests/{id}/revoke`: closes the window request `id` opened; nothing more is
/// granted or used under it once this commits.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(body): Body<crate::approval::NewRevocation>,
) -> Result<Json<RequestView>, Failure> {
    let who = user.clone();
    let rule = Box::new(move |r: &mut StoredRequest, now| {
        super::windows::revoke(r, &who, body.reason, now)
    });
    let (request, _) = change(&state, &id, rule).await?;
    Ok(Json(view_for(&state, &request, &user)))
}

/// `POST /v1/requests/{id}/after-review`: an approver closes a break-glass run's review.
pub async fn after_review(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(body): Body<crate::approval::NewAfterReview>,
) -> Result<Json<RequestView>, Failure> {
    let (request, _) = apply_after_review(&state, &user, &id, body).await?;
    Ok(Json(view_for(&state, &request, &user)))
}

/// Closes a break-glass review, whichever channel it came from.
pub(super) async fn apply_after_review(
    state: &AppState,
    user: &User,
    id: &str,
    body: crate::approval::NewAfterReview,
) -> Result<(StoredRequest, Transition), Failure> {
    let who = user.clone();
    let rule =
        Box::new(move |r: &mut StoredRequest, now| lifecycle::after_review(r, &who, &body, now));
    change(state, id, rule).await
}

/// Revokes a window, whichever channel it came from.
pub(super) async fn apply_revoke(
    state: &AppState,
    user: &User,
    id: &str,
    reason: Option<String>,
) -> Result<(StoredRequest, Transition), Failure> {
    let who = user.clone();
    let rule =
        Box::new(move |r: &mut StoredRequest, now| super::windows::revoke(r, &who, reason, now));
    change(state, id, rule).await
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, Failure> {
    let who = user.clone();
    let rule = Box::new(move |r: &mut StoredRequest, now| lifecycle::cancel(r, &who, now));
    let (request, _) = change(&state, &id, rule).await?;
    Ok(Json(view_for(&state, &request, &user)))
}

/// `POST /v1/requests/{id}/consume`: optionally `{"nonce": …}`, the grant's nonce, which
/// makes a retry safe.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumeBody {
    #[serde(default)]
    nonce: Option<String>,
    /// The command runs in an agent's context: a person's approval is refused.
    #[serde(default)]
    agent: bool,
}

/// Uses an approved request once. The answer carries the values of the secrets the
/// request names, checked against each secret's own requirement as configured now. A
/// retry naming the grant's nonce gets the same answer.
pub async fn consume(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Peer(peer): Peer,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let body: ConsumeBody = if body.iter().all(u8::is_ascii_whitespace) {
        ConsumeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("bad consume body: {e}"),
                Some(r#"send nothing, or {"nonce": "<the grant's nonce>"}"#),
            )
        })?
    };
    let (owned, who) = (Arc::clone(&state), user.clone());
    let use_grant = move |r: &mut StoredRequest, now| {
        // An agent (said by its client, or by its identity) never uses what a person was
        // given: their window's grants or their break-glass.
        if (body.agent || who.agent) && (!r.request.agent || r.break_glass.is_some()) {
            return Err(Refusal::Conflict(format!(
                "request {} was granted to a person; an agent cannot use it",
                r.id
            )));
        }
        let mut transition = lifecycle::consume(r, &who, body.nonce.as_deref(), now)?;
        let values = release(&owned, &who, r, peer).map_err(|f| Refusal::Forbidden(f.message()))?;
        let digests = values
            .iter()
            .map(|(name, value)| (name.clone(), hex::encode(sha2::Sha256::digest(value))))
            .collect();
        if transition.replay {
            // The same answer, or none: a secret changed since is not handed out again.
            if digests != r.released {
                return Err(Refusal::Conflict(format!(
                    "the secrets of request {} changed since it was consumed",
                    r.id
                )));
            }
        } else {
            r.released = digests;
            // Recorded in the transaction that releases them.
            if !values.is_empty() {
                transition.audit.push((
                    "secrets_released",
                    json!({"id": r.id, "to": who.name, "secrets": values.keys().collect::<Vec<_>>(),
                           "retry": false}),
                ));
            }
        }
        transition.secret_values = values;
        Ok(transition)
    };
    // Under a window, the use is checked in a transaction holding the window's row: a
    // committed revocation, or the window's close, stops it.
    let window = match state.store.get(&id).await? {
        Some(stored) if !may_see_own(&user, &stored) => None,
        Some(stored) => stored.under_window,
        None => None,
    };
    let (request, transition) = match window {
        None => change(&state, &id, Box::new(use_grant)).await?,
        Some(window) => {
            let rule = Box::new(
                move |origin: &mut StoredRequest, r: &mut StoredRequest, now: jiff::Timestamp| {
                    let replay = r.status == Status::Consumed;
                    if !replay {
                        super::windows::check_use(origin, now)?;
                    }
                    Ok((
                        Transition {
                            replay: true,
                            ..Transition::default()
                        },
                        use_grant(r, now)?,
                    ))
                },
            );
            let (_, request, _, transition) =
                state
                    .store
                    .change_pair(&window, &id, rule)
                    .await?
                    .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no request {id}")))??;
            state.committed(&transition);
            (request, transition)
        }
    };
    let values = transition.secret_values;
    // A retry changes nothing, so has no transaction of its own: recorded on its own.
    if !values.is_empty() && transition.replay {
        audit(
            &state,
            "secrets_released",
            json!({"id": id, "to": user.name, "secrets": values.keys().collect::<Vec<_>>(),
                   "retry": transition.replay}),
        )
        .await;
    }
    let mut body = serde_json::to_value(view(&state, &request))
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if !values.is_empty() {
        body["secret_values"] = json!(values);
    }
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response())
}

/// Whether `user` filed `r` (only then does its window matter to a consume).
fn may_see_own(user: &User, r: &StoredRequest) -> bool {
    user.name == r.requester
}

/// The values of the secrets `request` names, if every one may be released to `user` now.
fn release(
    state: &AppState,
    user: &User,
    request: &StoredRequest,
    peer: Option<std::net::SocketAddr>,
) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    let mut values = std::collections::BTreeMap::new();
    if request.request.secrets.is_empty() {
        return Ok(values);
    }
    if !state.tls && !peer.is_some_and(|p| p.ip().is_loopback()) {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "secrets are released only over TLS or to a client on this host",
        ));
    }
    let secrets = state.secrets();
    let identities = state.identities();
    for name in &request.request.secrets {
        let secret = secrets.get(name).ok_or_else(|| {
            fail(
                StatusCode::FORBIDDEN,
                format!("secret {name} is no longer configured"),
            )
        })?;
        if !Identities::is_approver(user, &secret.config.requesters) {
            return Err(fail(
                StatusCode::FORBIDDEN,
                format!("secret {name} is not released to {}", user.name),
            ));
        }
        // Under a window, the approvals are the window's, carried by the grant.
        let window_approvers: Vec<&str> = match (&request.under_window, &request.grant) {
            (Some(_), Some(grant)) => grant
                .payload
                .approvals
                .iter()
                .filter(|a| a.rule == format!("{}{name}", bar::SECRET_RULE))
                .flat_map(|a| a.approved_by.iter().map(String::as_str))
                .collect(),
            _ => Vec::new(),
        };
        let mut approvers: Vec<&str> = request
            .reviews
            .iter()
            .filter(|r| r.verdict == Verdict::Approve)
            .map(|r| r.reviewer.as_str())
            .chain(window_approvers)
            .filter(|reviewer| *reviewer != request.requester)
            .filter(|reviewer| {
                identities.get(reviewer).is_some_and(|u| {
                    u.can_review && Identities::is_approver(u, &secret.config.approvers)
                })
            })
            .collect();
        approvers.sort_unstable();
        approvers.dedup();
        if approvers.len() < secret.config.quorum as usize {
            return Err(fail(
                StatusCode::FORBIDDEN,
                format!(
                    "secret {name} needs {} from {}; this request has {}",
                    crate::render::count(secret.config.quorum, "approval", "approvals"),
                    secret.config.approvers.join(" or "),
                    approvers.len()
                ),
            ));
        }
        values.insert(name.clone(), secret.value.clone());
    }
    Ok(values)
}

/// `POST /v1/slack/interactions`: a button click in Slack. The request signature is checked
/// as Slack documents it, the Slack user is mapped to an identity by `slack_id`, and the
/// review goes through the same rules as the API. Slack always gets a 200 for a signed
/// request; refusals are told to the clicking user privately.
pub async fn slack_interactions(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let Some(channels) = state.channels() else {
        return Err(fail(StatusCode::NOT_FOUND, "Slack is not configured"));
    };
    let Some(slack) = channels.slack() else {
        return Err(fail(StatusCode::NOT_FOUND, "Slack is not configured"));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    if !super::verify_slack(
        &slack.signing_secret,
        header("x-slack-request-timestamp"),
        &body,
        header("x-slack-signature"),
        jiff::Timestamp::now().as_second(),
    ) {
        return Err(fail(StatusCode::UNAUTHORIZED, "bad Slack signature"));
    }
    let interaction = super::slack::parse(&body)
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "no interaction payload"))?;
    let tell = |text: String| {
        if !interaction.response_url.is_empty() {
            channels.ephemeral(interaction.response_url.clone(), text);
        }
    };
    let slack_user = &interaction.slack_user;
    let user = state.identities().by_slack_id(slack_user).cloned();
    let unlinked =
        || format!("Your Slack account ({slack_user}) is not linked to a gatekeep identity.");
    let (verdict, id, trigger_id) = match &interaction.action {
        super::slack::Action::Ignored => return Ok(StatusCode::OK.into_response()),
        super::slack::Action::Revoke { id } => {
            match user {
                None => tell(unlinked()),
                Some(user) => {
                    match apply_revoke(&state, &user, id, Some(interaction.via())).await {
                        Ok(_) => {
                            audit(
                                &state,
                                "slack_revoke",
                                json!({"id": id, "by": user.name, "slack_user": slack_user}),
                            )
                            .await
                        }
                        Err(failure) => tell(format!("Not revoked: {}", failure.message())),
                    }
                }
            }
            return Ok(StatusCode::OK.into_response());
        }
        // The reason modal was submitted: reject with the reason.
        super::slack::Action::RejectWithReason { id, reason } => {
            let error = match user {
                None => Some(unlinked()),
                Some(user) => {
                    let comment = Some(if reason.is_empty() {
                        interaction.via()
                    } else {
                        format!("{reason} ({})", interaction.via())
                    });
                    let review = NewReview {
                        verdict: Verdict::Reject,
                        comment,
                        window: None,
                    };
                    apply_review(&state, &user, id, review)
                        .await
                        .err()
                        .map(|f| f.message())
                }
            };
            return Ok(match error {
                None => StatusCode::OK.into_response(),
                Some(message) => {
                    Json(json!({"response_action": "errors", "errors": {"reason": message}}))
                        .into_response()
                }
            });
        }
        super::slack::Action::Button {
            verdict,
            id,
            trigger_id,
        } => (*verdict, id.clone(), trigger_id.clone()),
    };
    let Some(user) = user else {
        tell(unlinked());
        return Ok(StatusCode::OK.into_response());
    };
    if verdict == Verdict::Reject
        && let Some(trigger) = trigger_id
    {
        // Ask for a reason first; the modal's submission records the rejection.
        channels.ask_reason(trigger, id);
        return Ok(StatusCode::OK.into_response());
    }
    // An approval only where the whole request was shown: a message that had to cut
    // something offers no Approve button, and a click from an older message is refused.
    if verdict == Verdict::Approve
        && let Ok(Some(request)) = state.store.get(&id).await
        && !super::messages::slack_shows_all(&view(&state, &request))
    {
        tell(format!(
            "Not recorded: request {id} is too long to show whole in Slack; review it on {}",
            state.review_url(&id)
        ));
        return Ok(StatusCode::OK.into_response());
    }
    let review = NewReview {
        verdict,
        comment: Some(interaction.via()),
        window: None,
    };
    match apply_review(&state, &user, &id, review).await {
        Ok((request, _)) => {
            audit(
                &state,
                "slack_review",
                json!({"id": request.id, "reviewer": user.name, "slack_user": slack_user}),
            )
            .await
        }
        Err(failure) => tell(format!("Not recorded: {}", failure.message())),
    }
    Ok(StatusCode::OK.into_response())
}
