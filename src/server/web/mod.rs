//! The web review page: server-rendered HTML that works without JavaScript (a small
//! served script only counts expiry down and reloads idle pages), under a strict
//! Content-Security-Policy. A login with a token creates a session in the database (the
//! cookie holds only its random id; the database only the id's digest), so any replica
//! serves it; forms carry a per-session CSRF token; reviews go through the same rules as
//! the API.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{AppState, StoredRequest, User, lifecycle};
use crate::approval::{NewReview, Status, Verdict};
use crate::render;

mod html;

/// The most requests a list shows.
const LISTED: usize = 200;

/// How long a session lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
const COOKIE: &str = "gatekeep_session";

use super::store::Session;

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    hex::encode(bytes)
}

/// The key a session is stored under: the digest of its id, never the id.
fn session_key(id: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

/// A new session for `user`: its id (for the cookie).
async fn create_session(state: &AppState, user: &User) -> Result<String, super::StoreError> {
    let id = random_hex();
    let session = Session {
        user: user.name.clone(),
        token_sha256: user.token_sha256.clone(),
        csrf: random_hex(),
        // The database's clock, which also decides when the session has expired.
        expires_unix: state.store.now().await?.as_second() + SESSION_SECONDS,
    };
    state.store.put_session(&session_key(&id), &session).await?;
    Ok(id)
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Option<(String, Session)> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookies.split(';').find_map(|c| {
        c.trim()
            .strip_prefix(&format!("{COOKIE}="))
            .map(str::to_owned)
    })?;
    match state.store.session(&session_key(&id)).await {
        Ok(session) => session.map(|s| (id, s)),
        Err(error) => {
            tracing::warn!(%error, "cannot read sessions");
            None
        }
    }
}

/// The session's user, while they still have the token they signed in with.
fn user_of(state: &AppState, session: &Session) -> Option<User> {
    state
        .identities()
        .get(&session.user)
        .filter(|u| {
            bool::from(
                u.token_sha256
                    .as_bytes()
                    .ct_eq(session.token_sha256.as_bytes()),
            )
        })
        .cloned()
}

fn login_page(message: &str) -> Response {
    Html(html::page("Sign in", &html::sign_in(message), None, false)).into_response()
}

/// A page that says why something did not happen.
fn refusal(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(html::page(
            title,
            &format!("<p>{}</p>", html::escape(message)),
            None,
            false,
        )),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct ListQuery {
    show: Option<String>,
}

/// `GET /`: the requests waiting for the signed-in reviewer, their own, or all they may
/// see; newest first.
pub async fn index(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some((_, session)) = session_of(&state, &headers).await else {
        return login_page("");
    };
    let Some(user) = user_of(&state, &session) else {
        return login_page("your identity is no longer known");
    };
    let filter = html::Filter::parse(query.show.as_deref());
    let Ok(now) = state.store.now().await else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The database does not answer; try again.",
        );
    };
    let statuses: &[Status] = match filter {
        html::Filter::Pending => &[Status::Pending],
        _ => &[
            Status::Pending,
            Status::Approved,
            Status::Consumed,
            Status::Rejected,
            Status::Expired,
            Status::Cancelled,
        ],
    };
    let mut found: Vec<StoredRequest> = Vec::new();
    for status in statuses {
        match state.store.with_status(*status).await {
            Ok(stored) => found.extend(stored.into_iter().map(|r| lifecycle::as_seen(r, now))),
            Err(error) => {
                tracing::warn!(%error, "cannot list requests");
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The database does not answer; try again.",
                );
            }
        }
    }
    found.retain(|r| match filter {
        html::Filter::Pending => {
            r.status == Status::Pending
                && super::handlers::may_review(&user, r).is_ok()
                && !approved_by(r, &user.name)
        }
        html::Filter::Mine => r.requester == user.name,
        html::Filter::All => lifecycle::may_see(&user, r),
    });
    found.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
    let more = found.len().saturating_sub(LISTED);
    found.truncate(LISTED);
    let progress: Vec<_> = {
        let identities = state.identities();
        found
            .iter()
            .map(|r| lifecycle::progress(&identities, r))
            .collect()
    };
    let listed: Vec<html::Listed> = found
        .iter()
        .zip(progress)
        .map(|(r, progress)| html::Listed {
            view: super::handlers::view(&state, r),
            progress,
            left: r.expires_unix - now.as_second(),
        })
        .collect();
    let signed = html::Signed {
        user: &user.name,
        csrf: &session.csrf,
    };
    Html(html::page(
        filter.title(),
        &html::list(filter, &listed, more),
        Some(&signed),
        true,
    ))
    .into_response()
}

