//! `gatekeep status`: whether what gatekeep needs is in place here — the service answers,
//! its key is pinned and matches, policies load, the audit log can be written, supervision
//! can start. Each line ok, warn or fail with a hint; exit 1 when something fails.

use std::io::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::client::{self, Connection};
use crate::config::Config;
use crate::environment::{self, Environment};
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object (`"gatekeep": 1` is its schema version).
    #[arg(long)]
    pub json: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    state: State,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

impl Check {
    fn ok(name: &'static str, message: impl Into<String>) -> Check {
        Check {
            name,
            state: State::Ok,
            message: message.into(),
            hint: None,
        }
    }

    fn warn(name: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            name,
            state: State::Warn,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    fn fail(name: &'static str, message: impl Into<String>, hint: Option<String>) -> Check {
        Check {
            name,
            state: State::Fail,
            message: message.into(),
            hint,
        }
    }

    fn of_error(name: &'static str, error: &UserError) -> Check {
        Check::fail(name, error.message.clone(), error.hint.clone())
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let config = Config::load(&paths.config_file)?;
    let mut checks = service(env, &config, args.token_file.as_deref());
    checks.push(policies(env));
    checks.push(audit_log(env, &paths, &config));
    checks.push(supervision(config.require_supervision));
    let ok = checks.iter().all(|c| c.state != State::Fail);
    let mut out = anstream::stdout();
    if args.json {
        let report = serde_json::json!({"gatekeep": 1, "ok": ok, "checks": checks});
        writeln!(out, "{}", render::json_line(&report))?;
    } else {
        for check in &checks {
            let (word, style) = match check.state {
                State::Ok => ("ok", anstyle::AnsiColor::Green.on_default()),
                State::Warn => ("warn", anstyle::AnsiColor::Yellow.on_default()),
                State::Fail => ("fail", anstyle::AnsiColor::Red.on_default().bold()),
            };
            writeln!(
                out,
                "{style}{word:<5}{style:#} {:<12} {}",
                check.name,
                render::inert(&check.message)
            )?;
            if let Some(hint) = &check.hint {
                writeln!(out, "{:<18} hint: {}", "", render::inert(hint))?;
            }
        }
    }
    Ok(if ok { Exit::Success } else { Exit::Failure })
}

/// The service answers this token, and its key is the pinned one.
fn service(env: &Environment, config: &Config, token_file: Option<&std::path::Path>) -> Vec<Check> {
    let connection = match Connection::discover(env, config, token_file) {
        Ok(Some(connection)) => connection,
        Ok(None) => {
            return vec![Check::warn(
                "service",
                "no approval service is configured: commands that need an approval are refused",
                "set GATEKEEP_SERVER and GATEKEEP_TOKEN, or run `gatekeep login`",
            )];
        }
        Err(error) => return vec![Check::of_error("service", &error)],
    };
    let client = match client::ApiClient::new(&connection.server, &connection.token) {
        Ok(client) => client.with_token_source(connection.token_source.clone()),
        Err(error) => {
            return vec![Check::of_error(
                "service",
                &error.to_user_error("cannot set up the client"),
            )];
        }
    };
    let service = match client.me() {
        Ok(me) => Check::ok(
            "service",
            format!(
                "{} answers; the token (from {}) is {}'s",
                client.base(),
                connection.token_source,
                me.name
            ),
        ),
        Err(error) => {
            let error = error.to_user_error("the service cannot be used");
            return vec![Check::of_error("service", &error)];
        }
    };
    let key = super::whoami::Key::check(&connection, &client);
    let key = match key.matches {
        Some(true) => Check::ok("service key", key.describe()),
        Some(false) => Check::fail(
            "service key",
            key.describe(),
            Some("ask your administrator whether the key changed; if it did, log in again".into()),
        ),
        None if key.pinned.is_none() => Check::warn(
            "service key",
            key.describe(),
            "`gatekeep login` pins the key (or set GATEKEEP_SERVER_KEY); until then grants are checked against the key the service sends",
        ),
        None => Check::warn(
            "service key",
            key.describe(),
            "the service's /v1/keys did not answer; grants cannot be checked until it does",
        ),
    };
    vec![service, key]
}

/// The policies in force load; how many rules from how many sources.
fn policies(env: &Environment) -> Check {
    match crate::decide::Decider::new(env, &[], false) {
        Ok(decider) => {
            let sources = decider.policy.summaries();
            let builtin = sources
                .iter()
                .filter(|s| s.origin.starts_with("builtin:"))
                .count();
            let mut names: Vec<String> = Vec::new();
            if builtin > 0 {
                names.push(format!(
                    "the built-in library ({builtin} {})",
                    plural(builtin, "file")
                ));
            }
            names.extend(
                sources
                    .iter()
                    .filter(|s| !s.origin.starts_with("builtin:"))
                    .map(|s| s.origin.clone()),
            );
            let rules = decider.policy.rules().len();
            Check::ok(
                "policies",
                format!(
                    "{rules} {} from {}",
                    plural(rules, "rule"),
                    names.join(", ")
                ),
            )
        }
        Err(error) => Check::of_error("policies", &error),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The audit log's lock can be taken and the log opened for appending (no record written).
fn audit_log(env: &Environment, paths: &Paths, config: &Config) -> Check {
    let path = paths.audit_log(None, env, config.log.as_deref());
    let log = crate::audit::AuditLog::new(
        path.clone(),
        None,
        environment::hostname(),
        environment::current_user(),
    );
    match log.check_writable() {
        Ok(()) => Check::ok("audit log", format!("{} can be written", path.display())),
        Err(error) => Check::fail(
            "audit log",
            error.to_string(),
            Some("commands are refused while the log cannot be written: fix its permissions, or set GATEKEEP_LOG".into()),
        ),
    }
}

/// A supervised tree can start here (ptrace, the seccomp filter and the Landlock domain);
/// a failure when the configuration requires it.
fn supervision(required: bool) -> Check {
    if crate::supervise::available() {
        Check::ok(
            "supervision",
            "ptrace, seccomp and Landlock can confine a command here",
        )
    } else if required {
        Check::fail(
            "supervision",
            "a supervised command cannot start here (ptrace, seccomp or Landlock is not available), and `require_supervision` is set",
            Some("supervised runs are refused here: run where ptrace, seccomp and Landlock are allowed".into()),
        )
    } else {
        Check::warn(
            "supervision",
            "a supervised command cannot start here (ptrace, seccomp or Landlock is not available)",
            "supervised runs say so and run unsupervised, or are refused under `require_supervision`",
        )
    }
}
