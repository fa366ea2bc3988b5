//! `gatekeep log prune`: apply the configured `retention:` to the audit log's closed
//! segments (compress them, remove the oldest), recording every removal in the chain.

use std::io::Write;
use std::path::Path;

use crate::audit::{self, AuditLog, Outcome};
use crate::cli::LogArgs;
use crate::environment::{self, Environment};
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The retention in force from the client configuration.
fn configured(env: &Environment) -> Result<Option<audit::Retention>, UserError> {
    let paths = crate::paths::Paths::from_env(env);
    Ok(crate::config::Config::load(&paths.config_file)?.retention())
}

/// Applies `retention` to the log at `path` now; the error names the cause.
pub fn apply(path: &Path, retention: &audit::Retention) -> Result<Outcome, UserError> {
    let log = AuditLog::new(
        path.to_owned(),
        None,
        environment::hostname(),
        environment::current_user(),
    );
    audit::apply_retention(&log, retention, audit::now()).map_err(|e| {
        UserError::new(format!("retention of {}: {e}", path.display()))
            .hint("`gatekeep log verify` shows where the log is broken")
    })
}

fn name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// What a pass of retention did, one line each, on stderr.
pub fn describe(outcome: &Outcome) {
    for file in &outcome.cleaned {
        eprintln!(
            "gatekeep: removed {}, left by an interrupted compression",
            name(file)
        );
    }
    for file in &outcome.compressed {
        eprintln!("gatekeep: compressed {}", name(file));
    }
    for removed in &outcome.removed {
        eprintln!(
            "gatekeep: removed {} (seq {}-{}, {}, the newest at {})",
            name(&removed.file),
            removed.first_seq,
            removed.last_seq,
            crate::render::count(removed.records, "record", "records"),
            removed.last_ts
        );
    }
    if let Some(record) = &outcome.record {
        eprintln!("gatekeep: the removal is recorded at seq {}", record.seq);
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    if !path.exists() {
        return Err(UserError::new(format!("no audit log at {}", path.display())).into());
    }
    let Some(retention) = configured(env)? else {
        return Err(UserError::new("no retention is configured")
            .hint("set `retention:` in the client configuration (docs/config.md)")
            .into());
    };
    let outcome = apply(&path, &retention)?;
    if args.json {
        let json = serde_json::json!({
            "compressed": outcome.compressed.iter().map(|p| name(p)).collect::<Vec<_>>(),
            "cleaned": outcome.cleaned.iter().map(|p| name(p)).collect::<Vec<_>>(),
            "removed": outcome.removed.iter().map(|r| serde_json::json!({
                "file": name(&r.file),
                "first_seq": r.first_seq,
                "last_seq": r.last_seq,
                "records": r.records,
                "first_ts": r.first_ts,
                "last_ts": r.last_ts,
            })).collect::<Vec<_>>(),
            "record_seq": outcome.record.as_ref().map(|r| r.seq),
        });
        writeln!(anstream::stdout(), "{json}")?;
    } else {
        describe(&outcome);
        if outcome == Outcome::default() {
            eprintln!("gatekeep: nothing to compress or remove");
        }
    }
    Ok(Exit::Success)
}
