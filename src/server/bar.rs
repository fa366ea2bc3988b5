//! The bar a request must meet, set by the service: its own policy judges the argv,
//! working directory and facts of every request, whatever the requester's client decided,
//! and a requirement that no configured identity could ever meet is refused up front.
//!
//! The service never looks at the requester's files, so analysis here does no IO. Every
//! fact in a request is a claim, and no claim may lower the bar: a command is judged with
//! argv\[0\] alone ([`NoResolve`]) and again as the program the request says it runs
//! (`resolved_path`), a tool call also as the tool call it says it is, and the strictest
//! outcome counts. What cannot be analysed takes the policy's `opaque` decision.

use std::sync::Arc;
use std::time::Duration;

use super::Identities;
use crate::approval::NewRequest;
use crate::policy::{
    ApprovalRequirement, Context, DEFAULT_RULE, Decision, Evaluation, OPAQUE_RULE, Policy,
};
use crate::secrets;
use crate::shell::{self, Analysis, NoResolve, Resolve, Resolved};

/// Prefix of the rule ids of the service's own requirements.
pub const SERVER_RULE: &str = "server:";
/// Prefix of the rule ids of the requirements secrets add.
pub const SECRET_RULE: &str = "secret:";

/// The longest the service spends analysing one request (as the client does).
const ANALYSIS_LIMIT: Duration = Duration::from_secs(2);

/// What the service's policy makes of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub decision: Decision,
    /// The service's requirements when the decision is `approve`, rule ids `server:ID`.
    pub requirements: Vec<ApprovalRequirement>,
    /// When the decision is `deny`: the rules that deny it (`server:ID`) and what they are
    /// about.
    pub denied_by: Vec<(String, Option<String>)>,
    /// A rule of the service needs the requester's reason.
    pub reason_required: bool,
    /// The shortest timeout of the service's approve rules that apply.
    pub timeout_seconds: Option<u64>,
    /// What the service's approve rules that apply are about, by rule id `server:ID`.
    pub descriptions: std::collections::BTreeMap<String, String>,
}

impl Judgement {
    /// The one-line refusal of a denied request.
    pub fn denial(&self) -> String {
        let rules: Vec<String> = self
            .denied_by
            .iter()
            .map(|(rule, description)| match description {
                Some(text) => format!("rule {rule} ({text})"),
                None => format!("rule {rule}"),
            })
            .collect();
        format!(
            "the service's policy denies this command: {}",
            rules.join("; ")
        )
    }
}

/// The facts of a request as a policy context for `policy`. The requester's terminal is
/// unknown here: `tty` is false. A variable the policy's conditions name is known only when
/// the request carries it in clear, or when clients always bind it (its absence then means
/// it is not set); otherwise (not bound by clients, or bound by its hash because it looks
/// secret) its value is unknown, and a condition on it is only possibly met.
fn context(policy: &Policy, request: &NewRequest) -> Context {
    let ids: Vec<&str> = policy.rules().ids().iter().map(String::as_str).collect();
    let hashed = |name: &str| {
        request
            .env
            .get(name)
            .is_some_and(|value| value.starts_with("sha256:"))
    };
    let unknown_env: Vec<String> = policy
        .env_names(&ids)
        .into_iter()
        .filter(|name| {
            hashed(name) || (!request.env.contains_key(name) && !secrets::always_bound(name))
        })
        .collect();
    let env = request
        .env
        .iter()
        .filter(|(name, _)| !unknown_env.contains(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Context {
        user: request.user.clone(),
        host: request.host.clone(),
        cwd: request.cwd.clone(),
        agent: request.agent,
        tty: false,
        env,
        unknown_env,
    }
}

/// A resolver that knows one thing, without IO: argv\[0\] runs the file the request names.
struct Claimed<'a> {
    program: &'a str,
    path: &'a str,
}

impl Resolve for Claimed<'_> {
    fn resolve(&self, program: &str, _path_var: Option<&str>) -> Resolved {
        if program != self.program {
            return Resolved::default();
        }
        let name = self.path.rsplit('/').next().unwrap_or(self.path);
        Resolved {
            names: vec![name.to_owned()],
            paths: vec![self.path.to_owned()],
        }
    }
}

