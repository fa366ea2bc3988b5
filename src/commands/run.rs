//! `gatekeep run`: decide, record, then run the command, refuse it, or wait for approval.
//!
//! People read plain messages on stderr; with `--json` or `--json-fd` programs read the
//! events of [`crate::events`] instead, and nothing else from gatekeep.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use serde_json::json;

use crate::approval::{Status, Verdict};
use crate::audit::records;
use crate::child::{self, Launch, Program, SpawnError};
use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::env_vars;
use crate::environment::Environment;
use crate::events::Events;
use crate::exit::{Exit, UserError};
use crate::flow::{
    self, Decided, Extra, Flow, OnStop, Redeemed, Released, Requested, Sink, Step, Subject,
    WaitPolicy,
};
use crate::paths::Paths;
use crate::policy::{Decision, Evaluation, SecretSource};
use crate::secrets::ChildEnv;
use crate::supervise::{self, Approved, Confinement, PolicyJudge};
use crate::ui::{Waiting, verdicts};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Why the command is needed (shown to reviewers, recorded in the log).
    #[arg(long, env = env_vars::GATEKEEP_REASON)]
    pub reason: Option<String>,
    /// Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Treat the caller as an AI agent.
    #[arg(long)]
    pub agent: bool,
    /// The agent's session id, shown to reviewers and recorded in the log.
    #[arg(long, value_name = "ID", env = env_vars::GATEKEEP_AGENT_SESSION)]
    pub agent_session: Option<String>,
    /// Write gatekeep's own messages to stderr as JSON Lines events (docs/agents.md).
    #[arg(long, env = env_vars::GATEKEEP_JSON, value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
    /// Write JSON events to this open file descriptor instead, which the command does not
    /// inherit (the channel a command cannot imitate).
    #[arg(long, value_name = "FD")]
    pub json_fd: Option<i32>,
    /// File the approval request, print its id and exit 120 instead of waiting.
    #[arg(long, conflicts_with = "request")]
    pub no_wait: bool,
    /// Run under an already approved request (the command must be the one approved).
    #[arg(long, value_name = "ID")]
    pub request: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Watch every program the command starts, and judge each by the policy before it
    /// runs (default for agents: `supervise` in the configuration).
    #[arg(long)]
    pub supervise: bool,
    /// Run now, without waiting for approval, where every rule holding the command
    /// allows it (`break_glass: true`): every approver is notified at once and must
    /// review the run afterwards. Needs --reason and a person at a terminal; never for
    /// agents.
    #[arg(long, conflicts_with_all = ["request", "no_wait", "json", "json_fd", "agent", "agent_session"])]
    pub break_glass: bool,
    /// The command and its arguments; it is executed directly, never through a shell.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    // Processes of the same user (the command itself among them) may not read this one's
    // memory or open its descriptors through /proc: not the secrets it holds, and not the
    // `--json-fd` channel. (Root is not stopped by this.)
    let _ = nix::sys::prctl::set_dumpable(false);
    let run_id = uuid::Uuid::now_v7().to_string();
    // The descriptor is adopted before gatekeep opens anything of its own.
    let events = match args.json_fd {
        Some(fd) => Events::on_fd(fd, &run_id)?,
        None if args.json => Events::on_stderr(&run_id),
        None => Events::off(&run_id),
    };
    match start(&args, env, &events, run_id) {
        Err(error) if events.enabled() => {
            let error = match error.downcast::<UserError>() {
                Ok(error) => error,
                Err(other) => UserError::new(format!("{other:#}")),
            };
            events.error(&error);
            Ok(error.exit)
        }
        other => other,
    }
}

