//! `gatekeep log witness`: send the log's current head to the approval service, which keeps
//! it as a witness against later truncation or rewriting (run it from cron).

use std::path::PathBuf;

use crate::approval::LogHead;
use crate::audit;
use crate::cli::LogArgs;
use crate::client;
use crate::environment::{self, Environment};
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The verified head of the log at `path`.
pub fn head(path: &std::path::Path) -> Result<LogHead, UserError> {
    let report = audit::verify(path).map_err(|e| UserError::new(e.to_string()))?;
    if let Some(broken) = &report.first_break {
        return Err(UserError::new(format!(
            "the log is broken at seq {} ({}); not witnessing it",
            broken.seq, broken.kind
        )));
    }
    let hash = report
        .head
        .ok_or_else(|| UserError::new("the log is empty"))?;
    let chain_id = audit::chain_id(path)
        .map_err(|e| UserError::new(e.to_string()))?
        .ok_or_else(|| UserError::new("the log has no chain id"))?;
    Ok(LogHead {
        chain_id,
        seq: report.records.saturating_sub(1) + first_seq(path),
        hash,
    })
}

/// `seq` of the first record still on disk (rotated segments may be archived elsewhere).
fn first_seq(path: &std::path::Path) -> u64 {
    audit::read_all(path)
        .ok()
        .and_then(|r| r.first().and_then(audit::Record::seq))
        .unwrap_or(0)
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let head = head(&path)?;
    let (client, connection) = client::connect(env, args.token_file.as_deref())?;
    client
        .put_witness(
            &environment::hostname(),
            &environment::current_user(),
            &head,
        )
        .map_err(|e| {
            UserError::new(format!(
                "cannot send the head to {}: {e}",
                connection.server
            ))
        })?;
    eprintln!(
        "gatekeep: witnessed seq {} ({}) of chain {}",
        head.seq,
        &head.hash[..16],
        head.chain_id
    );
    Ok(Exit::Success)
}
