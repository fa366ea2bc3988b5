//! The fields of each event `run` writes, built in one place so the format in
//! docs/audit-log.md has one definition.

use serde_json::{Value, json};

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

/// The `decision` record: everything a reviewer or auditor needs, secrets redacted.
#[allow(clippy::too_many_arguments)]
pub fn decision(
    run_id: &str,
    argv: &[String],
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
        "argv": redactor.argv(argv),
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