/// Why this run may not break glass, if so: only a person at a real terminal may, never
/// an agent, a hook or anything inside a supervised tree.
fn break_glass_refused(args: &Args, env: &Environment) -> Option<String> {
    // Traced at all: a supervisor (whatever its variables say) or a debugger drives it.
    // Not knowing counts as traced.
    let traced = supervise::tracer_pid().is_none_or(|tracer| tracer != 0);
    if supervise::inside_supervised_tree(env) || traced {
        return Some("break-glass is refused inside a supervised process tree".into());
    }
    if let Some(marker) = env.agent_marker() {
        return Some(format!("agents may never break glass ({marker} is set)"));
    }
    if args.agent || args.agent_session.is_some() {
        return Some("agents may never break glass".into());
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_err()
        || !std::io::stdin().is_terminal()
    {
        return Some("break-glass needs a person at a terminal (no controlling terminal)".into());
    }
    if args
        .reason
        .as_deref()
        .is_none_or(|reason| reason.trim().is_empty())
    {
        return Some("break-glass needs a reason (--reason TEXT)".into());
    }
    None
}

/// Asks the person at the terminal to confirm breaking glass; `true` only for `yes`.
fn confirm_break_glass(argv: &[String], rules: &[String]) -> Result<bool, UserError> {
    use std::io::{BufRead as _, Write as _};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| UserError::new(format!("cannot open the terminal: {e}")))?;
    let mut out = &tty;
    let _ = write!(
        out,
        "gatekeep: BREAK GLASS: run {} now, without approval?\ngatekeep:   every approver of {} is told at once and must review it afterwards.\ngatekeep:   Type yes to run it: ",
        crate::render::command(argv),
        crate::render::text(&rules.join(", "))
    );
    let _ = out.flush();
    let mut answer = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut answer)
        .map_err(|e| UserError::new(format!("cannot read the terminal: {e}")))?;
    Ok(answer.trim() == "yes")
}

fn start(args: &Args, env: &Environment, events: &Events, run_id: String) -> anyhow::Result<Exit> {
    if args.break_glass
        && let Some(why) = break_glass_refused(args, env)
    {
        return Err(UserError::new(why)
            .hint("ask for approval: run the command without --break-glass")
            .kind("break_glass_refused")
            .into());
    }
    if supervise::inside_supervised_tree(env) {
        // The supervisor above judges every program this command starts, its own exec
        // included: one decision, one request, one exec record, whatever the nesting.
        use std::os::unix::process::CommandExt as _;
        let error = std::process::Command::new(&args.command[0])
            .args(&args.command[1..])
            .exec();
        return Err(UserError::new(format!(
            "cannot run {}: {error}",
            crate::render::word(&args.command[0])
        ))
        .exit(if error.kind() == std::io::ErrorKind::NotFound {
            Exit::NotFound
        } else {
            Exit::Error
        })
        .kind("exec_failed")
        .into());
    }
    let paths = Paths::from_env(env);
    let config = Config::load(&paths.config_file)?;
    // Naming an agent session makes the caller an agent.
    let agent = args.agent || args.agent_session.is_some();
    let decider = Decider::new(env, &args.policy.policies, agent)?;
    let (redactor, log) =
        crate::flow::redactor_and_log(env, &config, &decider, args.log.as_deref())?;
    let agent_session = args
        .agent_session
        .clone()
        .or_else(|| env.agent_session().map(str::to_owned));
    let sink = RunSink {
        events,
        no_wait: args.no_wait,
        waiting: Mutex::new(None),
    };
    let flow = Flow {
        env,
        config,
        decider,
        redactor,
        log,
        run_id,
        agent_session,
        token_file: args.token_file.clone(),
        sink: &sink,
    };
    let run = Run {
        args,
        flow: &flow,
        sink: &sink,
    };
    let exit = run.go();
    // After the command: a witness of the log, in the background, when one is due.
    crate::client::witness::after_run(env, &flow.config, &flow.log, args.token_file.as_deref());
    Ok(exit?)
}

/// How `run` presents the flow: JSON events for programs, messages and a spinner for
/// people.
struct RunSink<'a> {
    events: &'a Events,
    no_wait: bool,
    waiting: Mutex<Option<Waiting>>,
}

impl RunSink<'_> {
    /// A message for people; programs get events instead.
    fn say(&self, message: &str) {
        if !self.events.enabled() {
            eprintln!("gatekeep: {}", crate::render::inert(message));
        }
    }

    /// Stops the spinner, if one is drawn.
    fn stop_waiting(&self) {
        if let Some(waiting) = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            waiting.finish();
        }
    }
}

