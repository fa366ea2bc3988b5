//! A request as reviewers read it, the same in every review channel (the CLI, the review
//! page, Slack, Teams, webhooks): every field rendered by [`crate::render`], and what the
//! requester claims about itself kept apart from the identity the service authenticated.

use serde_json::{Map, Value, json};

use super::{RequestView, Verdict};
use crate::render::{self, Also};

/// How every channel labels the facts only the requester vouches for.
pub const CLAIMED: &str = "claimed by the requester";

/// The rendered fields of one request. Channels lay them out and add their own markup
/// escaping; none of them shows a field of the request any other way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readable {
    pub id: String,
    pub status: String,
    /// The identity whose token filed the request: the one fact about the requester the
    /// service checked.
    pub filed_by: String,
    /// The command that will run, as bash reads it back.
    pub command: String,
    /// The simple commands the requester's analysis found, each with the rules it matched.
    pub commands: Vec<(String, String)>,
    /// The program's path and SHA-256.
    pub program: String,
    pub secrets: Option<String>,
    /// The variables the approval is bound to (secret-looking ones by hash only).
    pub environment: String,
    /// The other programs and the script files the approval is bound to, one per line.
    pub also_runs: String,
    /// Why the request's audit-log head contradicts what the service witnessed, if it does.
    pub log_conflict: Option<String>,
    /// Who must approve: "1 of group:dba (rule)"; several joined by "; ".
    pub approvers: String,
    /// What the requester says about itself and its command, label first.
    pub claims: Vec<(&'static str, String)>,
    /// "bob approved: comment", one per review.
    pub reviews: Vec<String>,
    pub expires_at: String,
}

impl Readable {
    /// The rendered fields of `view`; `also` names characters the channel needs escaped too.
    pub fn of(view: &RequestView, also: Also) -> Readable {
        let text = |t: &str| render::text_with(t, also);
        let list = |items: &[String], separator: &str| {
            items
                .iter()
                .map(|i| text(i))
                .collect::<Vec<_>>()
                .join(separator)
        };
        let listed = |items: &[String], separator: &str| {
            if items.is_empty() {
                "(none)".to_owned()
            } else {
                list(items, separator)
            }
        };
        let agent = match (view.agent, &view.agent_session) {
            (true, Some(session)) => format!("yes, session {}", text(session)),
            (true, None) => "yes".to_owned(),
            (false, _) => "no".to_owned(),
        };
        let approvers = view
            .approvals
            .iter()
            .map(|a| {
                format!(
                    "{} of {} ({})",
                    a.quorum,
                    list(&a.approvers, " or "),
                    text(&a.rule)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let reviews = view
            .reviews
            .iter()
            .map(|r| {
                let verdict = match r.verdict {
                    Verdict::Approve => "approved",
                    Verdict::Reject => "rejected",
                };
                match r.comment.as_deref() {
                    Some(comment) if !comment.is_empty() => {
                        format!("{} {verdict}: {}", text(&r.reviewer), text(comment))
                    }
                    _ => format!("{} {verdict}", text(&r.reviewer)),
                }
            })
            .collect();
        Readable {
            id: text(&view.id),
            status: view.status.as_str().to_owned(),
            filed_by: text(&view.requester),
            command: render::command_with(&view.facts.argv, also),
            commands: view
                .commands
                .iter()
                .map(|c| {
                    (
                        render::analysed(&c.argv, &c.runtime, also),
                        list(&c.rules, ", "),
                    )
                })
                .collect(),
            program: format!(
                "{} (sha256 {})",
                text(&view.facts.resolved_path),
                text(&view.facts.binary_sha256)
            ),
            secrets: view.secrets_line().map(|line| text(&line)),
            environment: view
                .env_line()
                .map_or_else(|| "(none bound)".to_owned(), |line| text(&line)),
            also_runs: {
                let files = view.bound_files();
                if files.is_empty() {
                    "(nothing else)".to_owned()
                } else {
                    list(&files, "\n")
                }
            },
            log_conflict: view.log_head_conflict.as_deref().map(text),
            approvers,
            claims: vec![
                ("agent", agent),
                ("host", text(&view.host)),
                ("user", text(&view.user)),
                ("directory", text(&view.facts.cwd)),
                (
                    "reason",
                    view.reason
                        .as_deref()
                        .map_or_else(|| "(none given)".to_owned(), text),
                ),
                ("rules", listed(&view.rules, ", ")),
                ("why", listed(&view.descriptions, "; ")),
            ],
            reviews,
            expires_at: text(&view.expires_at),
        }
    }

    /// One claim by its label.
    pub fn claim(&self, label: &str) -> &str {
        self.claims
            .iter()
            .find(|(l, _)| *l == label)
            .map_or("", |(_, value)| value.as_str())
    }

    /// "Request approved. bob approved: fine" for a decided request.
    pub fn outcome(&self) -> String {
        let state = format!("Request {}", self.status);
        if self.reviews.is_empty() {
            state
        } else {
            format!("{state}. {}", self.reviews.join("; "))
        }
    }

    /// The fields as JSON for webhook receivers that show them to people.
    pub fn to_json(&self) -> Value {
        let claims: Map<String, Value> = self
            .claims
            .iter()
            .map(|(label, value)| ((*label).to_owned(), json!(value)))
            .collect();
        json!({
            "filed_by": self.filed_by,
            "command": self.command,
            "commands": self.commands.iter().map(|(command, rules)| json!({"command": command, "rules": rules})).collect::<Vec<_>>(),
            "program": self.program,
            "secrets": self.secrets,
            "environment": self.environment,
            "also_runs": self.also_runs,
            "approvers": self.approvers,
            "log_conflict": self.log_conflict,
            "claimed_by_requester": claims,
            "reviews": self.reviews,
            "expires_at": self.expires_at,
        })
    }
}
