//! `gatekeep hook AGENT`: answers an agent's tool-call hook (Claude Code's and Codex's
//! PreToolUse, Codex's PermissionRequest, Gemini CLI's BeforeTool, Cursor's
//! beforeShellExecution and beforeMCPExecution; each dialect in `agents`).
//!
//! An agent treats a hook that fails (an exit status it does not expect, or output it
//! cannot read) as "no objection", so this command always exits 0 and turns every
//! failure, panics included, into a `deny` answer.

mod agents;

pub use agents::{Agent, Answer};

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::approval::{RequestView, Verdict};
use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::flow::{
    self, Connected, Decided, Extra, Flow, OnStop, Redeemed, Requested, Silent, Subject, WaitPolicy,
};
use crate::paths::Paths;
use crate::policy::{ApprovalRequirement, Decision, Evaluation, parse_duration};
use crate::supervise;

/// The most hook input read; a tool call larger than this is refused.
const MAX_INPUT: u64 = 4 << 20;

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
    /// Claude Code in `-p` only: answer `defer` for a call whose request is still pending
    /// at the wait bound, when it is the only tool call of its turn (else deny, retry).
    #[arg(long)]
    pub defer: bool,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    // A panic must still produce a `deny`: keep its message off stderr and catch it.
    std::panic::set_hook(Box::new(|_| {}));
    // An agent takes a hook that does not answer in time as "go ahead": whatever stalls
    // (a file, a pattern, the service), the answer is `deny` by the deadline. The clock
    // starts now; all the work, reading the configuration included, is the worker's.
    let started = Instant::now();
    let (sender, answered) = std::sync::mpsc::channel();
    let (worker_args, worker_env) = (args.clone(), env.clone());
    std::thread::spawn(move || {
        let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let deadline = decision_deadline(&worker_args, &worker_env)?;
            let _ = sender.send(Worker::Deadline(deadline));
            Hook::answer(&worker_args, &worker_env)
        }));
        let answer = match decided {
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
        let _ = sender.send(Worker::Answer(answer));
    });
    // Until the configuration says how long to wait, a short bound for reading it.
    let mut deadline = started + SETTLING;
    let answer = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match answered.recv_timeout(left) {
            Ok(Worker::Deadline(bound)) => deadline = started + bound,
            Ok(Worker::Answer(answer)) => break answer,
            Err(_) => {
                break Answer::Deny(format!(
                    "gatekeep: no decision within {} s; the command was not allowed (retry it; if it keeps happening, check the policies with `gatekeep check`)",
                    deadline.duration_since(started).as_secs()
                ));
            }
        }
    };
    print(&answer.for_agent(args.agent), args.agent);
    // Returning ends the process, and with it a decision still under way.
    Ok(Exit::Success)
}

/// Beyond the wait for a reviewer, what filing, consuming and the log may take.
const DECISION_MARGIN: Duration = Duration::from_secs(8);

/// How long reading the configuration (which sets the wait) may take.
const SETTLING: Duration = Duration::from_secs(8);

/// What the deciding thread tells the one that answers.
enum Worker {
    /// The configuration is read: the whole call may take this long.
    Deadline(Duration),
    Answer(Answer),
}

/// How long a hook call may take in all: its wait bound (`--wait`, else `hook_wait`) and
/// a margin. Keep `hook_wait` under the agent's own hook timeout.
fn decision_deadline(args: &Args, env: &Environment) -> anyhow::Result<Duration> {
    let config = Config::load(&Paths::from_env(env).config_file)?;
    Ok(wait_bound(args, &config)? + DECISION_MARGIN)
}

/// How long a call waits for a reviewer: `--wait`, else `hook_wait`.
fn wait_bound(args: &Args, config: &Config) -> Result<Duration, UserError> {
    match args.wait.as_deref() {
        None => Ok(config.hook_wait()),
        Some(text) => parse_duration(text)
            .map(Duration::from_secs)
            .map_err(|m| UserError::new(format!("hook wait `{text}`: {m}"))),
    }
}

/// Prints the answer for a command line that clap could not parse (`gatekeep hook …`),
/// so a broken hook configuration fails closed too.
pub fn usage_error(agent: Option<&str>, error: &str) {
    let agent = Agent::named(agent);
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
    input: agents::Call,
    flow: Flow<'a>,
    started: Instant,
}