impl Sink for RunSink<'_> {
    fn step(&self, step: &Step<'_>) {
        let events = self.events;
        match step {
            Step::Decided {
                argv,
                evaluation,
                opaque,
                agent,
                agent_session,
            } => events.emit(
                "decision",
                json!({
                    "decision": evaluation.decision,
                    "argv": argv,
                    "rules": evaluation.hits.iter().map(|h| json!({
                        "id": h.rule, "decision": h.decision, "description": h.description, "unprovable": h.unprovable,
                    })).collect::<Vec<_>>(),
                    "opaque": opaque,
                    "agent": agent,
                    "agent_session": agent_session,
                }),
            ),
            Step::Warning(message) => {
                if !events.enabled() {
                    crate::term::warn(message);
                }
                events.emit("warning", json!({"message": message}));
            }
            Step::Notice(message) => self.say(message),
            // Granted as it was filed (under a window, or breaking glass): nothing to wait for.
            Step::Filed { created, .. } if created.status != Status::Pending && !self.no_wait => {}
            Step::Filed { created, approvals } => {
                events.emit(
                    "pending",
                    json!({"request_id": created.id, "review_url": created.review_url, "approvers": approvals, "expires_at": created.expires_at}),
                );
                if self.no_wait {
                    if !events.enabled() {
                        println!("{}", created.id);
                    }
                    if created.status == Status::Pending {
                        self.say(&format!(
                            "approval requested: {} ({})",
                            created.id, created.review_url
                        ));
                    } else {
                        self.say(&format!(
                            "request {} is {} already (under a window); run it with --request {}",
                            created.id,
                            created.status.as_str(),
                            created.id
                        ));
                    }
                } else if !events.enabled() {
                    *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = Some(Waiting::start(
                        &created.id,
                        &created.review_url,
                        approvals,
                        &created.expires_at,
                        std::io::stderr().is_terminal(),
                    ));
                }
            }
            Step::Progress(progress) => {
                if let Some(waiting) = &*self.waiting.lock().unwrap_or_else(|e| e.into_inner()) {
                    waiting.progress(progress);
                }
            }
            Step::Approved { view } => {
                self.stop_waiting();
                let reviewers = view.approvers();
                let window = view.grant.as_ref().and_then(|g| g.payload.window.as_deref());
                if !events.enabled() {
                    match (&view.break_glass, window) {
                        (Some(glass), _) => crate::ui::outcome(
                            "approved",
                            &format!(
                                " by breaking glass: every approver was told; the run must be reviewed by {}",
                                glass.review_due
                            ),
                        ),
                        (None, Some(window)) => crate::ui::outcome(
                            "approved",
                            &format!(
                                " under window {window} (opened by {})",
                                reviewers.join(", ")
                            ),
                        ),
                        (None, None) => crate::ui::outcome(
                            "approved",
                            &format!(" by {}", reviewers.join(", ")),
                        ),
                    }
                }
                // The reviewers' comments, as they wrote them.
                let commented = view.reviews.iter().map(|r| r.comment.is_some());
                for (line, _) in verdicts(view).iter().zip(commented).filter(|(_, c)| *c) {
                    self.say(&format!("  {line}"));
                }
                let mut fields = json!({"request_id": view.id, "reviewers": reviewers});
                if let Some(window) = window {
                    fields["window"] = json!(window);
                }
                if view.break_glass.is_some() {
                    fields["break_glass"] = json!(true);
                }
                events.emit("approved", fields);
            }
            Step::Ended { view } => {
                self.stop_waiting();
                if !events.enabled() {
                    let status = view.status.as_str();
                    crate::ui::outcome(status, &format!(" request {}", view.id));
                }
                for line in verdicts(view) {
                    self.say(&format!("  {line}"));
                }
                // The same fields whether the service or the local deadline ended the wait.
                let mut fields = json!({"request_id": view.id});
                if let Some(rejection) =
                    view.reviews.iter().find(|r| r.verdict == Verdict::Reject)
                {
                    fields["reviewer"] = json!(rejection.reviewer);
                    fields["comment"] = json!(rejection.comment);
                }
                let event = match view.status {
                    Status::Rejected => "rejected",
                    Status::Cancelled => "cancelled",
                    _ => "expired",
                };
                events.emit(event, fields);
            }
            Step::TimedOut { id, error } => {
                self.stop_waiting();
                match id {
                    Some(id) => {
                        self.say(&format!("no decision on {id} before the timeout"));
                        events.emit("expired", json!({"request_id": id}));
                    }
                    None => {
                        self.say(&format!(
                            "approval service unreachable until the timeout: {}",
                            error.unwrap_or("no answer")
                        ));
                        events.emit("expired", json!({"request_id": null, "error": error}));
                    }
                }
            }
            Step::Cancelled { id } => {
                self.stop_waiting();
                if let Some(id) = id {
                    self.say(&format!("cancelled request {id}"));
                }
                events.emit("cancelled", json!({"request_id": id}));
            }
            Step::ExecRefused { pid, argv, reason } => {
                let program = argv.first().map_or("", String::as_str);
                self.say(&format!("killed {program} (pid {pid}): {reason}"));
                events.emit(
                    "exec_refused",
                    json!({"pid": pid, "argv": argv, "reason": reason}),
                );
            }
            Step::Unusable { id, error } => {
                self.stop_waiting();
                self.say(&format!("cannot use the approval of {id}: {error}"));
                events.emit("expired", json!({"request_id": id, "error": error}));
            }
        }
    }
}

