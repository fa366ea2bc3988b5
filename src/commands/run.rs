//! `gatekeep run`: decide, record, then run the command, refuse it, or wait for approval.
//!
//! People read plain messages on stderr; with `--json` or `--json-fd` programs read the
//! events of [`crate::events`] instead, and nothing else from gatekeep.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::approval::{RequestView, Status, Verdict, verify_grant};
use crate::audit::{self, AuditLog, records};
use crate::child;
use crate::cli::PolicyArgs;
use crate::client::secret_store::SecretStore;
use crate::client::{ApiClient, ClientError, Outcome, wait_for_decision};
use crate::commands::request::{self, Filing};
use crate::config::Config;
use crate::decide::Decider;
use crate::env_vars;
use crate::environment::Environment;
use crate::events::Events;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::{Decision, Evaluation, SecretSource, SecretUse};
use crate::redact::Redactor;
use crate::secrets::ChildEnv;
use crate::ui::{Waiting, verdicts};

/// Secrets released to one command: their values (never printed, logged or sent) and
/// where they came from (recorded).
#[derive(Default)]
struct Released {
    values: Vec<(String, String)>,
    uses: Vec<SecretUse>,
}

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
    /// The command and its arguments; it is executed directly, never through a shell.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Everything one run needs once the decision is made.
struct Run<'a> {
    args: &'a Args,
    env: &'a Environment,
    config: Config,
    decider: Decider,
    redactor: Redactor,
    log: AuditLog,
    run_id: String,
    events: &'a Events,
    agent_session: Option<String>,
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

fn start(args: &Args, env: &Environment, events: &Events, run_id: String) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let config = Config::load(&paths.config_file)?;
    // Naming an agent session makes the caller an agent.
    let agent = args.agent || args.agent_session.is_some();
    let decider = Decider::new(env, &args.policy.policies, agent)?;
    let redactor = Redactor::new(&config.redact).map_err(|e| {
        UserError::new(format!("invalid redact pattern: {e}")).kind("config_invalid")
    })?;
    let log_path = paths.audit_log(args.log.as_deref(), env, config.log.as_deref());
    let log = AuditLog::new(
        log_path,
        config.log_max_bytes,
        decider.context.host.clone(),
        decider.context.user.clone(),
    );
    let agent_session = args
        .agent_session
        .clone()
        .or_else(|| env.agent_session().map(str::to_owned));
    let run = Run {
        args,
        env,
        config,
        decider,
        redactor,
        log,
        run_id,
        events,
        agent_session,
    };
    let exit = run.go();
    crate::client::witness::after_run(env, &run.config, &run.log, args.token_file.as_deref());
    exit
}

