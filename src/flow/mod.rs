//! The one approval flow every front door shares: **decide** (analysis, evaluation, the
//! durable decision record) → **request** (file, reuse or wait, by a [`WaitPolicy`]) →
//! **redeem** (verify the grant, consume it, release secrets).
//!
//! The flow works on a [`Subject`] (an argument vector, a shell line or an agent's tool
//! call) and reports every [`Step`] once: it writes the audit record itself, then hands the
//! step to the front door's [`Sink`], which turns it into a JSON event or a line for people.
//! It never talks to the terminal, changes the working directory or installs handlers.

pub mod filing;

pub use filing::{Filing, command_facts, program, same_as_approved};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::approval::bind::Bound;
use crate::approval::{CommandFacts, Created, NewRequest, RequestView, Status, verify_grant};
use crate::audit::{self, AuditLog, records};
use crate::child::Launch;
use crate::client::secret_store::SecretStore;
use crate::client::{ApiClient, ClientError, Outcome, Progress, wait_for_decision};
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::policy::{ApprovalRequirement, Evaluation, SecretSource, SecretUse};
use crate::redact::Redactor;
use crate::supervise::Image;

/// What is being decided.
#[derive(Clone, Debug)]
pub enum Subject {
    /// A program and its arguments, executed directly.
    Argv(Vec<String>),
    /// A shell command line, run as `SHELL -c LINE` by the given shell.
    Shell { shell: String, line: String },
    /// An agent's call of a tool other than its shell.
    Tool { name: String, input: Value },
    /// A program a supervised command is starting, stopped at its exec.
    Exec(Box<Image>),
}

impl Subject {
    /// The argument vector recorded and shown for the subject: the command itself, the
    /// shell invocation, or the tool's name and its exact input.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Subject::Argv(argv) => argv.clone(),
            Subject::Shell { shell, line } => vec![shell.clone(), "-c".to_owned(), line.clone()],
            Subject::Tool { name, input } => vec![name.clone(), input.to_string()],
            Subject::Exec(image) => image.argv.clone(),
        }
    }

    /// The argument vector as it is recorded, shown and filed: [`Subject::argv`] with its
    /// secrets redacted. A tool call's input is redacted by its JSON structure (keys such
    /// as `password`, credential-shaped strings), never as one line of text.
    pub fn shown(&self, redactor: &Redactor) -> Vec<String> {
        match self {
            Subject::Tool { name, input } => {
                vec![redactor.text(name), redactor.json(input).to_string()]
            }
            other => redactor.argv(&other.argv()),
        }
    }
}