impl Hook<'_> {
    fn answer(args: &Args, env: &Environment) -> anyhow::Result<Answer> {
        let started = Instant::now();
        if cfg!(debug_assertions) && env.get(crate::env_vars::GATEKEEP_TEST_PANIC).is_some() {
            panic!("panic requested by GATEKEEP_TEST_PANIC");
        }
        if cfg!(debug_assertions) && env.get(crate::env_vars::GATEKEEP_TEST_STALL).is_some() {
            loop {
                std::thread::park();
            }
        }
        let mut raw = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut raw)
            .map_err(|e| UserError::new(format!("cannot read the hook input: {e}")))?;
        if raw.len() as u64 > MAX_INPUT {
            return Err(UserError::new("the hook input is larger than 4 MiB").into());
        }
        if args.defer && args.agent != Agent::ClaudeCode {
            return Err(UserError::new(format!(
                "--defer is for Claude Code; {} has no such answer",
                args.agent.name()
            ))
            .into());
        }
        let input = agents::read(args.agent, &raw)?;
        // Everything (path resolution, the digest, the rewritten command) happens in the
        // tool call's directory, where the agent will run the command; paths given to the
        // hook itself keep the meaning they have here.
        let mut args = args.clone();
        for policy in &mut args.policy.policies {
            *policy = absolute(policy);
        }
        args.log = args.log.as_deref().map(absolute);
        args.token_file = args.token_file.as_deref().map(absolute);
        let args = &args;
        let cwd = match input.cwd.as_deref().filter(|c| !c.is_empty()) {
            Some(cwd) => {
                let dir = absolute(Path::new(cwd));
                let problem = match std::fs::metadata(&dir) {
                    Ok(meta) if meta.is_dir() => None,
                    Ok(_) => Some("not a directory".to_owned()),
                    Err(error) => Some(error.to_string()),
                };
                if let Some(problem) = problem {
                    return Err(UserError::new(format!(
                        "cannot enter the tool call's directory {cwd}: {problem}"
                    ))
                    .into());
                }
                dir.display().to_string()
            }
            None => std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        };
        let paths = Paths::from_env(env);
        let config = Config::load(&paths.config_file)?;
        let decider = Decider::with_context(env, &args.policy.policies, env.context_in(true, cwd))?;
        let (redactor, log) =
            crate::flow::redactor_and_log(env, &config, &decider, args.log.as_deref())?;
        let hook = Hook {
            args,
            flow: Flow {
                env,
                config,
                decider,
                redactor,
                log,
                run_id: uuid::Uuid::now_v7().to_string(),
                agent_session: input.session_id.clone(),
                token_file: args.token_file.clone(),
                sink: &Silent,
            },
            input,
            started,
        };
        let answer = hook.decide();
        // Agents that only go through the hook get their log witnessed too, in the
        // background, when a witness is due.
        crate::client::witness::after_run(
            env,
            &hook.flow.config,
            &hook.flow.log,
            hook.args.token_file.as_deref(),
        );
        answer
    }

    /// A file tool aimed at gatekeep's own files (configuration, policies, audit log,
    /// secrets): the agent could otherwise rewrite the rules it is held to.
    fn touches_own_files(&self) -> Option<String> {
        let env = self.flow.env;
        let paths = Paths::from_env(env);
        let log = absolute(&paths.audit_log(
            self.args.log.as_deref(),
            env,
            self.flow.config.log.as_deref(),
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
        let cwd = &self.flow.decider.context.cwd;
        ["file_path", "notebook_path", "path", "absolute_path"]
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
        let flow = &self.flow;
        let bash = self.input.shell.is_some();
        if !bash && let Some(target) = self.touches_own_files() {
            let reason = format!(
                "gatekeep: {target} is one of gatekeep's own files (policies, configuration, audit log, secrets); an agent may not change them"
            );
            flow.record(
                "hook",
                json!({"answer": "deny", "reason": reason, "tool": self.input.tool_name, "agent_session": self.session()}),
            );
            return Ok(Answer::Deny(reason));
        }
        let subject = if let Some(line) = &self.input.shell {
            let shell = flow::program(&["bash".to_owned()], flow.env, &flow.decider.context.cwd)?;
            Subject::Shell {
                shell: shell.display().to_string(),
                line: line.clone(),
            }
        } else {
            Subject::Tool {
                name: self.input.tool_name.clone(),
                input: self.input.tool_input.clone(),
            }
        };
        let mut extra = Extra::new();
        extra.insert(
            "via".to_owned(),
            json!(format!("hook {}", self.args.agent.name())),
        );
        extra.insert("tool".to_owned(), json!(self.input.tool_name));
        extra.insert("tool_use_id".to_owned(), json!(self.input.tool_use_id));
        let mut decided = flow.decide(subject, self.reason().as_deref(), extra)?;
        let agent = self.args.agent;
        // Probed only for a `supervise` decision: the probe forks.
        if decided.evaluation.decision == Decision::Supervise
            && agent != Agent::CodexPermission
            && !(matches!(decided.subject, Subject::Shell { .. })
                && agent.can_rewrite()
                && supervise::available())
        {
            // A tool call cannot be watched, nor a command the agent will not run rewritten,
            // nor one where supervision cannot start: a person decides instead.
            decided.evaluation.decision = Decision::Approve;
        }
        let evaluation = &decided.evaluation;
        let answer = match evaluation.decision {
            Decision::Deny => Answer::Deny(denial(evaluation)),
            // Codex asks for network access on the command's behalf: a rule allowing the
            // command says nothing about the network.
            Decision::Allow if self.input.network => Answer::Pass,
            Decision::Allow => self.allow_or_pass(evaluation),
            // Codex's PermissionRequest comes after its PreToolUse hook, which files the
            // requests (a command needing approval arrives here only rewritten to run
            // under its grant): the person in front of Codex decides, never a blanket allow.
            Decision::Supervise | Decision::Approve if agent == Agent::CodexPermission => {
                Answer::Pass
            }
            Decision::Supervise => self
                .supervised(&decided)
                .unwrap_or_else(|error| Answer::Deny(failure_reason(&error.into()))),
            Decision::Approve => self
                .approval(&decided)
                .unwrap_or_else(|error| Answer::Deny(failure_reason(&error.into()))),
        }
        .for_agent(agent);
        // What the agent is told, which for Codex is not always what was decided.
        let sent = match answer.render(agent) {
            Some(_) => answer.name(),
            None => "none",
        };
        flow.record(
            "hook",
            json!({"answer": sent, "decision": evaluation.decision, "reason": answer.reason().map(|r| flow.redactor.text(r)), "agent_session": self.session()}),
        );
        Ok(answer)
    }

    fn session(&self) -> Option<String> {
        self.input
            .session_id
            .as_deref()
            .map(|s| self.flow.redactor.text(s))
    }

    /// What the agent says the call is for (Claude Code's `description` of a Bash call).
    fn reason(&self) -> Option<String> {
        self.input.description.clone()
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
                    .any(|h| h.command == i && h.decision == Decision::Allow && !h.unprovable)
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

    /// Gets approval within the wait bound: a retry of the same call finds the request
    /// filed the first time, and a request still pending at the bound stays pending.
    fn approval(&self, decided: &Decided) -> Result<Answer, UserError> {
        let flow = &self.flow;
        // Every call to the service ends by the wait bound (plus a margin to file or consume
        // after a late approval): a hook that outlives the agent's patience fails open.
        let bound = self.started + self.wait_bound()?;
        let connected = flow.connect(decided, Some(bound))?;
        if let Some(person) = self.local_approver(&decided.evaluation, &connected) {
            let mut rules: Vec<&str> = decided
                .evaluation
                .approvals
                .iter()
                .map(|a| a.rule.as_str())
                .collect();
            rules.dedup();
            return Ok(Answer::Ask(format!(
                "gatekeep: rule {} lets the person at this terminal decide ({person}, who may approve it)",
                rules.join(", ")
            )));
        }
        let interrupted = Arc::new(AtomicBool::new(false));
        let _guard =
            signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&interrupted));
        let wait = WaitPolicy {
            reuse: true,
            no_wait: false,
            bound: Some(bound),
            interrupted,
            on_stop: OnStop::KeepPending,
            break_glass: false,
        };
        let requested = match flow.request(decided, &connected, self.reason(), &wait) {
            Err(error) if error.kind == "reason_required" => {
                return Ok(Answer::Deny(
                    "gatekeep: a reason is required for this command; describe why it is needed in the tool call's description and try again".to_owned(),
                ));
            }
            other => other?,
        };
        let approval = match requested {
            Requested::Approved(approval) => approval,
            Requested::Pending { id, view } => {
                let reason = pending_reason(&id, view.as_deref());
                return Ok(if self.may_defer() {
                    Answer::Defer(reason)
                } else {
                    Answer::Deny(reason)
                });
            }
            Requested::Ended(view) => return Ok(Answer::Deny(ended_reason(&view))),
            Requested::TimedOut { error } => {
                return Ok(Answer::Deny(format!(
                    "gatekeep: the approval service could not be reached ({}); the command was not allowed",
                    error.as_deref().unwrap_or("no answer")
                )));
            }
            Requested::Cancelled => {
                return Ok(Answer::Deny(
                    "gatekeep: interrupted before the request was filed; the command was not allowed".to_owned(),
                ));
            }
        };
        let view = &approval.view;
        let reviewers = view.approvers();
        let reason = format!(
            "gatekeep: request {} approved by {}",
            view.id,
            reviewers.join(", ")
        );
        match &decided.subject {
            // A tool call runs as soon as the agent hears `allow`: use the grant now.
            Subject::Tool { .. } => match flow.redeem(decided, &approval, true)? {
                Redeemed::Granted { .. } => Ok(Answer::Allow {
                    reason,
                    updated_input: None,
                }),
                Redeemed::Unusable => Ok(Answer::Deny(format!(
                    "gatekeep: the approval of {} can no longer be used; the command was not allowed",
                    view.id
                ))),
            },
            // An agent that cannot run a rewritten command (Cursor) runs the approved line
            // as soon as it hears `allow`: the grant is used now, as for a tool call.
            Subject::Shell { .. } if !self.args.agent.can_rewrite() => {
                match flow.redeem(decided, &approval, true)? {
                    Redeemed::Granted { .. } => Ok(Answer::Allow {
                        reason,
                        updated_input: None,
                    }),
                    Redeemed::Unusable => Ok(Answer::Deny(format!(
                        "gatekeep: the approval of {} can no longer be used; the command was not allowed",
                        view.id
                    ))),
                }
            }
            // A command runs under `gatekeep run --request`, which consumes the grant and
            // records the exec and exit like any run.
            Subject::Shell { shell, line } => {
                flow.redeem(decided, &approval, false)?;
                let mut updated = self.input.tool_input.clone();
                updated["command"] = json!(self.rewritten(Some(view), shell, line)?);
                Ok(Answer::Allow {
                    reason,
                    updated_input: Some(updated),
                })
            }
            Subject::Argv(_) | Subject::Exec(_) => {
                Err(UserError::new("a hook decides shell lines and tool calls"))
            }
        }
    }

    /// The person at the agent's terminal, when every rule asking for approval opted in to
    /// `local_ask`, the agent can ask them, and the service says who the hook's credentials
    /// belong to: a reviewer (not an agent) whom every rule names, alone enough for it.
    fn local_approver(&self, evaluation: &Evaluation, connected: &Connected) -> Option<String> {
        if !self.args.agent.can_ask() || !evaluation.local_ask || evaluation.approvals.is_empty() {
            return None;
        }
        let me = connected.client.me().ok()?;
        if !me.can_review || me.agent {
            return None;
        }
        let named = |approver: &String| match approver.split_once(':') {
            Some(("user", name)) => name == me.name,
            Some(("group", group)) => me.groups.iter().any(|g| g == group),
            _ => false,
        };
        evaluation
            .approvals
            .iter()
            .all(|a| a.quorum <= 1 && a.approvers.iter().any(named))
            .then(|| crate::render::text(&me.name))
    }

    /// `defer` was asked for and the transcript shows this call alone in its turn (Claude
    /// Code ignores `defer` for a call with siblings, and then goes its usual way).
    fn may_defer(&self) -> bool {
        // Where Claude Code ignores `defer`, it goes on with its own rules; in a session
        // that asks for nothing those would run the call.
        let asks = !matches!(
            self.input.permission_mode.as_deref(),
            Some("bypassPermissions" | "dontAsk" | "auto")
        );
        self.args.defer
            && asks
            && match (&self.input.transcript_path, &self.input.tool_use_id) {
                (Some(transcript), Some(id)) => agents::only_call_in_turn(transcript, id),
                _ => false,
            }
    }

    /// `gatekeep run --request ID -- bash -c '<command>'`, quoted for the agent's shell.
    /// The answer for a `supervise` decision: run the line under `gatekeep run --supervise`,
    /// where every program it starts is judged before it runs.
    fn supervised(&self, decided: &Decided) -> Result<Answer, UserError> {
        let Subject::Shell { shell, line } = &decided.subject else {
            return Err(UserError::new(
                "only a shell line can run under supervision",
            ));
        };
        let mut rules: Vec<&str> = decided
            .evaluation
            .hits
            .iter()
            .filter(|h| h.decision == Decision::Supervise)
            .map(|h| h.rule.as_str())
            .collect();
        rules.dedup();
        let mut updated = self.input.tool_input.clone();
        updated["command"] = json!(self.rewritten(None, shell, line)?);
        Ok(Answer::Allow {
            reason: format!(
                "gatekeep: runs under supervision (rule {}); every program it starts is checked",
                if rules.is_empty() {
                    "<opaque>".to_owned()
                } else {
                    rules.join(", ")
                }
            ),
            updated_input: Some(updated),
        })
    }

    /// `gatekeep run [--request ID | --supervise] -- bash -c '<command>'`, quoted for the
    /// agent's shell.
    fn rewritten(
        &self,
        view: Option<&RequestView>,
        shell: &str,
        command: &str,
    ) -> Result<String, UserError> {
        let id = view.map(|v| v.id.as_str());
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
        match id {
            Some(id) => words.extend(["--request".to_owned(), id.to_owned()]),
            None => words.push("--supervise".to_owned()),
        }
        words.extend([
            "--".to_owned(),
            shell.to_owned(),
            "-c".to_owned(),
            command.to_owned(),
        ]);
        let run = shlex::try_join(words.iter().map(String::as_str))
            .map_err(|e| UserError::new(format!("cannot quote the command: {e}")))?;
        // The bound variables shown in clear get their approved values back.
        let mut line = view
            .map(|view| crate::approval::bind::assignments(&view.facts.env))
            .unwrap_or_default();
        line.push(run);
        Ok(line.join(" "))
    }

    fn wait_bound(&self) -> Result<Duration, UserError> {
        wait_bound(self.args, &self.flow.config)
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Why a denied call was denied: the rules' descriptions.
fn denial(evaluation: &Evaluation) -> String {
    let reasons = evaluation.denials();
    if reasons.is_empty() {
        "gatekeep: denied by policy".to_owned()
    } else {
        format!("gatekeep: denied by {}", reasons.join("; "))
    }
}

/// The answer for a request the service ended without approval.
fn ended_reason(view: &RequestView) -> String {
    let mut reason = format!("gatekeep: request {} was {}", view.id, view.status.as_str());
    if let Some(rejection) = view.reviews.iter().find(|r| r.verdict == Verdict::Reject) {
        reason.push_str(&format!(" by {}", crate::render::text(&rejection.reviewer)));
        if let Some(comment) = rejection.comment.as_deref().filter(|c| !c.is_empty()) {
            reason.push_str(&format!(": {}", crate::render::text(comment)));
        }
    }
    reason.push_str("; do not retry this command unless the situation changes");
    reason
}

/// The answer while a request is still pending: name it and say how to go on.
fn pending_reason(id: &str, view: Option<&RequestView>) -> String {
    let mut reason =
        format!("gatekeep: this command needs approval; request {id} is waiting for a reviewer");
    if let Some(view) = view {
        reason.push_str(&format!(
            " ({}; review at {}; expires {})",
            ApprovalRequirement::describe_all(&view.approvals),
            view.review_url,
            view.expires_at
        ));
    }
    reason.push_str(". Retry the identical command, from the same directory, later: it runs once approved. Do not try another way around this check.");
    reason
}