impl Run<'_> {
    /// A message for people; programs get events instead.
    fn say(&self, message: &str) {
        if !self.events.enabled() {
            eprintln!("gatekeep: {message}");
        }
    }

    /// A problem that does not stop the run.
    fn warn(&self, message: &str) {
        self.say(&format!("warning: {message}"));
        self.events.emit("warning", json!({"message": message}));
    }

    fn record(&self, event: &str, mut fields: serde_json::Value) {
        fields["run_id"] = json!(self.run_id);
        if let Err(error) = self.log.append(event, fields) {
            self.warn(&format!("cannot record {event}: {error}"));
        }
    }

    fn go(&self) -> anyhow::Result<Exit> {
        let ctx = &self.decider.context;
        let analysis = match self.decider.analyze_argv(&self.args.command) {
            Ok(analysis) => analysis,
            Err(error) => {
                // Refused before any decision: the log still says so.
                self.record(
                    "refused",
                    json!({"argv": self.redactor.argv(&self.args.command), "error": error.message}),
                );
                return Err(error.into());
            }
        };
        let evaluation = self.decider.evaluate(&analysis);
        let caller = records::Caller::this_process();
        let mut fields = records::decision(
            &self.run_id,
            &self.args.command,
            &evaluation,
            ctx,
            &caller,
            self.decider.policy.digest(),
            self.args.reason.as_deref(),
            &self.redactor,
        );
        fields["agent_session"] =
            json!(self.agent_session.as_deref().map(|s| self.redactor.text(s)));
        let decided = self.log.append("decision", fields).map_err(|e| {
            UserError::new(format!("cannot write the audit log: {e}"))
                .hint("the command was not run; fix the log path (--log, GATEKEEP_LOG) or its file system")
                .kind("log_unwritable")
        })?;
        self.events.emit(
            "decision",
            json!({
                "decision": evaluation.decision,
                "argv": self.redactor.argv(&self.args.command),
                "rules": evaluation.hits.iter().map(|h| json!({
                    "id": h.rule, "decision": h.decision, "description": h.description, "unprovable": h.unprovable,
                })).collect::<Vec<_>>(),
                "opaque": evaluation.opaque.iter().map(|o| self.redactor.text(o)).collect::<Vec<_>>(),
                "agent": ctx.agent,
                "agent_session": self.agent_session.as_deref().map(|s| self.redactor.text(s)),
            }),
        );
        match evaluation.decision {
            Decision::Deny => {
                for hit in evaluation
                    .hits
                    .iter()
                    .filter(|h| h.decision == Decision::Deny)
                {
                    self.say(&format!(
                        "denied by rule {}: {}",
                        hit.rule,
                        hit.description.as_deref().unwrap_or("no description")
                    ));
                }
                if evaluation.hits.iter().all(|h| h.decision != Decision::Deny) {
                    self.say("denied by policy");
                }
                Ok(Exit::Denied)
            }
            Decision::Approve => self.approve(&evaluation, &decided),
            Decision::Allow if self.args.request.is_some() => self.approve(&evaluation, &decided),
            Decision::Allow => {
                let released = self.release(&evaluation, &BTreeMap::new())?;
                self.execute(released)
            }
        }
    }

    /// The values of the secrets the command receives: from the service's answer to
    /// consume (`from: server`) or this host's store (`from: keyring`). A missing one
    /// stops the run.
    fn release(
        &self,
        evaluation: &Evaluation,
        from_server: &BTreeMap<String, String>,
    ) -> Result<Released, UserError> {
        let mut released = Released::default();
        if evaluation.secrets.is_empty() {
            return Ok(released);
        }
        let store = SecretStore::open(self.env)?;
        for secret in &evaluation.secrets {
            let value = match secret.from {
                SecretSource::Server => from_server.get(&secret.name).cloned(),
                SecretSource::Keyring => store.get(&secret.name)?,
            };
            let value = value.ok_or_else(|| {
                let error = UserError::new(format!(
                    "secret {} for {} (rule {}) is not available",
                    secret.name, secret.env, secret.rule
                ))
                .kind("secret_missing");
                match secret.from {
                    SecretSource::Keyring => error.hint(format!(
                        "store it with `gatekeep secret set {}`; the command was not run",
                        secret.name
                    )),
                    SecretSource::Server => error
                        .hint("the approval service did not release it; the command was not run"),
                }
            })?;
            released.values.push((secret.env.clone(), value));
            released.uses.push(secret.clone());
        }
        Ok(released)
    }

    /// Records why a command could not start and ends the run with `error`'s status.
    fn not_started(&self, error: UserError) -> anyhow::Result<Exit> {
        self.record(
            "exit",
            records::failed(&self.run_id, error.exit.code(), &error.message),
        );
        Err(error.into())
    }

    /// Runs the command with the secrets released to it, and records how it ended.
    fn execute(&self, released: Released) -> anyhow::Result<Exit> {
        let program =
            match request::program(&self.args.command, self.env, &self.decider.context.cwd) {
                Ok(program) => program,
                Err(error) => return self.not_started(error),
            };
        let strip = self.config.strip_secret_env.unwrap_or(true);
        let inherited: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        let child_env = ChildEnv::new(
            self.env.vars(),
            &inherited,
            &self.decider.policy.secret_env_names(),
            strip,
            released.values,
        );
        let names: Vec<&str> = released.uses.iter().map(|s| s.env.as_str()).collect();
        let mut exec_logged = Ok(());
        let ended = child::run(&program, &self.args.command, &child_env, |pid| {
            let mut fields = records::exec(&self.run_id, pid);
            if !released.uses.is_empty() {
                fields["secrets"] = json!(released.uses);
            }
            if !child_env.remove.is_empty() {
                fields["env_removed"] = json!(child_env.remove);
            }
            exec_logged = self.log.append("exec", fields).map(|_| ());
            self.events
                .emit("exec", json!({"pid": pid, "secrets": names}));
        });
        if let Err(error) = exec_logged {
            self.warn(&format!("cannot record the exec: {error}"));
        }
        let ended = match ended {
            Ok(ended) => ended,
            Err(error) => {
                return self.not_started(UserError::new(error.to_string()).kind("exec_failed"));
            }
        };
        self.record("exit", records::exit(&self.run_id, &ended));
        self.events.emit(
            "exit",
            json!({"code": ended.code, "signal": ended.signal, "duration_ms": ended.duration_ms, "status": ended.status()}),
        );
        Ok(Exit::Child(ended.status()))
    }

    fn approve(&self, evaluation: &Evaluation, decided: &audit::Appended) -> anyhow::Result<Exit> {
        let Some((client, connection)) =
            request::connect(self.env, &self.config, self.args.token_file.as_deref())?
        else {
            return Err(request::no_service(evaluation).into());
        };
        let timeout = evaluation.timeout_seconds.unwrap_or(900);
        // No single call to the service outlives the wait (a little margin lets a late
        // approval still be used); set again once a typed reason is in.
        client.set_deadline(Instant::now() + Duration::from_secs(timeout + 5));
        if connection.source == "development server" {
            self.say(&format!(
                "using the development server at {}",
                connection.server
            ));
        }
        let facts = match request::command_facts(
            &self.args.command,
            self.env,
            &self.decider.context.cwd,
            evaluation,
            &self.redactor,
        ) {
            Ok(facts) => facts,
            Err(error) => return self.not_started(error),
        };
        let digest = facts.digest();
        let (public_key, pinned) = request::public_key(&client, &connection)?;
        if !pinned {
            self.warn("the service key is not pinned (run `gatekeep login`); trusting the key the service sends");
        }
        if let Some(id) = &self.args.request {
            return self.under_request(&client, id, &digest, &public_key, evaluation);
        }
        let reason = self.reason(evaluation)?;
        let deadline = Instant::now() + Duration::from_secs(timeout);
        client.set_deadline(deadline + Duration::from_secs(5));
        let interrupted = Arc::new(AtomicBool::new(false));
        let _guard =
            signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
        let new = request::new_request(
            &facts,
            Filing {
                ctx: &self.decider.context,
                evaluation,
                reason,
                agent_session: self.agent_session.clone(),
                log: &self.log,
                decided,
            },
            &self.redactor,
        );
        let created = loop {
            match client.create(&new) {
                Ok(created) => break created,
                Err(ClientError::Unreachable(error)) if Instant::now() < deadline => {
                    self.warn(&format!("{error}; retrying"));
                    std::thread::sleep(Duration::from_millis(500));
                    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                        self.record(
                            "approval_cancelled",
                            json!({"error": "interrupted before the request was filed"}),
                        );
                        self.events.emit("cancelled", json!({"request_id": null}));
                        return Ok(Exit::Cancelled);
                    }
                }
                Err(ClientError::Unreachable(error)) => {
                    self.record("approval_expired", json!({"error": error}));
                    self.say(&format!(
                        "approval service unreachable until the timeout: {error}"
                    ));
                    self.events
                        .emit("expired", json!({"request_id": null, "error": error}));
                    return Ok(Exit::Expired);
                }
                Err(error) => {
                    return Err(UserError::new(format!(
                        "the approval service refused the request: {error}"
                    ))
                    .kind("service_refused")
                    .into());
                }
            }
        };
        self.record(
            "approval_requested",
            records::approval_requested(&created, &new),
        );
        self.events.emit(
            "pending",
            json!({"request_id": created.id, "review_url": created.review_url, "approvers": evaluation.approvals, "expires_at": created.expires_at}),
        );
        if self.args.no_wait {
            if !self.events.enabled() {
                println!("{}", created.id);
            }
            self.say(&format!(
                "approval requested: {} ({})",
                created.id, created.review_url
            ));
            return Ok(Exit::Pending);
        }
        let approvers: Vec<String> = evaluation
            .approvals
            .iter()
            .map(|a| format!("{} of {}", a.quorum, a.approvers.join(" or ")))
            .collect();
        let waiting = (!self.events.enabled()).then(|| {
            Waiting::start(
                &created.id,
                &created.review_url,
                &approvers.join("; "),
                std::io::stderr().is_terminal(),
            )
        });
        let outcome = wait_for_decision(&client, &created.id, deadline, &interrupted, &mut |p| {
            if let Some(waiting) = &waiting {
                waiting.progress(p);
            }
        });
        if let Some(waiting) = &waiting {
            waiting.finish();
        }
        match outcome {
            Outcome::Decided(view) if view.status == Status::Approved => {
                self.consume_and_run(&client, &view, &digest, &public_key, evaluation)
            }
            Outcome::Decided(view) => Ok(self.refused(&view)),
            Outcome::TimedOut => {
                self.record("approval_expired", json!({"request_id": created.id}));
                self.say(&format!("no decision on {} before the timeout", created.id));
                self.events
                    .emit("expired", json!({"request_id": created.id}));
                Ok(Exit::Expired)
            }
            Outcome::Interrupted => {
                let cancelled = client.cancel(&created.id);
                self.record(
                    "approval_cancelled",
                    json!({"request_id": created.id, "cancelled": cancelled.is_ok()}),
                );
                self.say(&format!("cancelled request {}", created.id));
                self.events
                    .emit("cancelled", json!({"request_id": created.id}));
                Ok(Exit::Cancelled)
            }
            Outcome::Failed(error) => Err(UserError::new(format!(
                "waiting for {} failed: {error}",
                created.id
            ))
            .kind("service_refused")
            .into()),
        }
    }

    /// Reports a request that ended without approval, and picks the exit code.
    fn refused(&self, view: &RequestView) -> Exit {
        let (exit, event) = match view.status {
            Status::Rejected => (Exit::Rejected, "rejected"),
            Status::Cancelled => (Exit::Cancelled, "cancelled"),
            _ => (Exit::Expired, "expired"),
        };
        let (record, fields) = records::approval_ended(view);
        self.record(record, fields);
        self.say(&format!("request {} {}", view.id, view.status.as_str()));
        for line in verdicts(view) {
            self.say(&format!("  {line}"));
        }
        // The same fields whether the service or the local deadline ended the wait.
        let mut fields = json!({"request_id": view.id});
        if let Some(rejection) = view.reviews.iter().find(|r| r.verdict == Verdict::Reject) {
            fields["reviewer"] = json!(rejection.reviewer);
            fields["comment"] = json!(rejection.comment);
        }
        self.events.emit(event, fields);
        exit
    }

    fn consume_and_run(
        &self,
        client: &ApiClient,
        view: &RequestView,
        digest: &str,
        public_key: &str,
        evaluation: &Evaluation,
    ) -> anyhow::Result<Exit> {
        let Some(grant) = &view.grant else {
            return Err(UserError::new(format!(
                "request {} is approved but carries no grant",
                view.id
            ))
            .kind("grant_refused")
            .into());
        };
        if let Err(error) = verify_grant(grant, public_key, &view.id, digest, &evaluation.approvals)
        {
            self.record(
                "approval_refused",
                json!({"request_id": view.id, "error": error.to_string()}),
            );
            return Err(
                UserError::new(format!("refusing the grant for {}: {error}", view.id))
                    .hint("the command was not run")
                    .kind("grant_refused")
                    .into(),
            );
        }
        // Local secrets are read before the grant is used, so a missing one costs nothing.
        let local = self.release(
            &Evaluation {
                secrets: evaluation
                    .secrets
                    .iter()
                    .filter(|s| s.from == SecretSource::Keyring)
                    .cloned()
                    .collect(),
                ..evaluation.clone()
            },
            &BTreeMap::new(),
        )?;
        let consumed = match client.consume(&view.id) {
            Ok(consumed) => consumed,
            Err(error) => {
                self.record(
                    "approval_refused",
                    json!({"request_id": view.id, "error": error.to_string()}),
                );
                let message = format!("cannot use the approval of {}: {error}", view.id);
                if error.status() == Some(409) {
                    self.say(&message);
                    self.events.emit(
                        "expired",
                        json!({"request_id": view.id, "error": error.to_string()}),
                    );
                    return Ok(Exit::Expired);
                }
                return Err(UserError::new(message).kind("grant_refused").into());
            }
        };
        let mut released = self.release(
            &Evaluation {
                secrets: evaluation
                    .secrets
                    .iter()
                    .filter(|s| s.from == SecretSource::Server)
                    .cloned()
                    .collect(),
                ..evaluation.clone()
            },
            &consumed.secret_values,
        )?;
        released.values.extend(local.values);
        released.uses.extend(local.uses);
        let reviewers: Vec<&str> = view.reviews.iter().map(|r| r.reviewer.as_str()).collect();
        self.record("approval_granted", records::approval_granted(view, grant));
        self.say(&format!("approved by {}", reviewers.join(", ")));
        self.events.emit(
            "approved",
            json!({"request_id": view.id, "reviewers": reviewers}),
        );
        self.execute(released)
    }

    /// `run --request ID`: the command must be the approved one.
    fn under_request(
        &self,
        client: &ApiClient,
        id: &str,
        digest: &str,
        public_key: &str,
        evaluation: &Evaluation,
    ) -> anyhow::Result<Exit> {
        let view = client.get(id, 0).map_err(|e| {
            UserError::new(format!("cannot fetch request {id}: {e}")).kind("service_refused")
        })?;
        if view.digest != digest {
            self.record(
                "approval_refused",
                json!({"request_id": id, "error": "the command differs from the approved one"}),
            );
            return Err(UserError::new(format!("request {id} approved another command"))
                .hint("run exactly the approved command, in the same directory, with the same binary")
                .kind("request_mismatch")
                .into());
        }
        if view.status != Status::Approved {
            return Ok(self.refused(&view));
        }
        self.consume_and_run(client, &view, digest, public_key, evaluation)
    }

    /// The reason: given, or asked for on a terminal when a rule requires one. Programs
    /// (JSON mode) and callers without a terminal are never prompted.
    fn reason(&self, evaluation: &Evaluation) -> Result<Option<String>, UserError> {
        let given = self.args.reason.clone().filter(|r| !r.trim().is_empty());
        if given.is_some() || !evaluation.reason_required {
            return Ok(given);
        }
        if !self.events.enabled()
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
