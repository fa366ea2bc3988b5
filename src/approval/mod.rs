//! The approval protocol shared by the service and its clients: the wire types of API v1,
//! the command digest, and signed grants.

pub mod bind;
mod grant;
pub mod ids;
mod readable;

pub use grant::{
    Grant, GrantError, GrantPayload, KeyPair, SatisfiedApproval, verify_grant, verify_message,
};
pub use readable::{CLAIMED, Readable};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::policy::{ApprovalRequirement, Evaluation};

/// What a reviewer is shown about the command, and what the digest covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandFacts {
    /// The argument vector as displayed (secrets redacted).
    pub argv: Vec<String>,
    pub cwd: String,
    /// The absolute path of the program that will run.
    pub resolved_path: String,
    /// SHA-256 of that program file, lowercase hex.
    pub binary_sha256: String,
    /// The caller's variables that steer what the command does and where its credentials
    /// go (docs/api.md, *Command digest*). Secret-looking values appear as `sha256:HEX`.
    /// Left out of the encoding, and so of the digest, when empty (as are the two below).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Every other program the command runs, absolute path → SHA-256: the `#!`
    /// interpreters of the program and the programs the analysis found in the command line
    /// (`bash -c './bin/tool && pg_dump'`). A file that cannot be read is `unreadable`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub programs: BTreeMap<String, String>,
    /// Files interpreters read as code (`bash x.sh`, `python3 x.py`, `source x.sh`),
    /// absolute path → SHA-256.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, String>,
}

impl CommandFacts {
    /// The command digest: SHA-256 (lowercase hex) of the canonical JSON encoding of the
    /// fields (keys sorted, no whitespace).
    pub fn digest(&self) -> String {
        let value = serde_json::to_value(self).expect("facts serialise");
        hex::encode(Sha256::digest(canonical_json(&value).as_bytes()))
    }
}

/// The canonical JSON encoding: object keys sorted by their UTF-8 bytes, no whitespace,
/// serde_json's escaping for strings and numbers.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*key).clone()).to_string());
                    out.push(':');
                    write(&map[*key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The head of a client's audit log at the time of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub chain_id: String,
    pub seq: u64,
    pub hash: String,
    /// The log's absolute path on the requester's host: with the host and user, what the
    /// witness knows the log by. Without it the head is not checked against the witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `POST /v1/witness`: record lines that extend the log's witnessed chain. The last line is
/// the new head. The first line is record 0 when nothing is witnessed for the log yet;
/// otherwise a record at most one past the latest witnessed head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessProof {
    pub host: String,
    pub user: String,
    /// The log's absolute path on that host.
    pub path: String,
    pub chain_id: String,
    /// Whole record lines, without their newlines, in order.
    pub lines: Vec<String>,
}

/// One head the witness accepted, and who sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedHead {
    pub seq: u64,
    pub hash: String,
    /// When the service accepted it (its own clock).
    pub at: String,
    /// The service identity that sent it.
    pub identity: String,
}

/// A witnessed log: known by host, local user and path; one chain; every head accepted,
/// oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedLog {
    pub host: String,
    pub user: String,
    pub path: String,
    pub chain_id: String,
    pub heads: Vec<WitnessedHead>,
}

/// The answer to `POST /v1/witness`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witnessed {
    pub chain_id: String,
    /// The latest witnessed head (the one just sent, unless the witness already held a
    /// later one).
    pub head: WitnessedHead,
    /// Records the witness had not held before this call.
    pub added: u64,
}

/// One simple command the client's analysis found in the command line (a script's commands,
/// what a wrapper runs), with the rules that matched it. Shown to reviewers as the
/// requester's claim: the service does not analyse it, and the digest does not cover it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysedCommand {
    pub argv: Vec<String>,
    /// Indexes of the words known only at run time: their text is the shell source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<usize>,
    #[serde(default)]
    pub rules: Vec<String>,
}