/// Whether `name` has approved `r` already.
fn approved_by(r: &StoredRequest, name: &str) -> bool {
    r.reviews
        .iter()
        .any(|v| v.reviewer == name && v.verdict == Verdict::Approve)
}

/// `GET /requests/{id}`: full context, and the review form when you may review.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((_, session)) = session_of(&state, &headers).await else {
        return login_page("");
    };
    let Some(user) = user_of(&state, &session) else {
        return login_page("your identity is no longer known");
    };
    let not_found = || refusal(StatusCode::NOT_FOUND, "Not found", "No such request.");
    let Ok(request) = super::handlers::current(&state, &id).await else {
        return not_found();
    };
    if !user.auditor
        && request.requester != user.name
        && !super::handlers::may_review_any(&user, &request)
    {
        return not_found();
    }
    let now = state.store.now().await.map_or(0, |now| now.as_second());
    let may_review = super::handlers::may_review(&user, &request).is_ok();
    let view = super::handlers::view(&state, &request);
    let progress = lifecycle::progress(&state.identities(), &request);
    let approver = super::handlers::may_review(&user, &request).is_ok();
    let viewer = html::Viewer {
        user: &user.name,
        csrf: &session.csrf,
        may_review,
        approved: approved_by(&request, &user.name),
        max_window: super::windows::not_allowed(&request.request.approvals, request.request.agent)
            .is_none()
            .then(|| super::windows::longest(&request, state.limits.max_window))
            .filter(|_| !request.request.break_glass),
        may_act: if request.break_glass.is_some() {
            lifecycle::may_close_review(&user, &request).is_ok()
        } else {
            approver || (request.requester == user.name && request.window.is_some())
        },
    };
    let body = html::request(&view, &progress, request.expires_unix - now, &viewer);
    // Reload a pending request's page to show its status live, but never under a form
    // someone may be typing in.
    let refresh = view.status == Status::Pending && !may_review;
    let signed = html::Signed {
        user: &user.name,
        csrf: &session.csrf,
    };
    Html(html::page(
        &format!("Request {}", html::short(&render::text(&view.id))),
        &body,
        Some(&signed),
        refresh,
    ))
    .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`.
pub async fn login(State(state): State<Arc<AppState>>, Form(form): Form<LoginForm>) -> Response {
    let Some(user) = state.identities().authenticate(&form.token).cloned() else {
        return login_page("That token is not valid.");
    };
    let id = match create_session(&state, &user).await {
        Ok(id) => id,
        Err(error) => {
            tracing::error!(%error, "cannot store a session");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "Sign-in is unavailable; try again.",
            );
        }
    };
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}"
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

fn csrf_ok(session: &Session, given: &str) -> bool {
    bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some((id, session)) = session_of(&state, &headers).await
        && csrf_ok(&session, &form.csrf)
        && let Err(error) = state.store.remove_session(&session_key(&id)).await
    {
        tracing::warn!(%error, "cannot end a session");
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gatekeep_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: String,
    verdict: String,
    #[serde(default)]
    comment: String,
    /// A window's length (`30m`), or empty for this command only.
    #[serde(default)]
    window: String,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct AfterReviewForm {
    csrf: String,
    finding: String,
    #[serde(default)]
    comment: String,
}

/// The signed-in reviewer of a form, with its CSRF token checked.
async fn form_user(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<crate::server::User, Response> {
    let Some((_, session)) = session_of(state, headers).await else {
        return Err(login_page(""));
    };
    if !csrf_ok(&session, csrf) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form has expired; reload the page.",
        ));
    }
    user_of(state, &session).ok_or_else(|| login_page("your identity is no longer known"))
}

/// `POST /requests/{id}/revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let user = match form_user(&state, &headers, &form.csrf).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let reason = Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty());
    match super::handlers::apply_revoke(&state, &user, &id, reason).await {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(failure) => refusal(
            StatusCode::FORBIDDEN,
            "Refused",
            &render::text(&failure.message()),
        ),
    }
}

