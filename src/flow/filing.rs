//! Filing approval requests: the facts a reviewer sees, the request body, and the
//! connection to the service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::approval::bind::{self, Bound, Subject};
use crate::approval::{AnalysedCommand, CommandFacts, NewRequest, RequestView};
use crate::audit::{self, AuditLog};
use crate::child::{self, SpawnError};
use crate::client::{ApiClient, Connection};
use crate::config::Config;
use crate::decide::Decider;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::pin::{PinError, Requester};
use crate::policy::{Context, Evaluation, SecretSource};
use crate::redact::Redactor;

/// The executable `argv[0]` names, as `run` will execute it.
pub fn program(argv: &[String], env: &Environment, cwd: &str) -> Result<PathBuf, UserError> {
    child::resolve(&argv[0], env.get("PATH"), Path::new(cwd)).map_err(|error| {
        let (exit, kind) = if matches!(error, SpawnError::NotFound(_)) {
            (Exit::NotFound, "not_found")
        } else {
            (Exit::Error, "not_executable")
        };
        UserError::new(error.to_string()).exit(exit).kind(kind)
    })
}

/// The facts a reviewer sees, whose digest an approval is bound to, and the pinned launch
/// that runs exactly the program they name (see [`crate::approval::bind`]).
pub fn command_facts(
    argv: &[String],
    decider: &Decider,
    env: &Environment,
    evaluation: &Evaluation,
    redactor: &Redactor,
) -> Result<Bound, UserError> {
    let cwd = &decider.context.cwd;
    let program = program(argv, env, cwd)?;
    let analysis = decider.analyze_argv(argv)?;
    let rules: Vec<&str> = evaluation.hits.iter().map(|h| h.rule.as_str()).collect();
    let subject = Subject {
        argv,
        cwd,
        program: &program,
        env: env.vars(),
        analysis: &analysis,
        released: &evaluation.secrets,
        named: &decider.policy.env_names(&rules),
        digested: &decider.policy.project_env_names(&rules),
    };
    let mut bound = bind::bind(&subject, &Requester::current(), redactor).map_err(|e| {
        let hint = match e {
            PinError::NeedsItsPath(_) => {
                "install it where you cannot write it (root counts as able to write every file); the command was not run"
            }
            _ => "the command was not run",
        };
        UserError::new(e.to_string())
            .hint(hint)
            .kind("not_executable")
    })?;
    bound.launch.pause_at(
        env.get(env_vars::GATEKEEP_TEST_EXEC_PAUSE)
            .map(PathBuf::from),
    );
    Ok(bound)
}

/// Refuses a command whose facts now differ from the ones `view` approved (exit 122): the
/// grant is left unused, and a reviewer must approve the command as it is now.
pub fn same_as_approved(view: &RequestView, facts: &CommandFacts) -> Result<(), UserError> {
    if view.digest == facts.digest() {
        return Ok(());
    }
    let mut differences = bind::differences(&view.facts, facts);
    if differences.is_empty() {
        differences.push("its facts differ".to_owned());
    }
    Err(UserError::new(format!(
        "request {} approved another command: {}",
        view.id,
        differences.join("; ")
    ))
    .hint("the command was not run and the approval is still unused; run exactly the approved command, or have the command as it is now approved")
    .exit(Exit::Expired)
    .kind("request_mismatch"))
}

/// Everything a request says besides the facts.
pub struct Filing<'a> {
    pub ctx: &'a Context,
    pub evaluation: &'a Evaluation,
    pub reason: Option<String>,
    pub agent_session: Option<String>,
    pub log: &'a AuditLog,
    /// The decision record just written: the head the service witnesses.
    pub decided: &'a audit::Appended,
}

/// The body of `POST /v1/requests`.
pub fn new_request(facts: &CommandFacts, filing: Filing<'_>, redactor: &Redactor) -> NewRequest {
    let evaluation = filing.evaluation;
    let mut descriptions: Vec<String> = Vec::new();
    let mut rule_descriptions = std::collections::BTreeMap::new();
    for hit in &evaluation.hits {
        if let Some(text) = &hit.description {
            if !descriptions.contains(text) {
                descriptions.push(text.clone());
            }
            rule_descriptions.insert(hit.rule.clone(), text.clone());
        }
    }
    NewRequest {
        argv: facts.argv.clone(),
        cwd: facts.cwd.clone(),
        resolved_path: facts.resolved_path.clone(),
        binary_sha256: facts.binary_sha256.clone(),
        host: filing.ctx.host.clone(),
        user: filing.ctx.user.clone(),
        agent: filing.ctx.agent,
        agent_session: filing.agent_session.map(|s| redactor.text(&s)),
        rules: evaluation
            .approvals
            .iter()
            .map(|a| a.rule.clone())
            .collect(),
        descriptions,
        rule_descriptions,
        approvals: evaluation.approvals.clone(),
        reason: filing.reason.as_deref().map(|r| redactor.text(r)),
        ttl_seconds: Some(evaluation.timeout_seconds.unwrap_or(900)),
        log_head: crate::client::witness::log_head(filing.log, filing.decided),
        env: facts.env.clone(),
        programs: facts.programs.clone(),
        scripts: facts.scripts.clone(),
        secrets: evaluation
            .secrets
            .iter()
            .filter(|s| s.from == SecretSource::Server)
            .map(|s| s.name.clone())
            .collect(),
        commands: AnalysedCommand::list(evaluation, &facts.argv, |c| redactor.argv(c)),
        break_glass: false,
        supervised: false,
        ran_at: None,
        digest: facts.digest(),
    }
}

/// The configured approval service, if any.
pub fn connect(
    env: &Environment,
    config: &Config,
    token_file: Option<&Path>,
) -> Result<Option<(Arc<ApiClient>, Connection)>, UserError> {
    let Some(connection) = Connection::discover(env, config, token_file)? else {
        return Ok(None);
    };
    let client = ApiClient::new(&connection.server, &connection.token)
        .map_err(|e| {
            e.to_user_error("cannot set up the client")
                .kind("no_service")
        })?
        .with_token_source(connection.token_source.clone());
    Ok(Some((Arc::new(client), connection)))
}

/// The error for an approval that has no service to go to.
pub fn no_service(evaluation: &Evaluation) -> UserError {
    let rules: Vec<&str> = evaluation
        .approvals
        .iter()
        .map(|a| a.rule.as_str())
        .collect();
    let mut error = UserError::new(format!(
        "approval required (rule {}) but no approval service is configured",
        rules.join(", ")
    ))
    .hint("set GATEKEEP_SERVER and GATEKEEP_TOKEN, run `gatekeep login`, or start `gatekeep serve --dev`")
    .kind("no_service");
    if !evaluation.opaque.is_empty() {
        error = error.hint(format!("cannot analyse: {}", evaluation.opaque.join("; ")));
    }
    error
}

/// The service's public key: pinned, or (with a warning from the caller) as it sends it.
pub fn public_key(
    client: &ApiClient,
    connection: &Connection,
) -> Result<(String, bool), UserError> {
    match &connection.public_key {
        Some(key) => Ok((key.clone(), true)),
        None => client.public_key().map(|key| (key, false)).map_err(|e| {
            e.to_user_error("cannot fetch the service key")
                .kind("service_unreachable")
        }),
    }
}
