//! The web review page: server-rendered HTML, no JavaScript. A login with a token creates a
//! session in the database (the cookie holds only its random id; the database only the
//! id's digest), so any replica serves it; forms carry a per-session CSRF token; reviews
//! go through the same rules as the API.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{AppState, StoredRequest, User};
use crate::approval::{NewReview, Readable, RequestView, Status, Verdict};
use crate::render;

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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `text` escaped, with every run between blanks and slashes in a left-to-right isolate:
/// right-to-left letters keep their own order inside a word, but cannot reorder the words
/// (or a path's parts) a reviewer reads. The isolates add nothing to copied text.
fn isolated(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            out.push_str(&format!("<bdi dir=\"ltr\">{}</bdi>", escape(word)));
            word.clear();
        }
    };
    for c in text.chars() {
        if c == ' ' || c == '/' || c == '\n' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn page(title: &str, body: &str, refresh: bool) -> Html<String> {
    let refresh = if refresh {
        r#"<meta http-equiv="refresh" content="3">"#
    } else {
        ""
    };
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">{refresh}<title>{title} · gatekeep</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}code,pre{{font-family:ui-monospace,monospace;background:#f4f4f4;padding:.1rem .3rem}}pre{{padding:.6rem;white-space:pre-wrap}}pre,code{{overflow-wrap:anywhere}}table{{border-collapse:collapse}}td,th{{text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top}}.status{{font-weight:bold}}button{{font-size:1rem;padding:.3rem 1rem;margin-right:.5rem}}.approve{{background:#2d7a2d;color:#fff}}.reject{{background:#a33;color:#fff}}nav{{margin-bottom:1rem}}</style></head>
<body><nav><a href="/">gatekeep</a></nav><h1>{title}</h1>{body}</body></html>"#,
        title = escape(title)
    ))
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
    let note = if message.is_empty() {
        String::new()
    } else {
        format!("<p><strong>{}</strong></p>", escape(message))
    };
    page(
        "Sign in",
        &format!(r#"{note}<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="off" required autofocus></label> <button type="submit">Sign in</button></form>"#),
        false,
    )
    .into_response()
}

/// `GET /`: the requests you may review, and recent decisions.
pub async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some((_, session)) = session_of(&state, &headers).await else {
        return login_page("");
    };
    let Some(user) = user_of(&state, &session) else {
        return login_page("your identity is no longer known");
    };
    let pending: Vec<StoredRequest> = state
        .store
        .with_status(Status::Pending)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| super::handlers::may_review(&user, r).is_ok())
        .collect();
    let mut rows = String::new();
    for request in &pending {
        let view = super::handlers::view(&state, request);
        rows.push_str(&row(&view));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=4>Nothing is waiting for you.</td></tr>".to_owned();
    }
    let mut history = String::new();
    for status in [
        Status::Approved,
        Status::Consumed,
        Status::Rejected,
        Status::Expired,
        Status::Cancelled,
    ] {
        for request in state
            .store
            .with_status(status)
            .await
            .unwrap_or_default()
            .iter()
            .rev()
            .take(20)
        {
            if request.requester == user.name || super::handlers::may_review_any(&user, request) {
                history.push_str(&row(&super::handlers::view(&state, request)));
            }
        }
    }
    let body = format!(
        r#"<p>Signed in as <strong>{user}</strong>. <form method="post" action="/logout" style="display:inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Sign out</button></form></p>
<h2>Waiting for your review</h2><table id="pending"><tr><th>Request</th><th>Requester</th><th>Command</th><th>Status</th></tr>{rows}</table>
<h2>Recent decisions</h2><table id="history"><tr><th>Request</th><th>Requester</th><th>Command</th><th>Status</th></tr>{history}</table>"#,
        user = escape(&user.name),
        csrf = session.csrf,
    );
    page("Requests", &body, true).into_response()
}

/// The start of a request id, as lists show it.
fn short(id: &str) -> String {
    id.chars().take(13).collect()
}