/// Judges `request` by `policy` (see the module's documentation).
pub fn judge(policy: &Policy, request: &NewRequest) -> Judgement {
    let ctx = context(policy, request);
    let argv = &request.argv;
    let mut evaluations = vec![policy.evaluate(&shell::analyze_argv(argv, &NoResolve), &ctx)];
    if let Some(program) = argv.first()
        && request.resolved_path.starts_with('/')
    {
        let claimed = Claimed {
            program,
            path: &request.resolved_path,
        };
        evaluations.push(policy.evaluate(&shell::analyze_argv(argv, &claimed), &ctx));
    }
    if let Some(tool) = request.resolved_path.strip_prefix("tool:") {
        let input = match argv.as_slice() {
            [name, input] if name == tool => serde_json::from_str(input).ok(),
            _ => None,
        };
        evaluations.push(match input {
            // The commands a tool runs (`command_from`) are judged like shell lines.
            Some(input) => {
                let analyses: Vec<_> = policy
                    .tool_commands(tool, &input, &ctx)
                    .into_iter()
                    .map(|command| match command {
                        Ok(line) => shell::analyze_script(&line, &NoResolve),
                        Err(why) => opaque(&why),
                    })
                    .collect();
                policy.evaluate_tool_running(tool, &input, &ctx, &analyses)
            }
            None => policy.evaluate(
                &opaque("the tool call's input is not one JSON value after its name"),
                &ctx,
            ),
        });
    }
    combine(policy, &evaluations)
}

/// An analysis that found nothing it could prove.
fn opaque(reason: &str) -> Analysis {
    Analysis {
        commands: Vec::new(),
        opaque: vec![reason.to_owned()],
    }
}

/// [`judge`] off the async runtime and within the analysis limit; a request that takes
/// longer is judged as one that cannot be analysed.
pub async fn judge_bounded(policy: Arc<Policy>, request: &NewRequest) -> Judgement {
    let task = tokio::task::spawn_blocking({
        let policy = Arc::clone(&policy);
        let request = request.clone();
        move || judge(&policy, &request)
    });
    match tokio::time::timeout(ANALYSIS_LIMIT, task).await {
        Ok(Ok(judgement)) => judgement,
        _ => {
            let evaluation = policy.evaluate(
                &opaque("the command takes too long to analyse"),
                &context(&policy, request),
            );
            combine(&policy, &[evaluation])
        }
    }
}