impl AnalysedCommand {
    /// The simple commands of `evaluation` with the rules that matched each, their words
    /// passed through `redact`; none when the analysis found only `argv` itself.
    pub fn list(
        evaluation: &Evaluation,
        argv: &[String],
        redact: impl Fn(&[String]) -> Vec<String>,
    ) -> Vec<AnalysedCommand> {
        let commands: Vec<AnalysedCommand> = evaluation
            .commands
            .iter()
            .enumerate()
            .map(|(index, command)| {
                let mut rules: Vec<String> = Vec::new();
                for hit in evaluation.hits.iter().filter(|h| h.command == index) {
                    if !rules.contains(&hit.rule) {
                        rules.push(hit.rule.clone());
                    }
                }
                AnalysedCommand {
                    argv: redact(command),
                    runtime: evaluation
                        .runtime_words
                        .get(index)
                        .cloned()
                        .unwrap_or_default(),
                    rules,
                }
            })
            .collect();
        if commands.len() == 1 && commands[0].argv == argv && commands[0].runtime.is_empty() {
            return Vec::new();
        }
        commands
    }
}

/// `POST /v1/requests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub argv: Vec<String>,
    pub cwd: String,
    pub resolved_path: String,
    pub binary_sha256: String,
    pub host: String,
    pub user: String,
    #[serde(default)]
    pub agent: bool,
    #[serde(default)]
    pub agent_session: Option<String>,
    #[serde(default)]
    pub rules: Vec<String>,
    /// What each rule is about, as its policy describes it (shown to reviewers).
    #[serde(default)]
    pub descriptions: Vec<String>,
    /// Each rule's own description by rule id, so reviewers read every rule's "why"
    /// next to it (claimed by the requester, like `descriptions`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule_descriptions: BTreeMap<String, String>,
    pub approvals: Vec<ApprovalRequirement>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    #[serde(default)]
    pub log_head: Option<LogHead>,
    /// See [`CommandFacts::env`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// See [`CommandFacts::programs`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub programs: BTreeMap<String, String>,
    /// See [`CommandFacts::scripts`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, String>,
    /// Names of the service's secrets to release with the grant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// The simple commands the client's analysis found, when there is more to see than the
    /// command itself (claimed by the requester; not covered by the digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<AnalysedCommand>,
    /// A person breaks glass: grant at once, review afterwards (every rule must allow it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// Filed for a program a supervised run started, stopped at its exec: it never runs
    /// under a person's window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supervised: bool,
    /// With `break_glass`: the run already happened at this time (RFC 3339), while the
    /// service could not be reached; the service records it for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_at: Option<String>,
    pub digest: String,
}

impl NewRequest {
    /// The fields the digest covers.
    pub fn facts(&self) -> CommandFacts {
        CommandFacts {
            argv: self.argv.clone(),
            cwd: self.cwd.clone(),
            resolved_path: self.resolved_path.clone(),
            binary_sha256: self.binary_sha256.clone(),
            env: self.env.clone(),
            programs: self.programs.clone(),
            scripts: self.scripts.clone(),
        }
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Expired,
    Cancelled,
    Consumed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::Consumed => "consumed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }
}

/// A reviewer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
}

/// `POST /v1/requests/{id}/reviews`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    pub verdict: Verdict,
    #[serde(default)]
    pub comment: Option<String>,
    /// With an approval: open a window for more commands like this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowAsk>,
}

/// One recorded review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer: String,
    pub verdict: Verdict,
    pub comment: Option<String>,
    pub at: String,
    /// The window this approval asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowAsk>,
}

/// What commands a window covers, narrowest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowScope {
    /// The command the reviewer saw: the same digest (program file, arguments, directory,
    /// bound files and variables).
    #[default]
    Exact,
    /// The same program file (path and SHA-256), any arguments.
    Program,
    /// Any command held only by rules the approval covered.
    Rule,
}

impl WindowScope {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowScope::Exact => "exact",
            WindowScope::Program => "program",
            WindowScope::Rule => "rule",
        }
    }

    pub fn parse(text: &str) -> Option<WindowScope> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }
}

