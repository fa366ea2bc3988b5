//! `GET /v1/export`: the service's own audit records (the chain every replica appends to
//! in the database), a page at a time, as gatekeep's JSON Lines, OCSF events or ECS
//! documents; for reviewers and auditors only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::handlers::{Caller, Failure, Params, fail};
use super::store::audit::Page;
use crate::audit::export::{Exporter, Format, Origin};

/// The most records one page holds.
pub const MAX_LIMIT: usize = 1000;
/// A page's size when the caller names none.
const DEFAULT_LIMIT: usize = 100;
/// The response header naming the cursor of the next page: the last `seq` answered.
pub const NEXT_AFTER: &str = "gatekeep-next-after";
/// The response header naming the chain's id (which retention may have removed with
/// record 0).
pub const CHAIN_ID: &str = "gatekeep-chain-id";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
    /// Records after this `seq` (none: from the first record).
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

pub async fn export(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    Params(query): Params<ExportQuery>,
) -> Result<Response, Failure> {
    if !user.can_review && !user.auditor {
        return Err(fail(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not read the audit log: only reviewers and auditors may",
                user.name
            ),
        ));
    }
    let format = match query.format.as_deref() {
        None => Format::Jsonl,
        Some(name) => Format::parse(name).ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                format!("unknown format {name}: jsonl, ocsf or ecs"),
            )
        })?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("limit is 1 to {MAX_LIMIT}"),
        ));
    }
    let page = state
        .store
        .audit_page(query.after, limit as u32)
        .await
        .map_err(|e| {
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the service's audit records: {e}"),
            )
        })?;
    let chain_id = page.chain_id.clone();
    let (body, last) = tokio::task::spawn_blocking(move || render(&page, format))
        .await
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut response = ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response();
    if let Some(chain_id) = chain_id.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(CHAIN_ID, chain_id);
    }
    if let Some(last) = last {
        response
            .headers_mut()
            .insert(NEXT_AFTER, HeaderValue::from(last));
    }
    Ok(response)
}

/// A page's lines in `format`, and the `seq` of its last record.
fn render(page: &Page, format: Format) -> (String, Option<u64>) {
    let mut exporter = Exporter::new(format, Origin::Service);
    if let Some(chain_id) = &page.chain_id {
        exporter.in_chain(chain_id);
    }
    let mut body = String::new();
    for (_, line) in &page.rows {
        if let Some(exported) = exporter.line(line.as_bytes()) {
            body.push_str(&exported);
            body.push('\n');
        }
    }
    (body, page.rows.last().map(|(seq, _)| *seq))
}

/// `POST /v1/reports/signatures`: the body of a report signature request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    digest: String,
}

/// Signs a report's digest under the report context (never a grant's): for reviewers and
/// auditors, recorded in the service's audit log.
pub async fn sign_report(
    State(state): State<Arc<AppState>>,
    Caller(user): Caller,
    super::handlers::Body(body): super::handlers::Body<SignRequest>,
) -> Result<axum::Json<crate::report::sign::Signature>, Failure> {
    if !user.can_review && !user.auditor {
        return Err(fail(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not sign reports: only reviewers and auditors may",
                user.name
            ),
        ));
    }
    let digest = body.digest.to_ascii_lowercase();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "digest must be 64 hexadecimal digits (SHA-256)",
        ));
    }
    let at = super::handlers::now(&state).await?;
    let signature = crate::report::sign::Signature {
        context: crate::report::sign::CONTEXT.to_owned(),
        signature: state
            .key
            .sign_message(&crate::report::sign::message(&digest)),
        digest: digest.clone(),
        key_id: state.key.key_id(),
        signed_by: user.name.clone(),
        signed_at: super::lifecycle::stamp(at),
    };
    super::handlers::audit(
        &state,
        "report_signed",
        serde_json::json!({"digest": digest, "by": user.name}),
    )
    .await;
    Ok(axum::Json(signature))
}