/// The strictest of several evaluations of the same request.
fn combine(policy: &Policy, evaluations: &[Evaluation]) -> Judgement {
    let decision = evaluations
        .iter()
        .map(|e| e.decision)
        .max()
        .unwrap_or(Decision::Allow);
    let mut judgement = Judgement {
        decision,
        requirements: Vec::new(),
        denied_by: Vec::new(),
        reason_required: false,
        timeout_seconds: None,
        descriptions: std::collections::BTreeMap::new(),
    };
    for evaluation in evaluations.iter().filter(|e| e.decision == decision) {
        match decision {
            // The service cannot see a command run: supervision is the client's to enforce.
            Decision::Allow | Decision::Supervise => {}
            Decision::Approve => {
                for approval in &evaluation.approvals {
                    let rule = format!("{SERVER_RULE}{}", approval.rule);
                    if judgement.requirements.iter().all(|r| r.rule != rule) {
                        judgement.requirements.push(ApprovalRequirement {
                            rule,
                            ..approval.clone()
                        });
                    }
                }
                for hit in &evaluation.hits {
                    if let (Decision::Approve, Some(text)) = (hit.decision, &hit.description) {
                        judgement
                            .descriptions
                            .insert(format!("{SERVER_RULE}{}", hit.rule), text.clone());
                    }
                }
                judgement.reason_required |= evaluation.reason_required;
                judgement.timeout_seconds =
                    match (judgement.timeout_seconds, evaluation.timeout_seconds) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
            }
            Decision::Deny => {
                let mut denied: Vec<(String, Option<String>)> = evaluation
                    .hits
                    .iter()
                    .filter(|h| h.decision == Decision::Deny)
                    .map(|h| (h.rule.clone(), h.description.clone()))
                    .collect();
                if denied.is_empty() {
                    // No rule: the policy's `opaque` or `default` decision denies.
                    let (_, opaque) = policy.defaults();
                    let pseudo = if !evaluation.opaque.is_empty() && opaque == Decision::Deny {
                        OPAQUE_RULE
                    } else {
                        DEFAULT_RULE
                    };
                    denied.push((pseudo.to_owned(), None));
                }
                for (rule, description) in denied {
                    let rule = format!("{SERVER_RULE}{rule}");
                    if judgement.denied_by.iter().all(|(r, _)| *r != rule) {
                        judgement.denied_by.push((rule, description));
                    }
                }
            }
        }
    }
    judgement
}

/// Why a request cannot be filed as it is (a `422`).
#[derive(Debug, PartialEq, Eq)]
pub struct Unfit {
    pub message: String,
    pub hint: Option<&'static str>,
}

impl Unfit {
    fn new(message: impl Into<String>) -> Unfit {
        Unfit {
            message: message.into(),
            hint: None,
        }
    }
}

/// The most escalation steps one requirement may have.
pub const MAX_ESCALATION_STEPS: usize = 10;

/// Whether a requirement a client sent is well formed: a quorum, approvers written as
/// `user:NAME` or `group:NAME` (its escalation's too), a bounded escalation.
pub fn well_formed(requirement: &ApprovalRequirement) -> bool {
    let approver = |a: &String| {
        a.split_once(':')
            .is_some_and(|(k, n)| matches!(k, "user" | "group") && !n.is_empty())
    };
    let escalate = &requirement.workflow.escalate;
    requirement.quorum >= 1
        && !requirement.approvers.is_empty()
        && requirement.approvers.iter().all(approver)
        && escalate.len() <= MAX_ESCALATION_STEPS
        && escalate
            .iter()
            .all(|step| step.notify.iter().chain(&step.add_approvers).all(approver))
}

/// Whether a rule id is reserved for the service's own requirements.
pub fn reserved(rule: &str) -> bool {
    [SERVER_RULE, SECRET_RULE]
        .iter()
        .any(|prefix| rule.starts_with(prefix))
}

/// Puts the service's requirements next to the client's, once the client's are found well
/// formed and not named like the service's own; refuses a request that needs none at all,
/// or lacks a reason a rule of the service asks for.
pub fn merge(request: &mut NewRequest, judgement: Option<&Judgement>) -> Result<(), Unfit> {
    let theirs = judgement.map_or(&[][..], |j| &j.requirements);
    if request.approvals.is_empty() && theirs.is_empty() {
        return Err(Unfit::new("no approval requirements"));
    }
    for requirement in &request.approvals {
        if !well_formed(requirement) {
            return Err(Unfit::new(format!(
                "invalid approval requirement for rule {}",
                requirement.rule
            )));
        }
        if reserved(&requirement.rule) {
            return Err(Unfit {
                message: format!(
                    "rule {} is named like one of the service's own requirements",
                    requirement.rule
                ),
                hint: Some(
                    "rule ids starting with `server:` or `secret:` are reserved for the service",
                ),
            });
        }
    }
    let reason_given = request
        .reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if judgement.is_some_and(|j| j.reason_required) && !reason_given {
        let rules: Vec<&str> = theirs.iter().map(|r| r.rule.as_str()).collect();
        return Err(Unfit {
            message: format!(
                "a reason is required by the service's rule {}",
                rules.join(", ")
            ),
            hint: Some("give one with `gatekeep run --reason TEXT`"),
        });
    }
    request.approvals.extend(theirs.iter().cloned());
    // Only the service describes its own rules: the client's words never appear as theirs.
    request.rule_descriptions.retain(|rule, _| {
        ![SERVER_RULE, SECRET_RULE]
            .iter()
            .any(|prefix| rule.starts_with(prefix))
    });
    if let Some(judgement) = judgement {
        request
            .rule_descriptions
            .extend(judgement.descriptions.clone());
    }
    Ok(())
}

