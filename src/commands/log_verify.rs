//! `gatekeep log verify`: check the audit log's hash chain.

use std::io::Write as _;

use serde::Serialize;

use crate::audit;
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also check that the log still contains the head the approval service witnessed.
    #[arg(long)]
    pub witness: bool,
    /// Read the approval service token from this file (with --witness).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
}

/// Checks every head the service witnessed for this host and user against the local log;
/// `Some(problem)` when one is missing (truncated) or different (rewritten, or replaced by a
/// new chain).
fn witnessed(
    args: &Args,
    env: &Environment,
    path: &std::path::Path,
) -> Result<Option<String>, UserError> {
    let (client, _) = crate::client::connect(env, args.token_file.as_deref())?;
    let heads = client
        .witnesses(
            &crate::environment::hostname(),
            &crate::environment::current_user(),
        )
        .map_err(|e| UserError::new(format!("cannot fetch the witnessed heads: {e}")))?;
    if heads.is_empty() {
        eprintln!("gatekeep: the service has no witnessed head for this host and user");
        return Ok(None);
    }
    let local_chain = audit::chain_id(path).map_err(|e| UserError::new(e.to_string()))?;
    for head in heads {
        if local_chain.as_deref() != Some(head.chain_id.as_str()) {
            return Ok(Some(format!(
                "the witnessed chain {} is not this log (chain {}): the log was replaced",
                head.chain_id,
                local_chain.as_deref().unwrap_or("none")
            )));
        }
        match audit::hash_of(path, head.seq).map_err(|e| UserError::new(e.to_string()))? {
            Some(hash) if hash == head.hash => {}
            Some(_) => {
                return Ok(Some(format!(
                    "record {} differs from the witnessed one: the log was rewritten",
                    head.seq
                )));
            }
            None => {
                return Ok(Some(format!(
                    "the witnessed record {} is missing: the log was truncated",
                    head.seq
                )));
            }
        }
    }
    Ok(None)
}

#[derive(Serialize)]
struct VerifyJson {
    ok: bool,
    records: u64,
    segments: usize,
    recovered: usize,
    first_bad_seq: Option<u64>,
    kind: Option<audit::BreakKind>,
    error: Option<String>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let mut out = anstream::stdout();
    let report = match audit::verify(&path) {
        Ok(report) => report,
        Err(error) => {
            if args.json {
                let json = VerifyJson {
                    ok: false,
                    records: 0,
                    segments: 0,
                    recovered: 0,
                    first_bad_seq: None,
                    kind: None,
                    error: Some(error.to_string()),
                };
                writeln!(out, "{}", serde_json::to_string(&json)?)?;
                return Ok(Exit::Error);
            }
            return Err(UserError::new(error.to_string())
                .hint("check the path (--log, GATEKEEP_LOG)")
                .into());
        }
    };
    let mut error = report.first_break.as_ref().map(|b| {
        format!(
            "chain broken at seq {} ({}) in {} line {}",
            b.seq,
            b.kind,
            b.file.display(),
            b.line
        )
    });
    if args.witness && error.is_none() {
        error = witnessed(&args, env, &path)?;
    }
    if args.json {
        let json = VerifyJson {
            ok: error.is_none(),
            records: report.records,
            segments: report.segments,
            recovered: report.recovered.len(),
            first_bad_seq: report.first_break.as_ref().map(|b| b.seq),
            kind: report.first_break.as_ref().map(|b| b.kind),
            error: error.clone(),
        };
        writeln!(out, "{}", serde_json::to_string(&json)?)?;
    } else {
        for (file, offset, length) in &report.recovered {
            writeln!(
                out,
                "recovered: a torn write of {length} bytes at offset {offset} in {} (a crash mid-append)",
                file.display()
            )?;
        }
        match &error {
            None => writeln!(
                out,
                "ok: {} records in {} segments, chain intact",
                report.records, report.segments
            )?,
            Some(error) => writeln!(
                out,
                "broken: {error}; {} records verified before it",
                report.records
            )?,
        }
    }
    Ok(if error.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