/// `POST /requests/{id}/after-review`.
pub async fn after_review(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<AfterReviewForm>,
) -> Response {
    let user = match form_user(&state, &headers, &form.csrf).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let finding = match form.finding.as_str() {
        "acknowledge" => crate::approval::Finding::Acknowledge,
        "flag" => crate::approval::Finding::Flag,
        _ => return refusal(StatusCode::BAD_REQUEST, "Refused", "Unknown finding."),
    };
    let body = crate::approval::NewAfterReview {
        finding,
        comment: Some(form.comment.trim().to_owned()).filter(|c| !c.is_empty()),
    };
    match super::handlers::apply_after_review(&state, &user, &id, body).await {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(failure) => refusal(
            StatusCode::FORBIDDEN,
            "Refused",
            &render::text(&failure.message()),
        ),
    }
}

/// `POST /requests/{id}/review`.
pub async fn review(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Response {
    let Some((_, session)) = session_of(&state, &headers).await else {
        return login_page("");
    };
    if !csrf_ok(&session, &form.csrf) {
        return refusal(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form has expired; reload the page.",
        );
    }
    let Some(user) = user_of(&state, &session) else {
        return login_page("your identity is no longer known");
    };
    let verdict = match form.verdict.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        _ => {
            return refusal(StatusCode::BAD_REQUEST, "Refused", "Unknown verdict.");
        }
    };
    let comment = Some(form.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let window = match form.window.trim() {
        "" => None,
        length => match crate::policy::parse_duration(length) {
            Ok(seconds) => Some(crate::approval::WindowAsk {
                seconds,
                scope: crate::approval::WindowScope::parse(&form.scope).unwrap_or_default(),
                starts_at: None,
            }),
            Err(_) => return refusal(StatusCode::BAD_REQUEST, "Refused", "Unknown window."),
        },
    };
    match super::handlers::apply_review(
        &state,
        &user,
        &id,
        NewReview {
            verdict,
            comment,
            window,
        },
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(failure) => refusal(
            StatusCode::FORBIDDEN,
            "Refused",
            &render::text(&failure.message()),
        ),
    }
}

/// The page's stylesheet and script.
async fn asset(uri: axum::http::Uri) -> Response {
    let (body, kind) = match uri.path() {
        html::STYLESHEET_PATH => (html::STYLESHEET, "text/css; charset=utf-8"),
        _ => (html::SCRIPT, "text/javascript; charset=utf-8"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// What every page's answer carries: no code but the page's own files, no framing (a
/// page with an Approve button inside someone else's page could be clicked through), no
/// guessing of content types, and no request id leaking through a `Referer`.
async fn headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The review page's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page's routes.
pub fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/requests/{id}", get(detail))
        .route("/requests/{id}/review", post(review))
        .route("/requests/{id}/revoke", post(revoke))
        .route("/requests/{id}/after-review", post(after_review))
        .route(html::STYLESHEET_PATH, get(asset))
        .route(html::SCRIPT_PATH, get(asset))
        .layer(axum::middleware::from_fn(headers))
}
