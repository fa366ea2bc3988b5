//! `gatekeep token new`: a fresh random token and the line the service configuration needs.

use crate::exit::{Exit, UserError};
use crate::server::token_sha256;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print a new token and its `token_sha256` for the service's users list.
    New,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.action {
        Action::New => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| UserError::new(format!("no randomness: {e}")))?;
            let token = format!("gk_{}", hex::encode(bytes));
            println!("token: {token}");
            println!("token_sha256: {}", token_sha256(&token));
            eprintln!(
                "gatekeep: give the token to its user; put only token_sha256 in the service configuration"
            );
            Ok(Exit::Success)
        }
    }
}