/// A reviewer's ask for a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowAsk {
    /// How long it stays open, in seconds.
    pub seconds: u64,
    #[serde(default)]
    pub scope: WindowScope,
    /// When it opens (RFC 3339); at the approval when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
}

/// A window opened by the approval of a request: more commands of the same requester on
/// the same host, within its scope and time, are granted without another review, each
/// with its own single-use grant. Its id is the id of the request that opened it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub id: String,
    pub scope: WindowScope,
    pub starts_at: String,
    pub ends_at: String,
    /// The approvers whose approvals opened it.
    pub opened_by: Vec<String>,
    /// The approvals it carries into each grant.
    pub approvals: Vec<SatisfiedApproval>,
    /// Opened for an agent's request (then it serves agents only).
    pub agent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revoked>,
    /// The commands granted under it, oldest first.
    #[serde(default)]
    pub uses: Vec<WindowUse>,
}

/// A window's revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub by: String,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One command granted under a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowUse {
    pub request_id: String,
    pub argv: Vec<String>,
    pub cwd: String,
    pub at: String,
}

/// `POST /v1/requests/{id}/revoke`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRevocation {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One escalation step taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    pub rule: String,
    /// Which step of the rule's `escalate:` list (from 0).
    pub step: usize,
    pub at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_approvers: Vec<String>,
}

/// A break-glass run: what it ran without waiting for, and its review afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// When approvers must have reviewed it by.
    pub review_due: String,
    /// Run while the service could not be reached, reported afterwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<AfterReview>,
    /// The review was overdue and approvers were told so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
    /// For a run reported afterwards: why the service would have refused it (an agent, a
    /// rule that does not allow break-glass); reviewers should ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection: Option<String>,
    /// For a run reported afterwards: when it ran, as its client said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_at: Option<String>,
}

/// How an approver closed a break-glass run's review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finding {
    /// It was a fair use of break-glass.
    Acknowledge,
    /// It needs a follow-up.
    Flag,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Acknowledge => "acknowledge",
            Finding::Flag => "flag",
        }
    }
}

/// `POST /v1/requests/{id}/after-review`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAfterReview {
    pub finding: Finding,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A closed break-glass review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterReview {
    pub reviewer: String,
    pub finding: Finding,
    #[serde(default)]
    pub comment: Option<String>,
    pub at: String,
}

/// A request as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: String,
    pub status: Status,
    pub requester: String,
    #[serde(flatten)]
    pub facts: CommandFacts,
    pub host: String,
    pub user: String,
    pub agent: bool,
    pub agent_session: Option<String>,
    pub rules: Vec<String>,
    #[serde(default)]
    pub descriptions: Vec<String>,
    /// See [`NewRequest::rule_descriptions`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule_descriptions: BTreeMap<String, String>,
    pub approvals: Vec<ApprovalRequirement>,
    /// Each requirement with the approvals that count towards it, as the service counts
    /// them (distinct, configured approvers, never the requester); same order as
    /// `approvals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progress: Vec<SatisfiedApproval>,
    pub reason: Option<String>,
    pub digest: String,
    pub created_at: String,
    pub expires_at: String,
    pub reviews: Vec<Review>,
    pub review_url: String,
    #[serde(default)]
    pub grant: Option<Grant>,
    /// Names of the service's secrets released to the command when it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// See [`NewRequest::commands`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<AnalysedCommand>,
    /// Set by the service when the request's log head contradicts what the witness holds
    /// for that log (rewritten, truncated or replaced): reviewers should ask why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_head_conflict: Option<String>,
    /// The window this request's approval opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The window this request was granted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_window: Option<String>,
    /// Escalation steps taken while it waited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalated>,
    /// Set when it was a break-glass run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlass>,
}

/// The answer to `POST /v1/requests/{id}/consume`: the request, and the values of the
/// secrets it releases (only ever in this answer, once).
#[derive(Clone, Debug, Deserialize)]
pub struct Consumed {
    #[serde(flatten)]
    pub view: RequestView,
    #[serde(default)]
    pub secret_values: BTreeMap<String, String>,
}

