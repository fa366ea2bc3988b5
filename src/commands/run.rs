//! `gatekeep run`: decide, record, then run the command, refuse it, or wait for approval.

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::approval::{CommandFacts, LogHead, NewRequest, RequestView, Status, verify_grant};
use crate::audit::{self, AuditLog, records};
use crate::child::{self, SpawnError};
use crate::cli::PolicyArgs;
use crate::client::{ApiClient, ClientError, Connection, Outcome, wait_for_decision};
use crate::config::Config;
use crate::decide::Decider;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::{Decision, Evaluation};
use crate::redact::Redactor;
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

fn say(message: &str) {
    eprintln!("gatekeep: {message}");
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
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let config = Config::load(&paths.config_file)?;
    let decider = Decider::new(env, &args.policy.policies, args.agent)?;
    let redactor = Redactor::new(&config.redact)
        .map_err(|e| UserError::new(format!("invalid redact pattern: {e}")))?;
    let log_path = paths.audit_log(args.log.as_deref(), env, config.log.as_deref());
    let log = AuditLog::new(
        log_path,
        config.log_max_bytes,
        decider.context.host.clone(),
        decider.context.user.clone(),
    );
    let run = Run {
        args: &args,
        env,
        config,
        decider,
        redactor,
        log,
        run_id: uuid::Uuid::now_v7().to_string(),
    };
    run.go()
}

