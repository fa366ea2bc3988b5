//! `gatekeep log witness`: send the log's new records to the approval service, which
//! accepts the new head only when they extend the chain it already witnessed (run it from
//! cron; `run` also does it in the background).

use std::path::PathBuf;

use crate::cli::LogArgs;
use crate::client::{self, witness};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Print nothing when it worked (errors still go to stderr and the state file beside
    /// the log), and do nothing while another witness of this log runs.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    if !path.exists() {
        return Err(
            UserError::new(format!("no audit log at {}", path.display()))
                .hint("check the path (--log, GATEKEEP_LOG)")
                .into(),
        );
    }
    let (client, connection) = client::connect(env, args.token_file.as_deref())?;
    let lock = witness::lock(&path, !args.quiet).map_err(|e| {
        UserError::new(format!(
            "cannot lock {}: {e}",
            witness::state_path(&path).display()
        ))
    })?;
    if lock.is_none() {
        return Ok(Exit::Success);
    }
    let result = witness::send(&client, &path);
    witness::remember(&path, &result);
    let sent = result.map_err(|error| {
        let hint = match &error {
            witness::WitnessError::Client(_) => "check the service (GATEKEEP_SERVER) and try again",
            _ => "compare the log with `gatekeep log verify --witness`; the witness keeps what it was shown",
        };
        UserError::new(format!("cannot witness the log at {}: {error}", connection.server))
            .hint(hint)
    })?;
    if !args.quiet {
        let head = &sent.head;
        if sent.calls == 0 {
            eprintln!(
                "gatekeep: seq {} ({}) of chain {} was already witnessed",
                head.seq,
                &head.hash[..16.min(head.hash.len())],
                sent.chain_id
            );
        } else {
            eprintln!(
                "gatekeep: witnessed seq {} ({}) of chain {}: {} in {}",
                head.seq,
                &head.hash[..16.min(head.hash.len())],
                sent.chain_id,
                crate::render::count(sent.added, "new record", "new records"),
                crate::render::count(sent.calls as u64, "call", "calls")
            );
        }
    }
    Ok(Exit::Success)
}
