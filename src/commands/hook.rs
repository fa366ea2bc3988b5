//! `gatekeep hook claude-code|codex`: answers an agent's PreToolUse hook.
//!
//! The agent treats a hook that fails (any exit status but 0 and 2, or output it cannot
//! read) as "no objection", so this command always exits 0 and turns every failure,
//! panics included, into a `deny` answer.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::approval::{CommandFacts, RequestView, Status, Verdict, verify_grant};
use crate::audit::{AuditLog, records};
use crate::cli::PolicyArgs;
use crate::client::{ApiClient, Outcome, wait_for_decision};
use crate::commands::request::{self, Filing};
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::{Decision, Evaluation, parse_duration};
use crate::redact::Redactor;

/// The most hook input read; a tool call larger than this is refused.
const MAX_INPUT: u64 = 4 << 20;
/// How long to wait for a reviewer when neither `--wait` nor `hook_wait` says.
const DEFAULT_WAIT: Duration = Duration::from_secs(50);
/// Time allowed beyond the wait for the calls around it (filing, fetching, using a grant).
const CALL_MARGIN: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Whose hook protocol to speak.
    #[arg(value_enum)]
    pub agent: Agent,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How long to wait for a reviewer before answering "deny, retry later" (default:
    /// `hook_wait` in the configuration, else 50s; keep it under the agent's hook timeout).
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The agents whose PreToolUse hooks gatekeep answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Claude Code (`.claude/settings.json`).
    ClaudeCode,
    /// OpenAI Codex (`hooks.json` or `config.toml`).
    Codex,
}

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
        }
    }
}

/// The PreToolUse input both agents send (unknown fields are ignored: agents add some).
#[derive(Debug, Deserialize)]
struct HookInput {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    hook_event_name: Option<String>,
    tool_name: String,
    #[serde(default)]
    tool_input: Value,
    #[serde(default)]
    tool_use_id: Option<String>,
}

/// What the hook tells the agent.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// No opinion: the agent's own permission rules decide.
    Pass,
    /// Run the tool call, possibly rewritten.
    Allow {
        reason: String,
        updated_input: Option<Value>,
    },
    /// Do not run it; the reason is shown to the model.
    Deny(String),
}

impl Answer {
    fn name(&self) -> &'static str {
        match self {
            Answer::Pass => "none",
            Answer::Allow { .. } => "allow",
            Answer::Deny(_) => "deny",
        }
    }

    /// The JSON to print on stdout, if any, in `agent`'s dialect.
    pub fn render(&self, agent: Agent) -> Option<Value> {
        let (decision, reason, updated) = match self {
            Answer::Pass => return None,
            // Codex refuses a bare `allow` (and then runs the call anyway under its own
            // rules); saying nothing has the same effect without a hook error.
            Answer::Allow {
                updated_input: None,
                ..
            } if agent == Agent::Codex => return None,
            Answer::Allow {
                reason,
                updated_input,
            } => ("allow", reason, updated_input.as_ref()),
            Answer::Deny(reason) => ("deny", reason, None),
        };
        let mut output = json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        });
        if let Some(updated) = updated {
            output["updatedInput"] = updated.clone();
        }
        Some(json!({ "hookSpecificOutput": output }))
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    // A panic must still produce a `deny`: keep its message off stderr and catch it.
    std::panic::set_hook(Box::new(|_| {}));
    let answer =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Hook::answer(&args, env))) {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => Answer::Deny(failure_reason(&error)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Answer::Deny(format!(
                    "gatekeep failed internally ({message}); the command was not allowed"
                ))
            }
        };
    print(&answer, args.agent);
    Ok(Exit::Success)
}

/// Prints the answer for a command line that clap could not parse (`gatekeep hook …`),
/// so a broken hook configuration fails closed too.
pub fn usage_error(agent: Option<&str>, error: &str) {
    let agent = if agent == Some("codex") {
        Agent::Codex
    } else {
        Agent::ClaudeCode
    };
    let first = error.lines().next().unwrap_or(error);
    print(
        &Answer::Deny(format!(
            "gatekeep hook is misconfigured ({first}); the command was not allowed"
        )),
        agent,
    );
}