fn row(view: &RequestView) -> String {
    let shown = Readable::of(view, render::nothing);
    // The list shows the start of long commands; the request's page shows all of it.
    let command = render::fit(&shown.command, 300, str::len);
    format!(
        r#"<tr><td><a href="/requests/{id}">{short}</a></td><td>{who}</td><td><code>{command}</code></td><td class="status">{status}</td></tr>"#,
        id = escape(&view.id),
        short = escape(&short(&shown.id)),
        who = escape(&shown.filed_by),
        command = isolated(&command),
        status = shown.status
    )
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
    let Ok(request) = super::handlers::current(&state, &id).await else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<p>No such request.</p>", false),
        )
            .into_response();
    };
    let may_review = super::handlers::may_review(&user, &request);
    if request.requester != user.name && !super::handlers::may_review_any(&user, &request) {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<p>No such request.</p>", false),
        )
            .into_response();
    }
    let view = super::handlers::view(&state, &request);
    let shown = Readable::of(&view, render::nothing);
    let mut facts = String::new();
    for (id, key, value) in [
        ("status", "Status", shown.status.clone()),
        (
            "filed-by",
            "Filed by",
            format!("{} (authenticated)", shown.filed_by),
        ),
        ("program", "Program", shown.program.clone()),
        ("also-runs", "Also runs", shown.also_runs.clone()),
        ("environment", "Environment", shown.environment.clone()),
        (
            "secrets",
            "Secrets",
            shown.secrets.clone().unwrap_or_else(|| "(none)".to_owned()),
        ),
        ("approvers", "Approvers", shown.approvers.clone()),
        ("expires", "Expires", shown.expires_at.clone()),
    ] {
        facts.push_str(&format!(
            "<tr><th>{key}</th><td id=\"{id}\">{}</td></tr>",
            isolated(&value)
        ));
    }
    if let Some(conflict) = &shown.log_conflict {
        facts.insert_str(
            0,
            &format!(
                "<tr><th>Log</th><td id=\"log\"><strong>Warning:</strong> {}</td></tr>",
                escape(conflict)
            ),
        );
    }
    let mut claims = String::new();
    for (label, value) in &shown.claims {
        claims.push_str(&format!(
            "<tr><th>{label}</th><td id=\"claimed-{label}\"><code>{}</code></td></tr>",
            isolated(value)
        ));
    }
    let mut commands = String::new();
    if !shown.commands.is_empty() {
        commands.push_str("<h2>Commands in it</h2><p>Each simple command the requester's analysis found, and the rules it matched.</p><table id=\"commands\"><tr><th>Command</th><th>Rules</th></tr>");
        for (command, rules) in &shown.commands {
            commands.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                isolated(command),
                escape(rules)
            ));
        }
        commands.push_str("</table>");
    }
    let mut reviews = String::new();
    for review in &shown.reviews {
        reviews.push_str(&format!("<li>{}</li>", escape(review)));
    }
    let form = match (may_review, view.status) {
        (Ok(()), Status::Pending) => format!(
            r#"<form method="post" action="/requests/{id}/review"><input type="hidden" name="csrf" value="{csrf}"><p><label>Comment <input type="text" name="comment" size="50"></label></p><button class="approve" type="submit" name="verdict" value="approve">Approve</button><button class="reject" type="submit" name="verdict" value="reject">Reject</button></form>"#,
            id = escape(&view.id),
            csrf = session.csrf
        ),
        (Err(_), Status::Pending) if view.requester == user.name => {
            "<p id=\"note\">This is your own request: someone else must review it.</p>".to_owned()
        }
        _ => String::new(),
    };
    let has_form = form.contains("<form");
    let body = format!(
        r#"<pre id="command">{command}</pre>{commands}<table>{facts}</table><h2>Claimed by the requester</h2><p>The service cannot check these facts: they are what the requester says.</p><table id="claimed">{claims}</table><h2>Reviews</h2><ul id="reviews">{reviews}</ul>{form}"#,
        command = isolated(&shown.command)
    );
    // Refresh a pending request's page to show its status live, but never under a form
    // someone may be typing in.
    let refresh = view.status == Status::Pending && !has_form;
    page(&format!("Request {}", short(&shown.id)), &body, refresh).into_response()
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
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                page(
                    "Unavailable",
                    "<p>Sign-in is unavailable; try again.</p>",
                    false,
                ),
            )
                .into_response();
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
        return (
            StatusCode::FORBIDDEN,
            page(
                "Refused",
                "<p>The form has expired; reload the page.</p>",
                false,
            ),
        )
            .into_response();
    }
    let Some(user) = user_of(&state, &session) else {
        return login_page("your identity is no longer known");
    };
    let verdict = match form.verdict.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                page("Refused", "<p>Unknown verdict.</p>", false),
            )
                .into_response();
        }
    };
    let comment = Some(form.comment.trim().to_owned()).filter(|c| !c.is_empty());
    match super::handlers::apply_review(&state, &user, &id, NewReview { verdict, comment }).await {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(failure) => (
            StatusCode::FORBIDDEN,
            page(
                "Refused",
                &format!("<p>{}</p>", escape(&render::text(&failure.message()))),
                false,
            ),
        )
            .into_response(),
    }
}

/// The page's routes.
pub fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/requests/{id}", get(detail))
        .route("/requests/{id}/review", post(review))
}

#[cfg(test)]
mod isolation {
    use super::isolated;

    #[test]
    fn every_word_and_path_part_is_its_own_left_to_right_isolate() {
        // Between two right-to-left words, a bare space would join them into one run and
        // show them swapped: `mv 'ב' 'א'` for `mv 'א' 'ב'`.
        assert_eq!(
            isolated("mv 'א' /tmp/ב<x"),
            "<bdi dir=\"ltr\">mv</bdi> <bdi dir=\"ltr\">&#39;א&#39;</bdi> /<bdi dir=\"ltr\">tmp</bdi>/<bdi dir=\"ltr\">ב&lt;x</bdi>"
        );
        assert_eq!(isolated(""), "");
    }
}