/// Why `requirements` could never be met by the identities configured now, if so: an
/// approver that names a group no user belongs to or a user that does not exist, or fewer
/// possible reviewers (other than the requester) than the quorum.
pub fn unmeetable(
    identities: &Identities,
    requester: &str,
    requirements: &[ApprovalRequirement],
) -> Option<String> {
    for requirement in requirements {
        for approver in &requirement.approvers {
            let problem = match approver.split_once(':') {
                Some(("group", group)) => (!identities
                    .users()
                    .any(|u| u.groups.iter().any(|g| g == group || g == "*")))
                .then_some("a group no configured user belongs to"),
                Some(("user", name)) => identities
                    .get(name)
                    .is_none()
                    .then_some("who is not a configured user"),
                _ => Some("which is neither user:NAME nor group:NAME"),
            };
            if let Some(problem) = problem {
                return Some(format!(
                    "rule {} names {approver}, {problem}",
                    requirement.rule
                ));
            }
        }
        let able = identities
            .users()
            .filter(|u| {
                u.can_review
                    && u.name != requester
                    && Identities::is_approver(u, &requirement.approvers)
            })
            .count();
        if able < requirement.quorum as usize {
            return Some(format!(
                "rule {} needs {} from {}, but only {} other than the requester can give one",
                requirement.rule,
                crate::render::count(requirement.quorum, "approval", "approvals"),
                requirement.approvers.join(" or "),
                crate::render::count(able as u64, "configured reviewer", "configured reviewers")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Source;
    use crate::server::User;

    fn policy(text: &str) -> Policy {
        Policy::load(&[Source {
            origin: "server.yaml".into(),
            text: text.into(),
        }])
        .unwrap()
    }

    fn request(argv: &[&str], resolved_path: &str) -> NewRequest {
        serde_json::from_value(serde_json::json!({
            "argv": argv, "cwd": "/srv", "resolved_path": resolved_path,
            "binary_sha256": "00", "host": "ws", "user": "alice", "approvals": [],
            "digest": "",
        }))
        .unwrap()
    }

    const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 10m}
rules:
  - id: export
    description: Export of the production database
    decision: approve
    match: {program: pg_dump, options: {"-h|--host": "prod*"}}
    approval: {approvers: ["group:dba"], quorum: 2, timeout: 5m, reason_required: true}
  - id: by-path
    decision: approve
    match: {program: /opt/db/bin/*}
  - id: no-drop
    description: Dropping databases
    decision: deny
    match: {program: dropdb}
  - id: agents-write
    decision: approve
    match: {tool: Write, when: {agent: true}}
  - id: ls
    decision: allow
    match: {program: ls}
"#;

    #[test]
    fn the_service_rules_become_server_requirements() {
        let judged = judge(
            &policy(POLICY),
            &request(&["pg_dump", "-h", "prod-db", "app"], "/usr/bin/pg_dump"),
        );
        assert_eq!(judged.decision, Decision::Approve);
        assert_eq!(
            judged.requirements,
            [ApprovalRequirement {
                rule: "server:export".into(),
                approvers: vec!["group:dba".into()],
                quorum: 2,
                ..Default::default()
            }]
        );
        assert!(judged.reason_required);
        assert_eq!(judged.timeout_seconds, Some(300));
        let allowed = judge(
            &policy(POLICY),
            &request(&["pg_dump", "-h", "localhost"], "/usr/bin/pg_dump"),
        );
        assert_eq!(allowed.decision, Decision::Allow);
        assert!(allowed.requirements.is_empty());
    }

    #[test]
    fn a_deny_names_its_rules() {
        let judged = judge(
            &policy(POLICY),
            &request(&["sudo", "dropdb", "prod"], "/usr/bin/sudo"),
        );
        assert_eq!(judged.decision, Decision::Deny);
        assert_eq!(
            judged.denial(),
            "the service's policy denies this command: rule server:no-drop (Dropping databases)"
        );
        let by_default = judge(
            &policy("version: 1\ndefault: deny\n"),
            &request(&["true"], "/usr/bin/true"),
        );
        assert_eq!(by_default.denied_by, [("server:<default>".into(), None)]);
    }

    #[test]
    fn no_claim_lowers_the_bar() {
        // Claiming to run an allowed program does not lift the default from argv[0]'s name.
        let strict = policy(
            "version: 1\ndefault: approve\nrules:\n  - {id: ls, decision: allow, match: {program: ls}}\n",
        );
        let renamed = judge(&strict, &request(&["./tool", "-x"], "/usr/bin/ls"));
        assert_eq!(renamed.decision, Decision::Approve);
        assert_eq!(renamed.requirements[0].rule, "server:<default>");
        assert_eq!(
            judge(&strict, &request(&["ls"], "/usr/bin/ls")).decision,
            Decision::Allow
        );
        // A rule written for the installed path catches a renamed copy by its claimed path.
        let by_path = judge(&policy(POLICY), &request(&["db"], "/opt/db/bin/db"));
        assert_eq!(by_path.requirements[0].rule, "server:by-path");
        // Calling a command a tool call does not make it one.
        let disguised = judge(&policy(POLICY), &request(&["dropdb", "{}"], "tool:dropdb"));
        assert_eq!(disguised.decision, Decision::Deny);
        let mut tool = request(&["Write", r#"{"file_path": "/etc/x"}"#], "tool:Write");
        tool.agent = true;
        assert_eq!(judge(&policy(POLICY), &tool).decision, Decision::Approve);
        tool.agent = false;
        assert_eq!(judge(&policy(POLICY), &tool).decision, Decision::Allow);
    }

    #[test]
    fn the_command_a_tool_runs_is_judged_by_the_services_rules_too() {
        let policy = policy(&format!(
            "{POLICY}  - id: shell-tool\n    decision: allow\n    match: {{tool: mcp__sh__run, command_from: input.command}}\n"
        ));
        let call = |command: &str| {
            let input = serde_json::json!({ "command": command }).to_string();
            judge(
                &policy,
                &request(&["mcp__sh__run", &input], "tool:mcp__sh__run"),
            )
            .decision
        };
        assert_eq!(call("ls -l"), Decision::Allow);
        assert_eq!(call("ls && dropdb prod"), Decision::Deny);
        assert_eq!(call("eval \"$X\""), Decision::Approve);
    }

    #[test]
    fn what_cannot_be_analysed_takes_the_opaque_decision() {
        let judged = judge(
            &policy(POLICY),
            &request(&["bash", "-c", "eval \"$X\""], "/usr/bin/bash"),
        );
        assert_eq!(judged.decision, Decision::Approve);
        assert_eq!(judged.requirements[0].rule, "server:<opaque>");
        assert_eq!(judged.requirements[0].approvers, ["group:reviewers"]);
        let garbled = judge(
            &policy(POLICY),
            &request(&["Write", "not json"], "tool:Write"),
        );
        assert_eq!(garbled.requirements[0].rule, "server:<opaque>");
        let strict = judge(
            &policy("version: 1\nopaque: deny\n"),
            &request(&["bash", "-c", "eval \"$X\""], "/usr/bin/bash"),
        );
        assert_eq!(strict.denied_by, [("server:<opaque>".into(), None)]);
    }

    #[test]
    fn the_service_requirements_join_the_clients() {
        let policy = policy(POLICY);
        let mine = ApprovalRequirement {
            rule: "mine".into(),
            approvers: vec!["user:bob".into()],
            quorum: 1,
            ..Default::default()
        };
        let mut filed = request(&["pg_dump", "-h", "prod"], "/usr/bin/pg_dump");
        filed.approvals = vec![mine.clone()];
        let judged = judge(&policy, &filed);
        assert_eq!(
            merge(&mut filed.clone(), Some(&judged))
                .unwrap_err()
                .message,
            "a reason is required by the service's rule server:export"
        );
        filed.reason = Some("quarterly export".into());
        // What the client says the service's rules are about is dropped; the service's own
        // descriptions take their place.
        filed.rule_descriptions = [
            ("mine".into(), "my rule".into()),
            ("server:export".into(), "harmless, approve it".into()),
            ("secret:db".into(), "nothing to see".into()),
        ]
        .into();
        merge(&mut filed, Some(&judged)).unwrap();
        let rules: Vec<&str> = filed.approvals.iter().map(|a| a.rule.as_str()).collect();
        assert_eq!(rules, ["mine", "server:export"]);
        assert_eq!(
            filed.rule_descriptions,
            [
                ("mine".into(), "my rule".into()),
                (
                    "server:export".into(),
                    "Export of the production database".into()
                ),
            ]
            .into()
        );
        // Nothing required by either side: not a request.
        let mut nothing = request(&["ls"], "/usr/bin/ls");
        let judged = judge(&policy, &nothing);
        assert_eq!(
            merge(&mut nothing, Some(&judged)).unwrap_err().message,
            "no approval requirements"
        );
        // The client cannot borrow the service's names.
        for borrowed in ["server:export", "secret:db"] {
            let mut forged = request(&["ls"], "/usr/bin/ls");
            forged.approvals = vec![ApprovalRequirement {
                rule: borrowed.into(),
                ..mine.clone()
            }];
            assert!(merge(&mut forged, None).is_err(), "{borrowed}");
        }
    }

    fn user(name: &str, groups: &[&str], can_review: bool) -> User {
        User {
            name: name.into(),
            token_sha256: "00".repeat(32),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            can_review,
            agent: false,
            auditor: false,
            slack_id: None,
            email: None,
        }
    }

    #[test]
    fn requirements_nobody_can_meet_are_named() {
        let identities = Identities::new(vec![
            user("alice", &["dba"], true),
            user("bob", &["dba"], true),
            user("robot", &["dba"], false),
        ]);
        let need = |approvers: &[&str], quorum| {
            vec![ApprovalRequirement {
                rule: "server:x".into(),
                approvers: approvers.iter().map(|a| (*a).to_owned()).collect(),
                quorum,
                ..Default::default()
            }]
        };
        assert_eq!(
            unmeetable(&identities, "carol", &need(&["group:dba"], 2)),
            None
        );
        assert_eq!(
            unmeetable(&identities, "carol", &need(&["group:dbas"], 1)).unwrap(),
            "rule server:x names group:dbas, a group no configured user belongs to"
        );
        assert_eq!(
            unmeetable(&identities, "carol", &need(&["user:mallory"], 1)).unwrap(),
            "rule server:x names user:mallory, who is not a configured user"
        );
        // The requester never counts, nor does an identity that may not review.
        assert_eq!(
            unmeetable(&identities, "alice", &need(&["group:dba"], 2)).unwrap(),
            "rule server:x needs 2 approvals from group:dba, but only 1 configured reviewer other than the requester can give one"
        );
    }
}