impl Run<'_> {
    fn record(&self, event: &str, mut fields: serde_json::Value) {
        fields["run_id"] = json!(self.run_id);
        if let Err(error) = self.log.append(event, fields) {
            say(&format!("warning: cannot record {event}: {error}"));
        }
    }

    fn go(&self) -> anyhow::Result<Exit> {
        let ctx = &self.decider.context;
        let analysis = self.decider.analyze_argv(&self.args.command);
        let evaluation = self.decider.evaluate(&analysis);
        let caller = records::Caller {
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
        };
        let fields = records::decision(
            &self.run_id,
            &self.args.command,
            &evaluation,
            ctx,
            &caller,
            self.decider.policy.digest(),
            self.args.reason.as_deref(),
            &self.redactor,
        );
        let decided = self.log.append("decision", fields).map_err(|e| {
            UserError::new(format!("cannot write the audit log: {e}")).hint("the command was not run; fix the log path (--log, GATEKEEP_LOG) or its file system")
        })?;
        match evaluation.decision {
            Decision::Deny => {
                for hit in evaluation
                    .hits
                    .iter()
                    .filter(|h| h.decision == Decision::Deny)
                {
                    say(&format!(
                        "denied by rule {}: {}",
                        hit.rule,
                        hit.description.as_deref().unwrap_or("no description")
                    ));
                }
                if evaluation.hits.iter().all(|h| h.decision != Decision::Deny) {
                    say("denied by policy");
                }
                Ok(Exit::Denied)
            }
            Decision::Approve => self.approve(&evaluation, &decided),
            Decision::Allow if self.args.request.is_some() => self.approve(&evaluation, &decided),
            Decision::Allow => self.execute(),
        }
    }

    fn program(&self) -> Result<PathBuf, (Exit, String)> {
        let cwd = PathBuf::from(&self.decider.context.cwd);
        child::resolve(&self.args.command[0], self.env.get("PATH"), &cwd).map_err(|error| {
            let exit = if matches!(error, SpawnError::NotFound(_)) {
                Exit::NotFound
            } else {
                Exit::Error
            };
            (exit, error.to_string())
        })
    }

    /// Runs the command and records how it ended.
    fn execute(&self) -> anyhow::Result<Exit> {
        let program = match self.program() {
            Ok(program) => program,
            Err((exit, message)) => {
                self.record("exit", records::failed(&self.run_id, exit.code(), &message));
                say(&message);
                return Ok(exit);
            }
        };
        let mut exec_logged = Ok(());
        let ended = child::run(&program, &self.args.command, |pid| {
            exec_logged = self
                .log
                .append("exec", records::exec(&self.run_id, pid))
                .map(|_| ());
        });
        if let Err(error) = exec_logged {
            say(&format!("warning: cannot record the exec: {error}"));
        }
        let ended = match ended {
            Ok(ended) => ended,
            Err(error) => {
                self.record(
                    "exit",
                    records::failed(&self.run_id, Exit::Error.code(), &error.to_string()),
                );
                return Err(UserError::new(error.to_string()).into());
            }
        };
        self.record("exit", records::exit(&self.run_id, &ended));
        Ok(Exit::Child(ended.status()))
    }

    /// The facts a reviewer sees, and their digest.
    fn facts(&self) -> Result<CommandFacts, (Exit, String)> {
        let program = self.program()?;
        let bytes = std::fs::read(&program).map_err(|e| {
            (
                Exit::Error,
                format!("cannot read {}: {e}", program.display()),
            )
        })?;
        Ok(CommandFacts {
            argv: self.redactor.argv(&self.args.command),
            cwd: self.decider.context.cwd.clone(),
            resolved_path: program.display().to_string(),
            binary_sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }

    fn connect(&self) -> Result<Option<(Arc<ApiClient>, Connection)>, UserError> {
        let Some(connection) =
            Connection::discover(self.env, &self.config, self.args.token_file.as_deref())?
        else {
            return Ok(None);
        };
        let client = ApiClient::new(&connection.server, &connection.token)
            .map_err(|e| UserError::new(e.to_string()))?;
        Ok(Some((Arc::new(client), connection)))
    }

    fn approve(&self, evaluation: &Evaluation, decided: &audit::Appended) -> anyhow::Result<Exit> {
        let rules: Vec<&str> = evaluation
            .approvals
            .iter()
            .map(|a| a.rule.as_str())
            .collect();
        let Some((client, connection)) = self.connect()? else {
            let mut error = UserError::new(format!("approval required (rule {}) but no approval service is configured", rules.join(", ")))
                .hint("set GATEKEEP_SERVER and GATEKEEP_TOKEN, run `gatekeep login`, or start `gatekeep serve --dev`");
            if !evaluation.opaque.is_empty() {
                error = error.hint(format!("cannot analyse: {}", evaluation.opaque.join("; ")));
            }
            return Err(error.into());
        };
        if connection.source == "development server" {
            say(&format!(
                "using the development server at {}",
                connection.server
            ));
        }
        let facts = match self.facts() {
            Ok(facts) => facts,
            Err((exit, message)) => {
                self.record("exit", records::failed(&self.run_id, exit.code(), &message));
                say(&message);
                return Ok(exit);
            }
        };
        let digest = facts.digest();
        let public_key = match &connection.public_key {
            Some(key) => key.clone(),
            None => {
                let key = client
                    .public_key()
                    .map_err(|e| UserError::new(e.to_string()))?;
                say(
                    "warning: the service key is not pinned (run `gatekeep login`); trusting the key the service sends",
                );
                key
            }
        };
        if let Some(id) = &self.args.request {
            return self.under_request(&client, id, &digest, &public_key, evaluation);
        }
        let reason = self.reason(evaluation)?;
        let interrupted = Arc::new(AtomicBool::new(false));
        let _guard =
            signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
        let timeout = evaluation.timeout_seconds.unwrap_or(900);
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let request = NewRequest {
            argv: facts.argv.clone(),
            cwd: facts.cwd.clone(),
            resolved_path: facts.resolved_path.clone(),
            binary_sha256: facts.binary_sha256.clone(),
            host: self.decider.context.host.clone(),
            user: self.decider.context.user.clone(),
            agent: self.decider.context.agent,
            agent_session: None,
            rules: evaluation
                .approvals
                .iter()
                .map(|a| a.rule.clone())
                .collect(),
            descriptions: {
                let mut seen: Vec<String> = Vec::new();
                for hit in &evaluation.hits {
                    if let Some(text) = &hit.description
                        && !seen.contains(text)
                    {
                        seen.push(text.clone());
                    }
                }
                seen
            },
            approvals: evaluation.approvals.clone(),
            reason: reason.as_deref().map(|r| self.redactor.text(r)),
            ttl_seconds: Some(timeout),
            // The head is the decision record just written: no need to read the log again.
            log_head: self.log.chain_id().map(|chain_id| LogHead {
                chain_id,
                seq: decided.seq,
                hash: decided.hash.clone(),
            }),
            digest: digest.clone(),
        };
        let created = loop {
            match client.create(&request) {
                Ok(created) => break created,
                Err(ClientError::Unreachable(error)) if Instant::now() < deadline => {
                    say(&format!("{error}; retrying"));
                    std::thread::sleep(Duration::from_millis(500));
                    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                        self.record(
                            "approval_cancelled",
                            json!({"error": "interrupted before the request was filed"}),
                        );
                        return Ok(Exit::Cancelled);
                    }
                }
                Err(ClientError::Unreachable(error)) => {
                    self.record("approval_expired", json!({"error": error}));
                    say(&format!(
                        "approval service unreachable until the timeout: {error}"
                    ));
                    return Ok(Exit::Expired);
                }
                Err(error) => {
                    return Err(UserError::new(format!(
                        "the approval service refused the request: {error}"
                    ))
                    .into());
                }
            }
        };
        self.record("approval_requested", json!({"request_id": created.id, "digest": digest, "approvals": evaluation.approvals, "expires_at": created.expires_at, "review_url": created.review_url}));
        if self.args.no_wait {
            println!("{}", created.id);
            say(&format!(
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
        let waiting = Waiting::start(
            &created.id,
            &created.review_url,
            &approvers.join("; "),
            std::io::stderr().is_terminal(),
        );
        let outcome = wait_for_decision(&client, &created.id, deadline, &interrupted, &mut |p| {
            waiting.progress(p)
        });
        waiting.finish();
        match outcome {
            Outcome::Decided(view) if view.status == Status::Approved => {
                self.consume_and_run(&client, &view, &digest, &public_key, evaluation)
            }
            Outcome::Decided(view) => Ok(self.refused(&view)),
            Outcome::TimedOut => {
                self.record("approval_expired", json!({"request_id": created.id}));
                say(&format!("no decision on {} before the timeout", created.id));
                Ok(Exit::Expired)
            }
            Outcome::Interrupted => {
                let cancelled = client.cancel(&created.id);
                self.record(
                    "approval_cancelled",
                    json!({"request_id": created.id, "cancelled": cancelled.is_ok()}),
                );
                say(&format!("cancelled request {}", created.id));
                Ok(Exit::Cancelled)
            }
            Outcome::Failed(error) => {
                Err(UserError::new(format!("waiting for {} failed: {error}", created.id)).into())
            }
        }
    }

    /// Reports a request that ended without approval, and picks the exit code.
    fn refused(&self, view: &RequestView) -> Exit {
        let exit = match view.status {
            Status::Rejected => Exit::Rejected,
            Status::Cancelled => Exit::Cancelled,
            _ => Exit::Expired,
        };
        let event = match view.status {
            Status::Rejected => "approval_rejected",
            Status::Cancelled => "approval_cancelled",
            _ => "approval_expired",
        };
        self.record(
            event,
            json!({"request_id": view.id, "status": view.status, "reviews": view.reviews}),
        );
        say(&format!("request {} {}", view.id, view.status.as_str()));
        for line in verdicts(view) {
            say(&format!("  {line}"));
        }
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
                    .into(),
            );
        }
        match client.consume(&view.id) {
            Ok(_) => {}
            Err(error) => {
                self.record(
                    "approval_refused",
                    json!({"request_id": view.id, "error": error.to_string()}),
                );
                let exit = if error.status() == Some(409) {
                    Exit::Expired
                } else {
                    Exit::Error
                };
                say(&format!("cannot use the approval of {}: {error}", view.id));
                return Ok(exit);
            }
        }
        let reviewers: Vec<&str> = view.reviews.iter().map(|r| r.reviewer.as_str()).collect();
        self.record("approval_granted", json!({"request_id": view.id, "reviewers": reviewers, "grant_nonce": grant.payload.nonce}));
        say(&format!("approved by {}", reviewers.join(", ")));
        self.execute()
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
        let view = client
            .get(id, 0)
            .map_err(|e| UserError::new(format!("cannot fetch request {id}: {e}")))?;
        if view.digest != digest {
            self.record(
                "approval_refused",
                json!({"request_id": id, "error": "the command differs from the approved one"}),
            );
            return Err(UserError::new(format!("request {id} approved another command"))
                .hint("run exactly the approved command, in the same directory, with the same binary")
                .into());
        }
        if view.status != Status::Approved {
            return Ok(self.refused(&view));
        }
        self.consume_and_run(client, &view, digest, public_key, evaluation)
    }

    /// The reason: given, or asked for on a terminal when a rule requires one.
    fn reason(&self, evaluation: &Evaluation) -> Result<Option<String>, UserError> {
        let given = self.args.reason.clone().filter(|r| !r.trim().is_empty());
        if given.is_some() || !evaluation.reason_required {
            return Ok(given);
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            let reason: String = dialoguer::Input::new()
                .with_prompt("Reason for this command (shown to reviewers)")
                .interact_text()
                .map_err(|e| UserError::new(format!("cannot read the reason: {e}")))?;
            return Ok(Some(reason));
        }
        Err(UserError::new("a reason is required for this command")
            .hint("pass --reason TEXT (or set GATEKEEP_REASON)"))
    }
}
