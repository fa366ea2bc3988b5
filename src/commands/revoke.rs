//! `gatekeep revoke ID`: close the window an approval opened; nothing more is granted or
//! used under it.

use std::path::PathBuf;

use crate::client::{self, ClientError};
use crate::commands::approve::refuse_agents;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use crate::term;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The id of the request whose approval opened the window (or a unique prefix of at
    /// least 8 characters).
    pub id: String,
    /// Why, for the record and the requester.
    #[arg(long)]
    pub reason: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    refuse_agents(env)?;
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let id = client::request_id(&client, &args.id)?;
    let view = client
        .revoke(&id, args.reason.as_deref())
        .map_err(|e| match e {
            ClientError::Api {
                status: 409, body, ..
            } => UserError::new(render::text(&body.error))
                .hint("nothing was changed")
                .exit(Exit::Failure),
            other => other.to_user_error(&format!("cannot revoke {}", render::text(&id))),
        })?;
    let uses = view.window.as_ref().map_or(0, |w| w.uses.len());
    anstream::eprintln!(
        "gatekeep: {} window {}; {} ran under it",
        term::paint(term::decision("rejected"), "revoked"),
        render::text(&view.id),
        term::count(uses as u64, "command", "commands")
    );
    Ok(Exit::Success)
}
