//! The decision about one `tools/call`: the pins first (a held-back definition is refused),
//! then the policy's tool rules under the tool's qualified name (`mcp__SERVER__TOOL`), and
//! the shell commands a tool runs (`command_from`) judged like a Bash command line. An
//! `approve` decision goes through the one approval flow; the call is made only after the
//! grant was verified and consumed.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use crate::approval::{RequestView, Verdict};
use crate::exit::UserError;
use crate::flow::{Decided, Extra, Flow, OnStop, Redeemed, Requested, Subject, WaitPolicy};
use crate::policy::{Decision, Evaluation};

/// The name a tool has in policies: `mcp__SERVER__TOOL`, as Claude Code names MCP tools.
pub fn qualified(server: &str, tool: &str) -> String {
    format!("mcp__{server}__{tool}")
}

/// What to do with a call now.
pub enum Call {
    /// Send it to the server.
    Forward,
    /// Answer the client with a tool error result carrying this text.
    Refuse(String),
    /// Hold it while a person decides: the decision is recorded by the flow that files the
    /// request (one run, and one request key, per held call).
    Hold(Box<Pending>),
}

/// A call to be held, its decision not yet recorded.
pub struct Pending {
    pub subject: Subject,
    pub evaluation: Evaluation,
    pub extra: Extra,
}

/// Decides about a call of `tool` with `arguments`, and makes the decision durable.
pub fn decide(
    flow: &Flow<'_>,
    server: &str,
    tool: &str,
    arguments: &Value,
    mcp_id: &Value,
) -> Result<Call, UserError> {
    let name = qualified(server, tool);
    let evaluation = flow.decider.evaluate_tool(&name, arguments);
    let mut extra = Extra::new();
    extra.insert("via".to_owned(), json!("mcp proxy"));
    extra.insert("mcp_server".to_owned(), json!(server));
    extra.insert("tool".to_owned(), json!(tool));
    extra.insert("mcp_id".to_owned(), mcp_id.clone());
    let subject = Subject::Tool {
        name,
        input: arguments.clone(),
    };
    if matches!(
        evaluation.decision,
        // A tool call cannot be watched while it runs: a person decides instead.
        Decision::Approve | Decision::Supervise
    ) {
        return Ok(Call::Hold(Box::new(Pending {
            subject,
            evaluation,
            extra,
        })));
    }
    let decided = flow.decide_evaluated(subject, evaluation, None, extra)?;
    Ok(match decided.evaluation.decision {
        Decision::Deny => Call::Refuse(denial(&decided.evaluation)),
        _ => Call::Forward,
    })
}

/// How a held call ended.
pub enum Held {
    /// Approved, the grant verified and used: make the call.
    Go,
    /// Not approved: answer the client with this text.
    Refuse(String),
    /// Cancelled by the client: say nothing (the client expects no answer).
    Dropped,
}

/// Gets a held call approved in a flow of its own: records the decision, files the request
/// (server, tool and the exact arguments), waits until the rule's timeout or `cancelled`,
/// then verifies and consumes the grant.
pub fn approve(
    flow: Result<Flow<'_>, UserError>,
    pending: Pending,
    cancelled: &Arc<AtomicBool>,
) -> Held {
    let attempt = flow.and_then(|flow| {
        let mut evaluation = pending.evaluation;
        evaluation.decision = Decision::Approve;
        let decided = flow.decide_evaluated(pending.subject, evaluation, None, pending.extra)?;
        try_approve(&flow, &decided, cancelled)
    });
    match attempt {
        Ok(held) => held,
        Err(error) => Held::Refuse(match &error.hint {
            Some(hint) => format!(
                "gatekeep: {} ({hint}); the tool call was not made",
                error.message
            ),
            None => format!("gatekeep: {}; the tool call was not made", error.message),
        }),
    }
}

fn try_approve(
    flow: &Flow<'_>,
    decided: &Decided,
    cancelled: &Arc<AtomicBool>,
) -> Result<Held, UserError> {
    let connected = flow.connect(decided, None)?;
    let wait = WaitPolicy {
        reuse: false,
        no_wait: false,
        bound: None,
        interrupted: Arc::clone(cancelled),
        on_stop: OnStop::End,
        break_glass: false,
    };
    let approval = match flow.request(decided, &connected, None, &wait) {
        Err(error) if error.kind == "reason_required" => {
            return Ok(Held::Refuse(
                "gatekeep: a rule requires a reason for this tool call, which an MCP call cannot give; the tool call was not made".to_owned(),
            ));
        }
        other => match other? {
            Requested::Approved(approval) => approval,
            Requested::Ended(view) => return Ok(Held::Refuse(ended(&view))),
            Requested::Pending { id, .. } => {
                return Ok(Held::Refuse(format!(
                    "gatekeep: request {id} is still pending; the tool call was not made"
                )));
            }
            Requested::TimedOut { error } => {
                return Ok(Held::Refuse(match error {
                    Some(error) => format!(
                        "gatekeep: the approval service could not be reached ({error}); the tool call was not made"
                    ),
                    None => "gatekeep: no reviewer decided before the request expired; the tool call was not made".to_owned(),
                }));
            }
            Requested::Cancelled => return Ok(Held::Dropped),
        },
    };
    if cancelled.load(std::sync::atomic::Ordering::SeqCst) {
        // Approved, but the client gave up on the call: the grant stays unused.
        return Ok(Held::Dropped);
    }
    Ok(match flow.redeem(decided, &approval, true)? {
        Redeemed::Granted { .. } => Held::Go,
        Redeemed::Unusable => Held::Refuse(format!(
            "gatekeep: the approval of {} can no longer be used; the tool call was not made",
            approval.view.id
        )),
    })
}

/// Why a call was denied: the rules' descriptions.
fn denial(evaluation: &Evaluation) -> String {
    let reasons = evaluation.denials();
    if reasons.is_empty() {
        "gatekeep: denied by policy; the tool call was not made".to_owned()
    } else {
        format!(
            "gatekeep: denied by {}; the tool call was not made",
            reasons.join("; ")
        )
    }
}

/// The answer for a request the service ended without approval.
fn ended(view: &RequestView) -> String {
    let mut reason = format!("gatekeep: request {} was {}", view.id, view.status.as_str());
    if let Some(rejection) = view.reviews.iter().find(|r| r.verdict == Verdict::Reject) {
        reason.push_str(&format!(" by {}", crate::render::text(&rejection.reviewer)));
        if let Some(comment) = rejection.comment.as_deref().filter(|c| !c.is_empty()) {
            reason.push_str(&format!(": {}", crate::render::text(comment)));
        }
    }
    reason.push_str("; the tool call was not made");
    reason
}
