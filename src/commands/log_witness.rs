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

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let head = audit::head(&path).map_err(|e| UserError::new(format!("{e}; not witnessing it")))?;
    let head = LogHead {
        chain_id: head.chain_id,
        seq: head.seq,
        hash: head.hash,
    };
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