impl RequestView {
    /// Who approved it: under a window, the approvers who opened it (as its grant carries
    /// them), each once; otherwise the reviewers, in the order they reviewed.
    pub fn approvers(&self) -> Vec<&str> {
        match &self.grant {
            Some(grant) if grant.payload.window.is_some() => {
                let mut names: Vec<&str> = grant
                    .payload
                    .approvals
                    .iter()
                    .flat_map(|a| a.approved_by.iter().map(String::as_str))
                    .collect();
                names.sort_unstable();
                names.dedup();
                names
            }
            _ => self.reviews.iter().map(|r| r.reviewer.as_str()).collect(),
        }
    }

    /// The service's secrets the command receives, for reviewers; `None` when none.
    pub fn secrets_line(&self) -> Option<String> {
        (!self.secrets.is_empty()).then(|| format!("releases {}", self.secrets.join(", ")))
    }

    /// The environment the approval is bound to, for reviewers; `None` when empty.
    pub fn env_line(&self) -> Option<String> {
        let env: Vec<String> = self
            .facts
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (!env.is_empty()).then(|| env.join(" "))
    }

    /// The other programs and the script files the approval is bound to, one per line:
    /// `PATH (sha256 PREFIX)`, scripts marked as such.
    pub fn bound_files(&self) -> Vec<String> {
        let short = |hash: &str| crate::render::prefix(hash, 16).to_owned();
        let programs = self
            .facts
            .programs
            .iter()
            .map(|(path, hash)| format!("runs {path} (sha256 {})", short(hash)));
        let scripts = self
            .facts
            .scripts
            .iter()
            .map(|(path, hash)| format!("reads {path} (sha256 {})", short(hash)));
        programs.chain(scripts).collect()
    }
}

/// `201` answer to `POST /v1/requests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: String,
    pub status: Status,
    pub expires_at: String,
    pub review_url: String,
    /// Every requirement the request must meet, as the service filed it: the client's, the
    /// service's own (`server:RULE`) and the secrets' (`secret:NAME`). Empty from a service
    /// that predates the field.
    #[serde(default)]
    pub approvals: Vec<ApprovalRequirement>,
}

impl Created {
    /// The requirements to wait for: the service's full list, or `local` from a service
    /// that does not send one.
    pub fn requirements<'a>(
        &'a self,
        local: &'a [ApprovalRequirement],
    ) -> &'a [ApprovalRequirement] {
        if self.approvals.is_empty() {
            local
        } else {
            &self.approvals
        }
    }
}

/// The caller's own identity as the service knows it (`GET /v1/me`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Whether this identity may review requests (never an agent's).
    pub can_review: bool,
    /// Whether the service has this identity configured as an AI agent.
    pub agent: bool,
}

/// An error answer: `{"error": "...", "hint": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    #[serde(default)]
    pub hint: Option<String>,
    /// The service's rules (`server:RULE`) that deny the command; only in the `403` answer
    /// to a request its policy denies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_by: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let value = serde_json::json!({"b": [1, {"z": "é", "a": null}], "a": "x\"y"});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\"y","b":[1,{"a":null,"z":"é"}]}"#
        );
    }

    #[test]
    fn digest_is_stable() {
        let facts = CommandFacts {
            argv: vec!["pg_dump".into(), "-h".into(), "prod".into()],
            cwd: "/srv".into(),
            resolved_path: "/usr/bin/pg_dump".into(),
            binary_sha256: "00".repeat(32),
            env: BTreeMap::new(),
            programs: BTreeMap::new(),
            scripts: BTreeMap::new(),
        };
        let expected = hex::encode(Sha256::digest(
            format!(r#"{{"argv":["pg_dump","-h","prod"],"binary_sha256":"{}","cwd":"/srv","resolved_path":"/usr/bin/pg_dump"}}"#, "00".repeat(32)).as_bytes(),
        ));
        assert_eq!(facts.digest(), expected);
    }
}
