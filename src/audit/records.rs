//! The fields of each event `run` and `hook` write, built in one place so the format in
//! docs/audit-log.md has one definition.

use std::io::IsTerminal as _;
use std::os::unix::fs::MetadataExt as _;

use serde_json::{Value, json};

use crate::approval::{Created, Grant, NewRequest, RequestView, Status};
use crate::child::Ended;
use crate::policy::{Context, Evaluation};
use crate::redact::Redactor;

/// Facts about the calling process recorded with each decision.
#[derive(Clone, Debug)]
pub struct Caller {
    pub uid: u32,
    pub pid: u32,
    pub ppid: u32,
    /// The terminal on standard input, if any.
    pub tty: Option<String>,
}

impl Caller {
    /// This process: its uid, pid, parent and the terminal on its standard input.
    pub fn this_process() -> Caller {
        Caller {
            uid: std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(u32::MAX),
            pid: std::process::id(),
            ppid: std::os::unix::process::parent_id(),
            tty: std::io::stdin()
                .is_terminal()
                .then(|| {
                    std::fs::read_link("/proc/self/fd/0")
                        .ok()
                        .map(|p| p.display().to_string())
                })
                .flatten(),
        }
    }
}

/// The `decision` record: everything a reviewer or auditor needs, secrets redacted
/// (`shown` is the subject's argument vector, redacted already: see `Subject::shown`).
#[allow(clippy::too_many_arguments)]
pub fn decision(
    run_id: &str,
    shown: &[String],
    evaluation: &Evaluation,
    ctx: &Context,
    caller: &Caller,
    policy_digest: &str,
    reason: Option<&str>,
    redactor: &Redactor,
) -> Value {
    let mut rules: Vec<&str> = evaluation.hits.iter().map(|h| h.rule.as_str()).collect();
    rules.dedup();
    json!({
        "run_id": run_id,
        "argv": shown,
        "commands": evaluation.commands.iter().map(|c| redactor.argv(c)).collect::<Vec<_>>(),
        "cwd": ctx.cwd,
        "user": ctx.user,
        "uid": caller.uid,
        "host": ctx.host,
        "pid": caller.pid,
        "ppid": caller.ppid,
        "tty": caller.tty,
        "agent": ctx.agent,
        "rules": rules,
        "opaque": evaluation.opaque.iter().map(|o| redactor.text(o)).collect::<Vec<_>>(),
        "decision": evaluation.decision,
        "policy_digest": policy_digest,
        "reason": reason.map(|r| redactor.text(r)),
    })
}

/// The `exec` record.
pub fn exec(run_id: &str, pid: u32) -> Value {
    json!({"run_id": run_id, "pid": pid})
}

/// The `exit` record for a command that ran.
pub fn exit(run_id: &str, ended: &Ended) -> Value {
    json!({"run_id": run_id, "code": ended.code, "signal": ended.signal, "duration_ms": ended.duration_ms, "status": ended.status()})
}

/// The `exit` record for a command that could not start.
pub fn failed(run_id: &str, status: u8, error: &str) -> Value {
    json!({"run_id": run_id, "code": Value::Null, "signal": Value::Null, "status": status, "error": error})
}

/// The `approval_requested` record for `request`, filed as `created`.
pub fn approval_requested(created: &Created, request: &NewRequest) -> Value {
    json!({"request_id": created.id, "digest": request.digest, "approvals": request.approvals,
           "expires_at": created.expires_at, "review_url": created.review_url, "secrets": request.secrets})
}

/// The `approval_granted` record: the grant was verified and is being used.
pub fn approval_granted(view: &RequestView, grant: &Grant) -> Value {
    let reviewers = view.approvers();
    let mut fields =
        json!({"request_id": view.id, "reviewers": reviewers, "grant_nonce": grant.payload.nonce});
    if let Some(window) = &grant.payload.window {
        fields["window"] = json!(window);
    }
    if grant.payload.break_glass {
        fields["break_glass"] = json!(true);
        fields["review_due"] = json!(view.break_glass.as_ref().map(|b| &b.review_due));
    }
    fields
}

/// The record for a request that ended without approval: its event name and fields.
pub fn approval_ended(view: &RequestView) -> (&'static str, Value) {
    let event = match view.status {
        Status::Rejected => "approval_rejected",
        Status::Cancelled => "approval_cancelled",
        _ => "approval_expired",
    };
    (
        event,
        json!({"request_id": view.id, "status": view.status, "reviews": view.reviews}),
    )
}