/// One run: the adapter between `gatekeep run`'s arguments and the flow.
struct Run<'a> {
    args: &'a Args,
    flow: &'a Flow<'a>,
    sink: &'a RunSink<'a>,
}

impl Run<'_> {
    fn go(&self) -> Result<Exit, UserError> {
        let flow = self.flow;
        let decided = flow.decide(
            Subject::Argv(self.args.command.clone()),
            self.args.reason.as_deref(),
            Extra::new(),
        )?;
        let evaluation = &decided.evaluation;
        match evaluation.decision {
            Decision::Deny => {
                let mut denied = false;
                for hit in evaluation
                    .hits
                    .iter()
                    .filter(|h| h.decision == Decision::Deny)
                {
                    denied = true;
                    if !self.sink.events.enabled() {
                        crate::ui::outcome(
                            "denied",
                            &format!(
                                " by rule {}: {}",
                                hit.rule,
                                hit.description.as_deref().unwrap_or("no description")
                            ),
                        );
                    }
                }
                if !denied && !self.sink.events.enabled() {
                    crate::ui::outcome("denied", " by policy");
                }
                Ok(Exit::Denied)
            }
            // Something also said `supervise`: the approved run is watched too, or, where
            // it cannot be, what said `supervise` must approve it as well.
            Decision::Approve if evaluation.supervised && !supervise::available() => {
                flow.record(
                    "supervision_unavailable",
                    json!({"error": SpawnError::Unsupervisable.to_string(), "decision": "approve"}),
                );
                flow.warn(&format!(
                    "{}; the approvals of what said supervise are needed too",
                    SpawnError::Unsupervisable
                ));
                let mut decided = decided;
                let extra = std::mem::take(&mut decided.evaluation.supervise_approvals);
                decided.evaluation.approvals.extend(extra);
                decided.evaluation.supervised = false;
                self.approve(&decided)
            }
            Decision::Approve => self.approve(&decided),
            Decision::Allow | Decision::Supervise if self.args.request.is_some() => {
                self.approve(&decided)
            }
            Decision::Supervise if !supervise::available() => {
                // No human is asked only where the command can be watched instead.
                flow.record(
                    "supervision_unavailable",
                    json!({"error": SpawnError::Unsupervisable.to_string(), "decision": "approve"}),
                );
                flow.warn(&format!(
                    "{}; the supervise decision becomes approve",
                    SpawnError::Unsupervisable
                ));
                let mut decided = decided;
                decided.evaluation.decision = Decision::Approve;
                decided.evaluation.supervised = false;
                self.approve(&decided)
            }
            // No person asked: a `supervise` decision is run watched.
            Decision::Allow | Decision::Supervise => {
                let released = flow.release(
                    evaluation,
                    &[SecretSource::Keyring, SecretSource::Server],
                    &BTreeMap::new(),
                )?;
                let watched = evaluation.decision == Decision::Supervise;
                self.execute(released, Approved::default(), watched, None)
            }
        }
    }

    fn approve(&self, decided: &Decided) -> Result<Exit, UserError> {
        let flow = self.flow;
        if self.args.break_glass {
            self.may_break_glass(decided)?;
        }
        let connected = match flow.connect(decided, None) {
            Ok(connected) => connected,
            Err(error) if self.args.break_glass && error.kind == "service_unreachable" => {
                return self.break_glass_offline(decided, &error.message);
            }
            Err(error) => return Err(error),
        };
        let requested = match &self.args.request {
            Some(id) => flow.under_request(&connected, id)?,
            None => {
                let reason = self.reason(&decided.evaluation)?;
                let interrupted = Arc::new(AtomicBool::new(false));
                let _guard = signal_hook::flag::register(
                    signal_hook::consts::SIGINT,
                    Arc::clone(&interrupted),
                );
                let wait = WaitPolicy {
                    reuse: false,
                    no_wait: self.args.no_wait,
                    bound: None,
                    interrupted,
                    on_stop: OnStop::End,
                    break_glass: self.args.break_glass,
                };
                let requested = flow.request(decided, &connected, reason, &wait);
                self.sink.stop_waiting();
                match requested? {
                    Requested::TimedOut { error: Some(error) } if self.args.break_glass => {
                        return self.break_glass_offline(decided, &error);
                    }
                    requested => requested,
                }
            }
        };
        let Requested::Approved(approval) = requested else {
            return Ok(flow::exit_of(&requested));
        };
        match flow.redeem(decided, &approval, true)? {
            // What the reviewer saw is approved once more at its exec, not asked again.
            // Under supervision, each program the approval bound is checked again at its
            // own exec, when nothing can change it any more.
            Redeemed::Granted { released, launch } => self.execute(
                released,
                Approved {
                    commands: decided.evaluation.commands.clone(),
                    programs: approval.view.facts.programs.clone(),
                },
                // What said `supervise` still watches the run a reviewer approved.
                decided.evaluation.supervised && supervise::available(),
                launch,
            ),
            Redeemed::Unusable => Ok(Exit::Expired),
        }
    }

    /// Breaks glass while the service cannot be reached (`cause`): only where an
    /// administrator's file allows it. The run is recorded now, kept for the service, and
    /// reported the next time any flow reaches it.
    fn break_glass_offline(&self, decided: &Decided, cause: &str) -> Result<Exit, UserError> {
        let flow = self.flow;
        let Some(allowed_by) = flow.decider.policy.break_glass_offline().map(str::to_owned) else {
            return Err(UserError::new(format!(
                "break-glass needs the approval service: {cause}"
            ))
            .hint("without the service, only an administrator's `break_glass_offline: true` allows it")
            .kind("break_glass_refused"));
        };
        let evaluation = &decided.evaluation;
        if evaluation
            .secrets
            .iter()
            .any(|s| s.from == SecretSource::Server)
        {
            return Err(UserError::new(
                "the command needs secrets only the approval service releases; it cannot run without the service",
            )
            .kind("break_glass_refused"));
        }
        let bound = flow.bind(decided).map_err(|e| flow.not_started(e))?;
        let mut request = crate::flow::filing::new_request(
            &bound.facts,
            crate::flow::filing::Filing {
                ctx: &flow.decider.context,
                evaluation,
                reason: self.args.reason.clone(),
                agent_session: None,
                log: &flow.log,
                decided: &decided.record,
            },
            &flow.redactor,
        );
        request.break_glass = true;
        request.ran_at = Some(crate::server::lifecycle::stamp(jiff::Timestamp::now()));
        let paths = Paths::from_env(flow.env);
        let kept =
            crate::client::break_glass::keep(&paths, &flow.run_id, &request).map_err(|e| {
                UserError::new(format!(
                    "cannot keep the report of this break-glass run: {e}"
                ))
                .hint("nothing was run")
            })?;
        flow.record(
            "break_glass",
            json!({"offline": true, "argv": request.argv, "reason": request.reason,
                   "rules": request.rules, "digest": request.digest, "allowed_by": allowed_by,
                   "cause": cause, "report": kept}),
        );
        flow.warn(&format!(
            "BREAK GLASS without the approval service ({cause}): running now, allowed by {allowed_by}; the run is reported as soon as the service answers"
        ));
        let released = flow.release(evaluation, &[SecretSource::Keyring], &BTreeMap::new())?;
        self.execute(
            released,
            Approved {
                commands: evaluation.commands.clone(),
                programs: bound.facts.programs.clone(),
            },
            evaluation.supervised && supervise::available(),
            Some(Box::new(bound.launch)),
        )
    }

    /// Checks that every rule holding the command allows break-glass, and that the person
    /// at the terminal confirms it.
    fn may_break_glass(&self, decided: &Decided) -> Result<(), UserError> {
        let evaluation = &decided.evaluation;
        if decided.evaluation.decision != Decision::Approve {
            return Err(
                UserError::new("this command needs no approval to break glass for")
                    .hint("run it without --break-glass")
                    .kind("break_glass_refused"),
            );
        }
        if let Some(rule) = evaluation
            .approvals
            .iter()
            .find(|a| !a.workflow.break_glass)
        {
            return Err(
                UserError::new(format!("rule {} does not allow break-glass", rule.rule))
                    .hint("ask for approval: run the command without --break-glass")
                    .kind("break_glass_refused"),
            );
        }
        let rules: Vec<String> = evaluation
            .approvals
            .iter()
            .map(|a| a.rule.clone())
            .collect();
        if !confirm_break_glass(&self.args.command, &rules)? {
            self.flow.record(
                "break_glass_declined",
                json!({"argv": self.flow.redactor.argv(&self.args.command)}),
            );
            return Err(UserError::new("break-glass not confirmed; nothing was run")
                .kind("break_glass_refused"));
        }
        Ok(())
    }

    /// Whether this run is supervised while running (`forced` by a `supervise` decision).
    fn supervised(&self, forced: bool) -> bool {
        let flow = self.flow;
        forced || self.args.supervise || flow.config.supervise.applies(flow.decider.context.agent)
    }

    /// Runs the command with the secrets released to it, and records how it ended.
    /// `approved` are the commands a reviewer approved (each covers one exec).
    fn execute(
        &self,
        released: Released,
        approved: Approved,
        forced: bool,
        launch: Option<Box<Launch>>,
    ) -> Result<Exit, UserError> {
        let flow = self.flow;
        // An approved command runs through its pinned launch; others by path.
        let program = match launch {
            Some(launch) => Program::Pinned(launch),
            None => Program::Path(
                flow::program(&self.args.command, flow.env, &flow.decider.context.cwd)
                    .map_err(|error| flow.not_started(error))?,
            ),
        };
        let names: Vec<&str> = released.uses.iter().map(|s| s.env.as_str()).collect();
        let confinement = if self.supervised(forced) {
            let paths = crate::paths::Paths::from_env(flow.env);
            let guard = supervise::Guard::new(&supervise::protected_paths(
                &paths,
                flow.log.path(),
                flow.env.get("HOME").map(std::path::Path::new),
                std::path::Path::new(&flow.decider.context.cwd),
                &flow.decider.policy.protected(flow.env.get("HOME")),
            ));
            for linked in &guard.linked {
                flow.warn(&format!(
                    "{} has other hard links, which the supervised command could write through",
                    crate::render::word(linked)
                ));
            }
            match Confinement::prepare(guard) {
                Ok(confinement) => Some(confinement),
                Err(error) if self.require_supervision() => {
                    return Err(flow.not_started(
                        UserError::new(error.to_string())
                            .hint("require_supervision is set in the configuration: the command was not run")
                            .kind("unsupervisable"),
                    ));
                }
                Err(error) => {
                    flow.record(
                        "supervision_unavailable",
                        json!({"error": error.to_string()}),
                    );
                    flow.warn(&format!("{error}; running without supervision"));
                    None
                }
            }
        } else {
            None
        };
        // The tree learns its supervisor's mark, so a `gatekeep run` inside it asks not twice.
        let mark = match confinement {
            Some(_) => supervise::Mark::new().ok(),
            None => None,
        };
        let strip = flow.config.strip_secret_env.unwrap_or(true);
        let inherited: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        let mut child_env = ChildEnv::new(
            flow.env.vars(),
            &inherited,
            &flow.decider.policy.secret_env_names(),
            strip,
            released.values,
        );
        if let Some(mark) = &mark {
            child_env
                .set
                .push((supervise::SUPERVISOR_VAR.to_owned(), mark.name.clone()));
        }
        let mut exec_logged = Ok(());
        // Whether the command is started under supervision (it may fall back).
        let watching = std::cell::Cell::new(confinement.is_some());
        let mut on_start = |pid| {
            let mut fields = records::exec(&flow.run_id, pid);
            if let Some(confinement) = confinement.as_ref().filter(|_| watching.get()) {
                fields["supervised"] = json!(true);
                let guarded = confinement.guard.applied_to(pid as i32);
                fields["guarded"] = json!(guarded);
                if !guarded {
                    flow.warn("gatekeep's own files cannot be made read-only here (no mount or user namespaces); they are not guarded during this run");
                }
            }
            if !released.uses.is_empty() {
                fields["secrets"] = json!(released.uses);
            }
            if !child_env.remove.is_empty() {
                fields["env_removed"] = json!(child_env.remove);
            }
            // The decision before it is on disk; its end, written durably, follows.
            exec_logged = flow.log.append_unsynced("exec", fields).map(|_| ());
            self.sink.events.emit(
                "exec",
                json!({"pid": pid, "secrets": names, "supervised": watching.get()}),
            );
        };
        let (ended, refused) = match &confinement {
            None => (
                child::run(&program, &self.args.command, &child_env, on_start),
                None,
            ),
            Some(confinement) => {
                let interrupted = Arc::new(AtomicBool::new(false));
                let _guard = signal_hook::flag::register(
                    signal_hook::consts::SIGINT,
                    Arc::clone(&interrupted),
                );
                // An agent's held program waits no longer than the agent would.
                let bound = flow.decider.context.agent.then(|| flow.config.hook_wait());
                // Held programs wait on threads of this scope; once the tree is done, those
                // still waiting stop (and cancel their requests).
                let (finished, summary, refused) = std::thread::scope(|scope| {
                    let mut judge = PolicyJudge::new(
                        flow,
                        scope,
                        approved,
                        self.args.reason.clone(),
                        bound,
                        Arc::clone(&interrupted),
                    );
                    let finished = supervise::run(
                        &program,
                        &self.args.command,
                        &child_env,
                        confinement,
                        &mut judge,
                        flow.config.supervise_linger(),
                        &mut on_start,
                    );
                    interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
                    (finished, judge.summary(), judge.refused)
                });
                match finished {
                    Err(SpawnError::Unsupervisable) if !self.require_supervision() && !forced => {
                        let error = SpawnError::Unsupervisable.to_string();
                        flow.record("supervision_unavailable", json!({"error": error}));
                        flow.warn(&format!("{error}; running without supervision"));
                        watching.set(false);
                        (
                            child::run(&program, &self.args.command, &child_env, on_start),
                            None,
                        )
                    }
                    finished => {
                        flow.record("exec_summary", summary);
                        (finished.map(|f| f.ended), refused)
                    }
                }
            }
        };
        if let Err(error) = exec_logged {
            flow.warn(&format!("cannot record the exec: {error}"));
        }
        let ended = ended.map_err(|error| {
            let failed = match error {
                SpawnError::Unsupervisable => UserError::new(error.to_string())
                    .hint(
                        "require_supervision is set in the configuration: the command was not run",
                    )
                    .kind("unsupervisable"),
                error => UserError::new(error.to_string()).kind("exec_failed"),
            };
            flow.not_started(failed)
        })?;
        flow.record("exit", records::exit(&flow.run_id, &ended));
        self.sink.events.emit(
            "exit",
            json!({"code": ended.code, "signal": ended.signal, "duration_ms": ended.duration_ms, "status": ended.status()}),
        );
        // A program killed at its exec decides the status: the command did not do all it
        // set out to do.
        Ok(refused.unwrap_or(Exit::Child(ended.status())))
    }

    /// Supervision is required (configuration or policy) wherever a run should be supervised.
    fn require_supervision(&self) -> bool {
        self.flow.config.require_supervision || self.flow.decider.policy.require_supervision()
    }

    /// The reason: given, or asked for on a terminal when a rule requires one. Programs
    /// (JSON mode) and callers without a terminal are never prompted.
    fn reason(&self, evaluation: &Evaluation) -> Result<Option<String>, UserError> {
        let given = self.args.reason.clone().filter(|r| !r.trim().is_empty());
        if given.is_some() || !evaluation.reason_required {
            return Ok(given);
        }
        if !self.sink.events.enabled()
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal()
        {
            let reason: String = dialoguer::Input::new()
                .with_prompt("Reason for this command (shown to reviewers)")
                .interact_text()
                .map_err(|e| UserError::new(format!("cannot read the reason: {e}")))?;
            return Ok(Some(reason));
        }
        Err(UserError::new("a reason is required for this command")
            .hint("pass --reason TEXT (or set GATEKEEP_REASON)")
            .kind("reason_required"))
    }
}
