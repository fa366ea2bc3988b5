//! `GET /v1/export`: the service's own audit log, a page at a time, as gatekeep's JSON
//! Lines, OCSF events or ECS documents; for reviewers and auditors only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::handlers::{Caller, Failure, Params, fail};
use crate::audit::export::{Exporter, Format, Origin};
use crate::audit::{self, AuditError};

/// The most records one page holds.
pub const MAX_LIMIT: usize = 1000;
/// A page's size when the caller names none.
const DEFAULT_LIMIT: usize = 100;
/// The response header naming the cursor of the next page: the last `seq` answered.
pub const NEXT_AFTER: &str = "gatekeep-next-after";

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
    let path = state.audit.path().to_owned();
    let page = tokio::task::spawn_blocking(move || page(&path, format, query.after, limit))
        .await
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| {
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the service audit log: {e}"),
            )
        })?;
    let mut response =
        ([(header::CONTENT_TYPE, "application/x-ndjson")], page.body).into_response();
    if let Some(last) = page.last {
        response
            .headers_mut()
            .insert(NEXT_AFTER, HeaderValue::from(last));
    }
    Ok(response)
}

/// One page: its lines, and the `seq` of its last record.
struct Page {
    body: String,
    last: Option<u64>,
}

enum Stop {
    Full,
    Audit(AuditError),
}

impl From<AuditError> for Stop {
    fn from(error: AuditError) -> Stop {
        Stop::Audit(error)
    }
}

fn page(
    path: &std::path::Path,
    format: Format,
    after: Option<u64>,
    limit: usize,
) -> Result<Page, AuditError> {
    let mut exporter = Exporter::new(format, Origin::Service);
    let from = after.map_or(0, |a| a.saturating_add(1));
    if from > 0 {
        // The first record names the service's host and user for the records after it.
        audit::each_record_line(path, 0, 0, |_, line| {
            exporter.line(line);
            Ok::<_, AuditError>(())
        })?;
    }
    let mut body = String::new();
    let mut last = None;
    let mut count = 0;
    let read = audit::each_record_line(path, from, u64::MAX, |seq, line| {
        if count == limit {
            return Err(Stop::Full);
        }
        if let Some(exported) = exporter.line(line) {
            body.push_str(&exported);
            body.push('\n');
        }
        count += 1;
        last = Some(seq);
        Ok(())
    });
    match read {
        Ok(()) | Err(Stop::Full) => Ok(Page { body, last }),
        Err(Stop::Audit(error)) => Err(error),
    }
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
    );
    Ok(axum::Json(signature))
}
