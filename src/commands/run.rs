//! `gatekeep run`: decide, record, then run the command (or refuse it).

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::audit::{AuditLog, records};
use crate::child::{self, SpawnError};
use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::Decision;
use crate::redact::Redactor;

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
    /// The command and its arguments; it is executed directly, never through a shell.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn say(message: &str) {
    eprintln!("gatekeep: {message}");
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let config = Config::load(&paths.config_file)?;
    let decider = Decider::new(env, &args.policy.policies, args.agent)?;
    let redactor = Redactor::new(&config.redact)
        .map_err(|e| UserError::new(format!("invalid redact pattern: {e}")))?;
    let log_path = paths.audit_log(args.log.as_deref(), env, config.log.as_deref());
    let ctx = &decider.context;
    let log = AuditLog::new(
        log_path,
        config.log_max_bytes,
        ctx.host.clone(),
        ctx.user.clone(),
    );
    let analysis = decider.analyze_argv(&args.command);
    let evaluation = decider.evaluate(&analysis);
    let run_id = uuid::Uuid::now_v7().to_string();
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
        &run_id,
        &args.command,
        &evaluation,
        ctx,
        &caller,
        decider.policy.digest(),
        args.reason.as_deref(),
        &redactor,
    );
    log.append("decision", fields).map_err(|e| {
        UserError::new(format!("cannot write the audit log: {e}")).hint(
            "the command was not run; fix the log path (--log, GATEKEEP_LOG) or its file system",
        )
    })?;

    match evaluation.decision {
        Decision::Deny => {
            for hit in evaluation
                .hits
                .iter()
                .filter(|h| h.decision == Decision::Deny)
            {
                let why = hit.description.as_deref().unwrap_or("no description");
                say(&format!("denied by rule {}: {why}", hit.rule));
            }
            if evaluation.hits.iter().all(|h| h.decision != Decision::Deny) {
                say("denied by policy");
            }
            return Ok(Exit::Denied);
        }
        Decision::Approve => {
            let rules: Vec<&str> = evaluation
                .approvals
                .iter()
                .map(|a| a.rule.as_str())
                .collect();
            let mut error = UserError::new(format!(
                "approval required (rule {}) but no approval service is configured",
                rules.join(", ")
            ));
            if !evaluation.opaque.is_empty() {
                error = error.hint(format!("cannot analyse: {}", evaluation.opaque.join("; ")));
            }
            return Err(error.into());
        }
        Decision::Allow => {}
    }

    let cwd = PathBuf::from(&ctx.cwd);
    let program = match child::resolve(&args.command[0], env.get("PATH"), &cwd) {
        Ok(program) => program,
        Err(error) => {
            let exit = if matches!(error, SpawnError::NotFound(_)) {
                Exit::NotFound
            } else {
                Exit::Error
            };
            let _ = log.append(
                "exit",
                records::failed(&run_id, exit.code(), &error.to_string()),
            );
            say(&error.to_string());
            return Ok(exit);
        }
    };
    let mut exec_logged = Ok(());
    let ended = child::run(&program, &args.command, |pid| {
        exec_logged = log.append("exec", records::exec(&run_id, pid)).map(|_| ());
    });
    if let Err(error) = exec_logged {
        say(&format!("warning: cannot record the exec: {error}"));
    }
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => {
            let _ = log.append(
                "exit",
                records::failed(&run_id, Exit::Error.code(), &error.to_string()),
            );
            return Err(UserError::new(error.to_string()).into());
        }
    };
    if let Err(error) = log.append("exit", records::exit(&run_id, &ended)) {
        say(&format!("warning: cannot record the exit: {error}"));
    }
    Ok(Exit::Child(ended.status()))
}