/// One step of the flow, handed to the [`Sink`] after its audit record was written.
pub enum Step<'a> {
    /// The decision, already durable.
    Decided {
        /// The subject's argument vector, secrets redacted.
        argv: &'a [String],
        evaluation: &'a Evaluation,
        /// The opaque reasons, secrets redacted.
        opaque: &'a [String],
        agent: bool,
        agent_session: Option<&'a str>,
    },
    /// Something worth telling that does not stop the flow.
    Warning(&'a str),
    /// A plain notice for people (no event).
    Notice(&'a str),
    /// A request was filed (or an earlier one is being waited for).
    Filed {
        created: &'a Created,
        approvals: &'a [ApprovalRequirement],
    },
    /// While waiting.
    Progress(Progress<'a>),
    /// The grant was verified and (when the flow consumes) used.
    Approved { view: &'a RequestView },
    /// The service ended the request without approval: rejected, cancelled or expired.
    Ended { view: &'a RequestView },
    /// The local deadline passed, or the service could not be reached until it did.
    TimedOut {
        id: Option<&'a str>,
        error: Option<&'a str>,
    },
    /// The wait was interrupted and the request (if filed) cancelled.
    Cancelled { id: Option<&'a str> },
    /// The service refused to hand out an approved grant (used already, or expired).
    Unusable { id: &'a str, error: &'a str },
    /// A supervised program was killed at its exec.
    ExecRefused {
        pid: i32,
        /// Secrets redacted.
        argv: &'a [String],
        reason: &'a str,
    },
}

/// Where a front door presents the flow's steps: JSON events, messages, or nothing.
pub trait Sink: Sync {
    fn step(&self, step: &Step<'_>);
}

/// A sink that shows nothing (the hook answers once, at the end).
pub struct Silent;

impl Sink for Silent {
    fn step(&self, _: &Step<'_>) {}
}

/// How a front door waits for a reviewer.
pub struct WaitPolicy {
    /// Use an approved or pending request of this requester for the same command, if any,
    /// before filing a new one (a retried agent call).
    pub reuse: bool,
    /// File the request and return at once.
    pub no_wait: bool,
    /// The latest moment to wait until; `None`: the requirement's own timeout.
    pub bound: Option<Instant>,
    /// Raised by the front door's signal handler.
    pub interrupted: Arc<AtomicBool>,
    /// What an interruption or the end of the wait does to the request.
    pub on_stop: OnStop,
    /// File it as a person breaking glass: granted at once, reviewed afterwards.
    pub break_glass: bool,
}

/// What happens to a filed request when the wait stops without a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStop {
    /// The wait was the request's whole life: an interrupt cancels it, a timeout expires it.
    End,
    /// The request stays pending for a later retry of the same command.
    KeepPending,
}

/// The decision, as recorded.
pub struct Decided {
    pub subject: Subject,
    /// What the record and the request show: [`Subject::argv`].
    pub argv: Vec<String>,
    pub evaluation: Evaluation,
    /// The `decision` record: the log head the service witnesses with a request.
    pub record: audit::Appended,
}

impl Decided {
    /// The exec a supervised decision is about.
    pub fn exec(&self) -> Option<&Image> {
        match &self.subject {
            Subject::Exec(image) => Some(image),
            _ => None,
        }
    }
}

/// How the request phase ended.
pub enum Requested {
    /// Approved, with a grant still to redeem.
    Approved(Approval),
    /// Filed, or found, and still pending (no-wait, or a wait that keeps it pending).
    Pending {
        id: String,
        view: Option<Box<RequestView>>,
    },
    /// Rejected, cancelled or expired by the service.
    Ended(Box<RequestView>),
    /// No decision before the deadline (reported already); `error` when the service could
    /// not even be reached.
    TimedOut { error: Option<String> },
    /// Interrupted (reported already; the request cancelled).
    Cancelled,
}

/// An approved request, its grant not yet verified.
pub struct Approval {
    pub view: Box<RequestView>,
    pub digest: String,
    client: Arc<ApiClient>,
    public_key: String,
}

/// Secrets released to one command: their values (never printed, logged or sent) and
/// where they came from (recorded).
#[derive(Default)]
pub struct Released {
    pub values: Vec<(String, String)>,
    pub uses: Vec<SecretUse>,
}

/// How redeeming ended.
pub enum Redeemed {
    /// The grant is verified (and consumed, if asked); the secrets are released; a command
    /// gatekeep starts itself comes with its pinned launch.
    Granted {
        released: Released,
        launch: Option<Box<Launch>>,
    },
    /// The service would no longer hand out the grant (reported already).
    Unusable,
}

/// Extra facts recorded with the decision by a front door (`via`, `tool`…).
pub type Extra = serde_json::Map<String, Value>;

/// What every front door's flow writes with, from the configuration: the redactor of its
/// `redact:` patterns, and the audit log (`log`, else `GATEKEEP_LOG`, the configuration,
/// the state directory) stamped with the decider's host and user.
pub fn redactor_and_log(
    env: &Environment,
    config: &Config,
    decider: &Decider,
    log: Option<&std::path::Path>,
) -> Result<(Redactor, AuditLog), UserError> {
    let redactor = Redactor::new(&config.redact).map_err(|e| {
        UserError::new(format!("invalid redact pattern: {e}")).kind("config_invalid")
    })?;
    let paths = crate::paths::Paths::from_env(env);
    let log = AuditLog::new(
        paths.audit_log(log, env, config.log.as_deref()),
        config.log_max_bytes,
        decider.context.host.clone(),
        decider.context.user.clone(),
    )
    .with_retention(config.retention());
    Ok((redactor, log))
}

/// One flow: everything needed to decide about, and get approval for, one subject.
pub struct Flow<'a> {
    pub env: &'a Environment,
    pub config: Config,
    pub decider: Decider,
    pub redactor: Redactor,
    pub log: AuditLog,
    pub run_id: String,
    pub agent_session: Option<String>,
    pub token_file: Option<std::path::PathBuf>,
    pub sink: &'a dyn Sink,
}

/// The service, and the facts of the command the request is about.
pub struct Connected {
    pub client: Arc<ApiClient>,
    pub facts: CommandFacts,
    pub digest: String,
    public_key: String,
}

/// Margin beyond a wait for the calls around it (filing, fetching, using a grant).
const CALL_MARGIN: Duration = Duration::from_secs(5);

impl Flow<'_> {
    /// Writes an audit record of this run; a failure is a warning (the decision record is
    /// the one that must be durable, see [`Flow::decide`]).
    pub fn record(&self, event: &str, mut fields: Value) {
        fields["run_id"] = json!(self.run_id);
        if let Err(error) = self.log.append(event, fields) {
            self.warn(&format!("cannot record {event}: {error}"));
        }
    }

    pub fn warn(&self, message: &str) {
        self.sink.step(&Step::Warning(message));
    }

    /// The agent session, redacted as it is recorded.
    fn session(&self) -> Option<String> {
        self.agent_session.as_deref().map(|s| self.redactor.text(s))
    }

    /// Analyses and evaluates the subject, and makes the decision durable. A subject that
    /// cannot be analysed leaves a `refused` record and an error; so does a log that
    /// cannot be written (the command must not run then).
    pub fn decide(
        &self,
        subject: Subject,
        reason: Option<&str>,
        extra: Extra,
    ) -> Result<Decided, UserError> {
        let evaluated = match &subject {
            Subject::Argv(argv) => self
                .decider
                .analyze_argv(argv)
                .map(|analysis| self.decider.evaluate(&analysis)),
            Subject::Shell { line, .. } => self
                .decider
                .analyze_script(line)
                .map(|analysis| self.decider.evaluate(&analysis)),
            // With the shell commands the call runs (`command_from`), judged as lines.
            Subject::Tool { name, input } => Ok(self.decider.evaluate_tool(name, input)),
            Subject::Exec(image) => Ok(crate::supervise::evaluate(
                &self.decider.policy,
                &self.decider.context,
                image,
            )),
        };
        let evaluation = match evaluated {
            Ok(evaluation) => evaluation,
            Err(error) => {
                // Refused before any decision: the log still says so.
                self.record(
                    "refused",
                    json!({"argv": subject.shown(&self.redactor), "error": error.message, "agent_session": self.session()}),
                );
                return Err(error);
            }
        };
        self.decide_evaluated(subject, evaluation, reason, extra)
    }

    /// Makes a decision already evaluated durable (see [`Flow::decide`]).
    pub fn decide_evaluated(
        &self,
        subject: Subject,
        evaluation: Evaluation,
        reason: Option<&str>,
        extra: Extra,
    ) -> Result<Decided, UserError> {
        let argv = subject.argv();
        let shown = subject.shown(&self.redactor);
        let ctx = &self.decider.context;
        let mut fields = records::decision(
            &self.run_id,
            &shown,
            &evaluation,
            ctx,
            &records::Caller::this_process(),
            self.decider.policy.digest(),
            reason,
            &self.redactor,
        );
        fields["agent_session"] = json!(self.session());
        for (key, value) in extra {
            fields[key.as_str()] = value;
        }
        let record = self.log.append("decision", fields).map_err(|e| {
            UserError::new(format!("cannot write the audit log: {e}"))
                .hint("the command was not run; fix the log path (--log, GATEKEEP_LOG) or its file system")
                .kind("log_unwritable")
        })?;
        let opaque: Vec<String> = evaluation
            .opaque
            .iter()
            .map(|o| self.redactor.text(o))
            .collect();
        self.sink.step(&Step::Decided {
            argv: &shown,
            evaluation: &evaluation,
            opaque: &opaque,
            agent: ctx.agent,
            agent_session: self.session().as_deref(),
        });
        Ok(Decided {
            subject,
            argv,
            evaluation,
            record,
        })
    }

    /// Records why a command could not start (an `exit` record) and passes the error on.
    pub fn not_started(&self, error: UserError) -> UserError {
        self.record(
            "exit",
            records::failed(&self.run_id, error.exit.code(), &error.message),
        );
        error
    }

    /// Connects to the approval service and computes the facts the approval binds. Every
    /// call to the service ends by `bound` (default: the requirement's timeout), plus a
    /// margin for the calls around the wait.
    pub fn connect(
        &self,
        decided: &Decided,
        bound: Option<Instant>,
    ) -> Result<Connected, UserError> {
        let evaluation = &decided.evaluation;
        let Some((client, connection)) =
            filing::connect(self.env, &self.config, self.token_file.as_deref())?
        else {
            return Err(filing::no_service(evaluation));
        };
        client.set_deadline(self.deadline(evaluation, bound) + CALL_MARGIN);
        if connection.source == "development server" {
            self.sink.step(&Step::Notice(&format!(
                "using the development server at {}",
                connection.server
            )));
        }
        let facts = match &decided.subject {
            // Filed with these facts; bound again, and checked, before the grant is used.
            Subject::Argv(_) => self.bind(decided).map_err(|e| self.not_started(e))?.facts,
            // Bound to this process's environment: for a hook, the agent's as far as the hook
            // sees it (docs/agents.md, "What an approval binds").
            Subject::Shell { .. } => self.bind(decided)?.facts,
            // The image the kernel loaded: what really runs, where, with which variables.
            Subject::Exec(image) => CommandFacts {
                argv: self.redactor.argv(&image.argv),
                cwd: image.cwd.clone(),
                resolved_path: image.exe.display().to_string(),
                binary_sha256: match &image.digest {
                    Some(digest) => digest.clone(),
                    None => crate::supervise::digest_of(image)
                        .map_err(|e| UserError::new(e.to_string()).kind("not_executable"))?,
                },
                env: {
                    let rules: Vec<&str> =
                        evaluation.hits.iter().map(|h| h.rule.as_str()).collect();
                    crate::secrets::bound_env(
                        &image.env,
                        &evaluation.secrets,
                        &self.decider.policy.env_names(&rules),
                        &self.decider.policy.project_env_names(&rules),
                        &self.redactor,
                    )
                },
                ..CommandFacts::default()
            },
            // A tool call has no binary: its facts are the tool and its exact input, shown
            // redacted and bound by the digest of the input as the server receives it.
            Subject::Tool { name, input } => CommandFacts {
                argv: decided.subject.shown(&self.redactor),
                cwd: self.decider.context.cwd.clone(),
                resolved_path: format!("tool:{name}"),
                binary_sha256: hex::encode(Sha256::digest(input.to_string().as_bytes())),
                ..CommandFacts::default()
            },
        };
        let digest = facts.digest();
        let (public_key, pinned) = filing::public_key(&client, &connection)?;
        if !pinned {
            self.warn("the service key is not pinned (run `gatekeep login`); trusting the key the service sends");
        }
        // The service answers again: a person's break-glass runs made without it are
        // reported now (never from an agent's flow: they are the person's).
        if !self.decider.context.agent {
            let paths = crate::paths::Paths::from_env(self.env);
            for warning in crate::client::break_glass::report(&paths, &client, &self.log) {
                self.warn(&warning);
            }
        }
        Ok(Connected {
            client,
            facts,
            digest,
            public_key,
        })
    }

    /// The facts of the decided command as it is now, and its pinned launch.
    pub fn bind(&self, decided: &Decided) -> Result<Bound, UserError> {
        command_facts(
            &decided.argv,
            &self.decider,
            self.env,
            &decided.evaluation,
            &self.redactor,
        )
    }

    /// Refuses (122, recorded, grant unused) a command that is no longer the approved one.
    fn same_as_approved(&self, view: &RequestView, facts: &CommandFacts) -> Result<(), UserError> {
        same_as_approved(view, facts).inspect_err(|error| {
            self.record(
                "approval_refused",
                json!({"request_id": view.id, "error": error.message}),
            );
        })
    }

    /// The end of the wait: the bound, but never beyond the requirement's timeout.
    fn deadline(&self, evaluation: &Evaluation, bound: Option<Instant>) -> Instant {
        let timeout =
            Instant::now() + Duration::from_secs(evaluation.timeout_seconds.unwrap_or(900));
        bound.map_or(timeout, |bound| bound.min(timeout))
    }

    /// Gets the decided subject approved: reuses a request of this requester for the same
    /// command when the policy says so, or files one (retrying while the service cannot be
    /// reached), then waits. A new request needs a reason when a rule requires one.
    pub fn request(
        &self,
        decided: &Decided,
        connected: &Connected,
        reason: Option<String>,
        wait: &WaitPolicy,
    ) -> Result<Requested, UserError> {
        let evaluation = &decided.evaluation;
        let client = &connected.client;
        let deadline = self.deadline(evaluation, wait.bound);
        client.set_deadline(deadline + CALL_MARGIN);
        let mut existing = None;
        if wait.reuse {
            let mine = client.mine_for_digest(&connected.digest).map_err(|e| {
                e.to_user_error("the approval service cannot be asked")
                    .kind("service_unreachable")
            })?;
            // Only a request filed as this one would be: never a person's for an agent (or
            // the other way round), never a break-glass run.
            let agent = self.decider.context.agent;
            let latest = |status: Status| {
                mine.iter()
                    .filter(|r| r.status == status && r.agent == agent && r.break_glass.is_none())
                    .max_by(|a, b| a.created_at.cmp(&b.created_at))
            };
            if let Some(approved) = latest(Status::Approved) {
                return Ok(Requested::Approved(
                    self.approval(connected, approved.clone()),
                ));
            }
            existing = latest(Status::Pending).map(|pending| pending.id.clone());
        }
        let id = match existing {
            Some(id) => id,
            None => {
                if evaluation.reason_required && reason.is_none() {
                    return Err(UserError::new("a reason is required for this command")
                        .hint("pass --reason TEXT (or set GATEKEEP_REASON)")
                        .kind("reason_required"));
                }
                let (created, new) = match self.file(decided, connected, reason, deadline, wait)? {
                    Ok(filed) => filed,
                    Err(stopped) => return Ok(stopped),
                };
                self.record(
                    "approval_requested",
                    records::approval_requested(&created, &new),
                );
                // The service's own requirements join the requester's.
                self.sink.step(&Step::Filed {
                    created: &created,
                    approvals: created.requirements(&evaluation.approvals),
                });
                if wait.no_wait {
                    return Ok(Requested::Pending {
                        id: created.id,
                        view: None,
                    });
                }
                created.id
            }
        };
        let outcome = wait_for_decision(client, &id, deadline, &wait.interrupted, &mut |p| {
            self.sink.step(&Step::Progress(p));
        });
        match outcome {
            Outcome::Decided(view) if view.status == Status::Approved => {
                Ok(Requested::Approved(self.approval(connected, *view)))
            }
            Outcome::Decided(view) => Ok(self.ended(view)),
            Outcome::TimedOut | Outcome::Interrupted if wait.on_stop == OnStop::KeepPending => {
                let view = client.get(&id, 0).ok().map(Box::new);
                Ok(Requested::Pending { id, view })
            }
            Outcome::TimedOut => {
                self.record("approval_expired", json!({"request_id": id}));
                self.sink.step(&Step::TimedOut {
                    id: Some(&id),
                    error: None,
                });
                Ok(Requested::TimedOut { error: None })
            }
            Outcome::Interrupted => {
                let cancelled = client.cancel(&id);
                self.record(
                    "approval_cancelled",
                    json!({"request_id": id, "cancelled": cancelled.is_ok()}),
                );
                self.sink.step(&Step::Cancelled { id: Some(&id) });
                Ok(Requested::Cancelled)
            }
            Outcome::Failed(error) => {
                Err(UserError::new(format!("waiting for {id} failed: {error}"))
                    .kind("service_refused"))
            }
        }
    }

    /// Files the request, retrying while the service cannot be reached, until the deadline
    /// or an interrupt (reported, and returned as the inner `Err`).
    fn file(
        &self,
        decided: &Decided,
        connected: &Connected,
        reason: Option<String>,
        deadline: Instant,
        wait: &WaitPolicy,
    ) -> Result<Result<(Created, NewRequest), Requested>, UserError> {
        let mut new = filing::new_request(
            &connected.facts,
            Filing {
                ctx: &self.decider.context,
                evaluation: &decided.evaluation,
                reason,
                agent_session: self.agent_session.clone(),
                log: &self.log,
                decided: &decided.record,
            },
            &self.redactor,
        );
        new.break_glass = wait.break_glass;
        new.supervised = matches!(decided.subject, Subject::Exec(_));
        loop {
            match connected.client.create(&new, Some(&self.run_id)) {
                Ok(created) => return Ok(Ok((created, new))),
                // Breaking glass does not wait for the service: the caller decides at once.
                Err(ClientError::Unreachable(error)) if wait.break_glass => {
                    return Ok(Err(Requested::TimedOut { error: Some(error) }));
                }
                Err(ClientError::Unreachable(error)) if Instant::now() < deadline => {
                    self.warn(&format!("{error}; retrying"));
                    std::thread::sleep(Duration::from_millis(500));
                    if wait.interrupted.load(Ordering::SeqCst) {
                        self.record(
                            "approval_cancelled",
                            json!({"error": "interrupted before the request was filed"}),
                        );
                        self.sink.step(&Step::Cancelled { id: None });
                        return Ok(Err(Requested::Cancelled));
                    }
                }
                Err(ClientError::Unreachable(error)) => {
                    self.record("approval_expired", json!({"error": error}));
                    self.sink.step(&Step::TimedOut {
                        id: None,
                        error: Some(&error),
                    });
                    return Ok(Err(Requested::TimedOut { error: Some(error) }));
                }
                Err(error) => return Err(error.filing_refused()),
            }
        }
    }

    fn approval(&self, connected: &Connected, view: RequestView) -> Approval {
        Approval {
            view: Box::new(view),
            digest: connected.digest.clone(),
            client: Arc::clone(&connected.client),
            public_key: connected.public_key.clone(),
        }
    }

    /// Reports a request the service ended without approval.
    fn ended(&self, view: Box<RequestView>) -> Requested {
        let (record, fields) = records::approval_ended(&view);
        self.record(record, fields);
        self.sink.step(&Step::Ended { view: &view });
        Requested::Ended(view)
    }

    /// `run --request ID`: the request must be for exactly this command.
    pub fn under_request(&self, connected: &Connected, id: &str) -> Result<Requested, UserError> {
        // A unique prefix of the id names it as well as the whole id.
        let id = crate::client::request_id(&connected.client, id)?;
        let view = connected
            .client
            .get(&id, 0)
            .map_err(|e| e.to_user_error(&format!("cannot fetch request {id}")))?;
        self.same_as_approved(&view, &connected.facts)?;
        let agent = self.decider.context.agent;
        if view.agent != agent || view.break_glass.is_some() {
            let whose = match (view.break_glass.is_some(), view.agent) {
                (true, _) => "a person's break-glass run",
                (false, true) => "an agent's request",
                (false, false) => "a person's request",
            };
            return Err(UserError::new(format!(
                "request {} is {whose}; it cannot be used {}",
                view.id,
                if agent { "by an agent" } else { "here" }
            ))
            .hint("the command was not run; have the command approved as it is filed here")
            .kind("request_mismatch"));
        }
        if view.status != Status::Approved {
            return Ok(self.ended(Box::new(view)));
        }
        Ok(Requested::Approved(self.approval(connected, view)))
    }

    /// Verifies the grant against this command and the local requirements, then (when
    /// `consume`) uses it once and releases the command's secrets. Without `consume` the
    /// grant is only checked: whoever runs the command consumes it.
    pub fn redeem(
        &self,
        decided: &Decided,
        approval: &Approval,
        consume: bool,
    ) -> Result<Redeemed, UserError> {
        let view = &approval.view;
        let evaluation = &decided.evaluation;
        // A command gatekeep starts itself is bound again now, and checked before the grant
        // is used: a mismatch leaves the grant for the approved command.
        let launch = match &decided.subject {
            Subject::Argv(_) if consume => {
                let bound = self.bind(decided).map_err(|e| self.not_started(e))?;
                self.same_as_approved(view, &bound.facts)?;
                Some(Box::new(bound.launch))
            }
            _ => None,
        };
        let Some(grant) = &view.grant else {
            return Err(UserError::new(format!(
                "request {} is approved but carries no grant",
                view.id
            ))
            .kind("grant_refused"));
        };
        if let Err(error) = verify_grant(
            grant,
            &approval.public_key,
            &view.id,
            &approval.digest,
            &evaluation.approvals,
        ) {
            self.record(
                "approval_refused",
                json!({"request_id": view.id, "error": error.to_string()}),
            );
            return Err(
                UserError::new(format!("refusing the grant for {}: {error}", view.id))
                    .hint("the command was not run")
                    .kind("grant_refused"),
            );
        }
        if !consume {
            return Ok(Redeemed::Granted {
                released: Released::default(),
                launch,
            });
        }
        // Local secrets are read before the grant is used, so a missing one costs nothing.
        let mut released = self.release(evaluation, &[SecretSource::Keyring], &BTreeMap::new())?;
        let nonce = view.grant.as_ref().map(|g| g.payload.nonce.as_str());
        // A consume that got no answer is repeated with the grant's nonce: the service
        // answers a repeat of a consume that went through the same way.
        let mut tries = 0;
        let answer = loop {
            let answer = approval
                .client
                .consume(&view.id, nonce, self.decider.context.agent);
            let transient = matches!(
                &answer,
                Err(ClientError::Unreachable(_)
                    | ClientError::Api {
                        status: 502..=504,
                        ..
                    })
            );
            tries += 1;
            if !transient || tries >= 20 || nonce.is_none() {
                break answer;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let consumed = match answer {
            Ok(consumed) => consumed,
            Err(error) => {
                self.record(
                    "approval_refused",
                    json!({"request_id": view.id, "error": error.to_string()}),
                );
                if error.status() == Some(409) {
                    self.sink.step(&Step::Unusable {
                        id: &view.id,
                        error: &error.to_string(),
                    });
                    return Ok(Redeemed::Unusable);
                }
                return Err(UserError::new(format!(
                    "cannot use the approval of {}: {error}",
                    view.id
                ))
                .kind("grant_refused"));
            }
        };
        let server = self.release(evaluation, &[SecretSource::Server], &consumed.secret_values)?;
        released.values.extend(server.values);
        released.uses.extend(server.uses);
        self.record("approval_granted", records::approval_granted(view, grant));
        self.sink.step(&Step::Approved { view });
        Ok(Redeemed::Granted { released, launch })
    }

    /// The values of the command's secrets from `sources`: the service's answer to consume
    /// (`from: server`) or this host's store (`from: keyring`). A missing one stops the run.
    pub fn release(
        &self,
        evaluation: &Evaluation,
        sources: &[SecretSource],
        from_server: &BTreeMap<String, String>,
    ) -> Result<Released, UserError> {
        let mut released = Released::default();
        let wanted: Vec<&SecretUse> = evaluation
            .secrets
            .iter()
            .filter(|s| sources.contains(&s.from))
            .collect();
        let mut store = None;
        for secret in wanted {
            let value = match secret.from {
                SecretSource::Server => from_server.get(&secret.name).cloned(),
                SecretSource::Keyring => {
                    if store.is_none() {
                        store = Some(SecretStore::open(self.env)?);
                    }
                    store
                        .as_ref()
                        .and_then(|s| s.get(&secret.name).transpose())
                        .transpose()?
                }
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
}

/// The exit status a request phase that did not end in approval stands for.
pub fn exit_of(requested: &Requested) -> Exit {
    match requested {
        Requested::Approved(_) => Exit::Success,
        Requested::Pending { .. } => Exit::Pending,
        Requested::Ended(view) => match view.status {
            Status::Rejected => Exit::Rejected,
            Status::Cancelled => Exit::Cancelled,
            _ => Exit::Expired,
        },
        Requested::TimedOut { .. } => Exit::Expired,
        Requested::Cancelled => Exit::Cancelled,
    }
}