fn print(answer: &Answer, agent: Agent) {
    use std::io::Write as _;
    if let Some(output) = answer.render(agent) {
        // A reader that went away cannot be told anything; never panic over it.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{output}").and_then(|()| stdout.flush());
    }
}

fn failure_reason(error: &anyhow::Error) -> String {
    match error.downcast_ref::<UserError>() {
        Some(user) => match &user.hint {
            Some(hint) => format!("gatekeep: {} ({hint})", user.message),
            None => format!("gatekeep: {}", user.message),
        },
        None => format!("gatekeep: {error:#}"),
    }
}

/// One hook call.
struct Hook<'a> {
    args: &'a Args,
    env: &'a Environment,
    input: HookInput,
    config: Config,
    decider: Decider,
    redactor: Redactor,
    log: AuditLog,
    run_id: String,
    started: Instant,
}

impl Hook<'_> {
    fn answer(args: &Args, env: &Environment) -> anyhow::Result<Answer> {
        let started = Instant::now();
        if cfg!(debug_assertions) && env.get(crate::env_vars::GATEKEEP_TEST_PANIC).is_some() {
            panic!("panic requested by GATEKEEP_TEST_PANIC");
        }
        let mut raw = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut raw)
            .map_err(|e| UserError::new(format!("cannot read the hook input: {e}")))?;
        if raw.len() as u64 > MAX_INPUT {
            return Err(UserError::new("the hook input is larger than 4 MiB").into());
        }
        let input: HookInput = serde_json::from_slice(&raw).map_err(|e| {
            UserError::new(format!("malformed hook input: {e}"))
                .hint("expected a PreToolUse JSON object on stdin")
        })?;
        if let Some(event) = &input.hook_event_name
            && event != "PreToolUse"
        {
            return Err(UserError::new(format!(
                "gatekeep hook answers PreToolUse events, not {event}"
            ))
            .hint("register it under PreToolUse in the agent's hook settings")
            .into());
        }
        // Everything (path resolution, the digest, the rewritten command) happens where
        // the agent will run the command; paths given to the hook keep their meaning.
        let mut args = args.clone();
        for policy in &mut args.policy.policies {
            *policy = absolute(policy);
        }
        args.log = args.log.as_deref().map(absolute);
        args.token_file = args.token_file.as_deref().map(absolute);
        let args = &args;
        if let Some(cwd) = input.cwd.as_deref().filter(|c| !c.is_empty()) {
            std::env::set_current_dir(cwd).map_err(|e| {
                UserError::new(format!("cannot enter the tool call's directory {cwd}: {e}"))
            })?;
        }
        let paths = Paths::from_env(env);
        let config = Config::load(&paths.config_file)?;
        let decider = Decider::new(env, &args.policy.policies, true)?;
        let redactor = Redactor::new(&config.redact)
            .map_err(|e| UserError::new(format!("invalid redact pattern: {e}")))?;
        let log = AuditLog::new(
            paths.audit_log(args.log.as_deref(), env, config.log.as_deref()),
            config.log_max_bytes,
            decider.context.host.clone(),
            decider.context.user.clone(),
        );
        let hook = Hook {
            args,
            env,
            input,
            config,
            decider,
            redactor,
            log,
            run_id: uuid::Uuid::now_v7().to_string(),
            started,
        };
        hook.decide()
    }

    fn record(&self, event: &str, mut fields: Value) {
        fields["run_id"] = json!(self.run_id);
        // The log is required for the decision record only; later records are best effort.
        let _ = self.log.append(event, fields);
    }

    /// The shell command of a Bash tool call.
    fn shell_command(&self) -> Option<&str> {
        (self.input.tool_name == "Bash")
            .then(|| self.input.tool_input.get("command")?.as_str())
            .flatten()
    }

    /// A file tool aimed at gatekeep's own files (configuration, policies, audit log,
    /// secrets): the agent could otherwise rewrite the rules it is held to.
    fn touches_own_files(&self) -> Option<String> {
        let paths = Paths::from_env(self.env);
        let log = absolute(&paths.audit_log(
            self.args.log.as_deref(),
            self.env,
            self.config.log.as_deref(),
        ));
        let log_dirs: Vec<PathBuf> = log
            .parent()
            .map(|d| [Some(d.to_owned()), d.canonicalize().ok()])
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        let own: Vec<PathBuf> = [
            paths.config_file.parent().map(PathBuf::from),
            Some(paths.config_file.clone()),
            Some(paths.user_policies.clone()),
            paths.log_file.parent().map(PathBuf::from),
            Some(paths.data_dir.clone()),
            Some(paths.cache_dir.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let cwd = &self.decider.context.cwd;
        ["file_path", "notebook_path", "path"]
            .iter()
            .filter_map(|key| self.input.tool_input.get(*key)?.as_str())
            .map(|given| {
                let joined = if given.starts_with('/') {
                    given.to_owned()
                } else {
                    format!("{cwd}/{given}")
                };
                crate::shell::normalize_path(&joined)
            })
            .find(|target| {
                // Through symbolic links too: the file, or the directory it would go in.
                let path = Path::new(target);
                let real = path
                    .canonicalize()
                    .ok()
                    .or_else(|| Some(path.parent()?.canonicalize().ok()?.join(path.file_name()?)));
                // The audit log in force, wherever it is: the file, its lock and its
                // rotated segments (all named after it).
                let is_log = |p: &Path| {
                    let stem = log.file_stem().unwrap_or_default().to_string_lossy();
                    let named = p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(stem.as_ref()));
                    named && log_dirs.iter().any(|d| p.parent() == Some(d.as_path()))
                };
                is_log(path)
                    || real.as_deref().is_some_and(is_log)
                    || own.iter().any(|dir| {
                        let real_dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                        path.starts_with(dir)
                            || real.as_ref().is_some_and(|r| r.starts_with(&real_dir))
                    })
            })
    }

    fn decide(&self) -> anyhow::Result<Answer> {
        let bash = self.input.tool_name == "Bash";
        if !bash && let Some(target) = self.touches_own_files() {
            let reason = format!(
                "gatekeep: {target} is one of gatekeep's own files (policies, configuration, audit log, secrets); an agent may not change them"
            );
            self.record(
                "hook",
                json!({"answer": "deny", "reason": reason, "tool": self.input.tool_name, "agent_session": self.session()}),
            );
            return Ok(Answer::Deny(reason));
        }
        let (argv, evaluation) = if bash {
            let command = self.shell_command().ok_or_else(|| {
                UserError::new("malformed hook input: a Bash tool call without tool_input.command")
            })?;
            let shell =
                request::program(&["bash".to_owned()], self.env, &self.decider.context.cwd)?;
            let argv = vec![
                shell.display().to_string(),
                "-c".to_owned(),
                command.to_owned(),
            ];
            let analysis = self.decider.analyze_script(command).inspect_err(|error| {
                self.record(
                    "refused",
                    json!({"argv": self.redactor.argv(&argv), "error": error.message, "agent_session": self.session()}),
                );
            })?;
            let evaluation = self.decider.evaluate(&analysis);
            (argv, evaluation)
        } else {
            let argv = vec![
                self.input.tool_name.clone(),
                self.input.tool_input.to_string(),
            ];
            let evaluation = self.decider.policy.evaluate_tool(
                &self.input.tool_name,
                &self.input.tool_input,
                &self.decider.context,
            );
            (argv, evaluation)
        };
        let caller = records::Caller::this_process();
        let mut fields = records::decision(
            &self.run_id,
            &argv,
            &evaluation,
            &self.decider.context,
            &caller,
            self.decider.policy.digest(),
            self.reason().as_deref(),
            &self.redactor,
        );
        fields["via"] = json!(format!("hook {}", self.args.agent.name()));
        fields["tool"] = json!(self.input.tool_name);
        fields["tool_use_id"] = json!(self.input.tool_use_id);
        fields["agent_session"] = json!(self.session());
        let decided = self.log.append("decision", fields).map_err(|e| {
            UserError::new(format!("cannot write the audit log: {e}"))
                .hint("fix the log path (--log, GATEKEEP_LOG) or its file system")
        })?;
        let answer = match evaluation.decision {
            Decision::Deny => Answer::Deny(denial(&evaluation)),
            Decision::Allow => self.allow_or_pass(&evaluation),
            Decision::Approve => self
                .approval(&argv, &evaluation, &decided)
                .unwrap_or_else(|error| Answer::Deny(failure_reason(&error))),
        };
        // What the agent is told, which for Codex is not always what was decided.
        let sent = match answer.render(self.args.agent) {
            Some(_) => answer.name(),
            None => "none",
        };
        let reason = match &answer {
            Answer::Pass => None,
            Answer::Allow { reason, .. } | Answer::Deny(reason) => Some(reason.as_str()),
        };
        self.record(
            "hook",
            json!({"answer": sent, "decision": evaluation.decision, "reason": reason.map(|r| self.redactor.text(r)), "agent_session": self.session()}),
        );
        Ok(answer)
    }

    fn session(&self) -> Option<String> {
        self.input
            .session_id
            .as_deref()
            .map(|s| self.redactor.text(s))
    }

    /// What the agent says the call is for: Claude Code's `description` of a Bash call.
    fn reason(&self) -> Option<String> {
        self.input
            .tool_input
            .get("description")?
            .as_str()
            .filter(|d| !d.trim().is_empty())
            .map(str::to_owned)
    }

    /// `allow` only when an allow rule names every part of the call; a call that only got
    /// the default gets no answer, so the agent's own rules still apply.
    fn allow_or_pass(&self, evaluation: &Evaluation) -> Answer {
        let covered = !evaluation.commands.is_empty()
            && evaluation.opaque.is_empty()
            && (0..evaluation.commands.len()).all(|i| {
                evaluation
                    .hits
                    .iter()
                    .any(|h| h.command == i && h.decision == Decision::Allow)
            });
        if !covered {
            return Answer::Pass;
        }
        let mut rules: Vec<&str> = evaluation.hits.iter().map(|h| h.rule.as_str()).collect();
        rules.dedup();
        Answer::Allow {
            reason: format!("allowed by gatekeep rule {}", rules.join(", ")),
            updated_input: None,
        }
    }

    fn approval(
        &self,
        argv: &[String],
        evaluation: &Evaluation,
        decided: &crate::audit::Appended,
    ) -> anyhow::Result<Answer> {
        // Every call to the service ends by the wait bound (plus a margin to file or consume
        // after a late approval): a hook that outlives the agent's patience fails open.
        let wait = self.wait_bound()?;
        let Some((client, connection)) =
            request::connect(self.env, &self.config, self.args.token_file.as_deref())?
        else {
            return Err(request::no_service(evaluation).into());
        };
        client.set_deadline(self.started + wait + CALL_MARGIN);
        let facts = if self.shell_command().is_some() {
            // Bound to this process's environment: the agent's, as far as the hook sees it
            // (docs/agents.md, "What an approval binds").
            request::command_facts(argv, &self.decider, self.env, evaluation, &self.redactor)?.facts
        } else {
            // A tool call has no binary: its facts are the tool and its exact input.
            CommandFacts {
                argv: self.redactor.argv(argv),
                cwd: self.decider.context.cwd.clone(),
                resolved_path: format!("tool:{}", self.input.tool_name),
                binary_sha256: hex::encode(Sha256::digest(argv[1].as_bytes())),
                ..CommandFacts::default()
            }
        };
        let digest = facts.digest();
        let (public_key, _) = request::public_key(&client, &connection)?;
        // A retry of the same call finds the request filed the first time.
        let mine = client
            .mine_for_digest(&digest)
            .map_err(|e| UserError::new(format!("the approval service cannot be asked: {e}")))?;
        let latest = |status: Status| {
            mine.iter()
                .filter(|r| r.status == status)
                .max_by(|a, b| a.created_at.cmp(&b.created_at))
        };
        let view = if let Some(approved) = latest(Status::Approved) {
            approved.clone()
        } else {
            let (id, deadline) = match latest(Status::Pending) {
                Some(pending) => (pending.id.clone(), self.started + wait),
                None => {
                    if evaluation.reason_required && self.reason().is_none() {
                        return Ok(Answer::Deny(
                            "gatekeep: a reason is required for this command; describe why it is needed in the tool call's description and try again".to_owned(),
                        ));
                    }
                    let new = request::new_request(
                        &facts,
                        Filing {
                            ctx: &self.decider.context,
                            evaluation,
                            reason: self.reason(),
                            agent_session: self.input.session_id.clone(),
                            log: &self.log,
                            decided,
                        },
                        &self.redactor,
                    );
                    let created = client.create(&new).map_err(|e| {
                        UserError::new(format!("the approval service refused the request: {e}"))
                    })?;
                    self.record(
                        "approval_requested",
                        records::approval_requested(&created, &new),
                    );
                    let ttl = Duration::from_secs(evaluation.timeout_seconds.unwrap_or(900));
                    (created.id, (self.started + wait).min(Instant::now() + ttl))
                }
            };
            let interrupted = Arc::new(AtomicBool::new(false));
            let _guard =
                signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&interrupted));
            match wait_for_decision(&client, &id, deadline, &interrupted, &mut |_| {}) {
                Outcome::Decided(view) => *view,
                Outcome::TimedOut | Outcome::Interrupted => {
                    let view = client.get(&id, 0).ok();
                    return Ok(Answer::Deny(pending_reason(&id, view.as_ref())));
                }
                Outcome::Failed(error) => {
                    return Err(UserError::new(format!("waiting for {id} failed: {error}")).into());
                }
            }
        };
        self.decided(&client, &view, &digest, &public_key, evaluation, &argv[0])
    }

    /// The answer for a request that left `pending`.
    fn decided(
        &self,
        client: &ApiClient,
        view: &RequestView,
        digest: &str,
        public_key: &str,
        evaluation: &Evaluation,
        shell: &str,
    ) -> anyhow::Result<Answer> {
        if view.status != Status::Approved {
            let (record, fields) = records::approval_ended(view);
            self.record(record, fields);
            let mut reason = format!("gatekeep: request {} was {}", view.id, view.status.as_str());
            if let Some(rejection) = view.reviews.iter().find(|r| r.verdict == Verdict::Reject) {
                reason.push_str(&format!(" by {}", rejection.reviewer));
                if let Some(comment) = rejection.comment.as_deref().filter(|c| !c.is_empty()) {
                    reason.push_str(&format!(": {comment}"));
                }
            }
            reason.push_str("; do not retry this command unless the situation changes");
            return Ok(Answer::Deny(reason));
        }
        let grant = view.grant.as_ref().ok_or_else(|| {
            UserError::new(format!(
                "request {} is approved but carries no grant",
                view.id
            ))
        })?;
        verify_grant(grant, public_key, &view.id, digest, &evaluation.approvals)
            .map_err(|e| UserError::new(format!("refusing the grant for {}: {e}", view.id)))?;
        let reviewers: Vec<&str> = view.reviews.iter().map(|r| r.reviewer.as_str()).collect();
        let reason = format!(
            "gatekeep: request {} approved by {}",
            view.id,
            reviewers.join(", ")
        );
        let Some(command) = self.shell_command() else {
            // A tool call runs as soon as the agent hears `allow`: use the grant now.
            client.consume(&view.id).map_err(|e| {
                UserError::new(format!("cannot use the approval of {}: {e}", view.id))
            })?;
            self.record("approval_granted", records::approval_granted(view, grant));
            return Ok(Answer::Allow {
                reason,
                updated_input: None,
            });
        };
        // A command runs under `gatekeep run --request`, which consumes the grant and
        // records the exec and exit like any run.
        let mut updated = self.input.tool_input.clone();
        updated["command"] = json!(self.rewritten(view, shell, command)?);
        Ok(Answer::Allow {
            reason,
            updated_input: Some(updated),
        })
    }

    /// `NAME=VALUE… gatekeep run --request ID -- bash -c '<command>'`, quoted for the
    /// agent's shell: the bound variables shown in clear get their approved values back.
    fn rewritten(
        &self,
        view: &RequestView,
        shell: &str,
        command: &str,
    ) -> Result<String, UserError> {
        let id = &view.id;
        let exe = std::env::current_exe()
            .map_err(|e| UserError::new(format!("cannot find the gatekeep executable: {e}")))?;
        let mut words = vec![exe.display().to_string(), "run".to_owned()];
        for policy in &self.args.policy.policies {
            words.extend(["--policy".to_owned(), policy.display().to_string()]);
        }
        if let Some(log) = &self.args.log {
            words.extend(["--log".to_owned(), log.display().to_string()]);
        }
        if let Some(token) = &self.args.token_file {
            words.extend(["--token-file".to_owned(), token.display().to_string()]);
        }
        words.push("--agent".to_owned());
        if let Some(session) = &self.input.session_id {
            words.extend(["--agent-session".to_owned(), session.clone()]);
        }
        words.extend([
            "--request".to_owned(),
            id.to_owned(),
            "--".to_owned(),
            shell.to_owned(),
            "-c".to_owned(),
            command.to_owned(),
        ]);
        let run = shlex::try_join(words.iter().map(String::as_str))
            .map_err(|e| UserError::new(format!("cannot quote the command: {e}")))?;
        let mut line = crate::approval::bind::assignments(&view.facts.env);
        line.push(run);
        Ok(line.join(" "))
    }

    fn wait_bound(&self) -> Result<Duration, UserError> {
        let text = self
            .args
            .wait
            .as_deref()
            .or(self.config.hook_wait.as_deref());
        match text {
            None => Ok(DEFAULT_WAIT),
            Some(text) => parse_duration(text)
                .map(Duration::from_secs)
                .map_err(|m| UserError::new(format!("hook wait `{text}`: {m}"))),
        }
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Why a denied call was denied: the rules' descriptions.
fn denial(evaluation: &Evaluation) -> String {
    let reasons: Vec<String> = evaluation
        .hits
        .iter()
        .filter(|h| h.decision == Decision::Deny)
        .map(|h| {
            format!(
                "rule {}: {}",
                h.rule,
                h.description.as_deref().unwrap_or("no description")
            )
        })
        .collect();
    if reasons.is_empty() {
        "gatekeep: denied by policy".to_owned()
    } else {
        format!("gatekeep: denied by {}", reasons.join("; "))
    }
}

/// The answer while a request is still pending: name it and say how to go on.
fn pending_reason(id: &str, view: Option<&RequestView>) -> String {
    let mut reason =
        format!("gatekeep: this command needs approval; request {id} is waiting for a reviewer");
    if let Some(view) = view {
        let approvers: Vec<String> = view
            .approvals
            .iter()
            .map(|a| format!("{} of {}", a.quorum, a.approvers.join(" or ")))
            .collect();
        reason.push_str(&format!(
            " ({}; review at {}; expires {})",
            approvers.join("; "),
            view.review_url,
            view.expires_at
        ));
    }
    reason.push_str(". Retry the identical command, from the same directory, later: it runs once approved. Do not try another way around this check.");
    reason
}
