//! `gatekeep approve ID` and `gatekeep reject ID`: record a verdict.

use std::path::PathBuf;

use crate::approval::{NewReview, Verdict};
use crate::client;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id, or a unique prefix of at least 8 characters.
    pub id: String,
    /// A comment for the requester (and the record).
    #[arg(short = 'm', long = "message", value_name = "COMMENT")]
    pub comment: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// Refuses to review from a process that looks like an AI agent. Defence in depth: the
/// service's rule that a requester never reviews their own request is the boundary.
pub fn refuse_agents(env: &Environment) -> Result<(), UserError> {
    match env.agent_marker() {
        Some(marker) => Err(UserError::new(format!(
            "reviews cannot be given from an agent session ({marker} is set)"
        ))
        .hint("a person reviews from their own shell, the web page, Slack or Teams")),
        None => Ok(()),
    }
}

pub fn run(args: Args, env: &Environment, verdict: Verdict) -> anyhow::Result<Exit> {
    refuse_agents(env)?;
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let id = client::request_id(&client, &args.id)?;
    let review = NewReview {
        verdict,
        comment: args.comment.clone(),
    };
    let view = client
        .review(&id, &review)
        .map_err(|e| e.to_user_error(&format!("cannot review {}", render::text(&id))))?;
    let done = match verdict {
        Verdict::Approve => "approved",
        Verdict::Reject => "rejected",
    };
    eprintln!(
        "gatekeep: {done} {}; the request is now {}",
        render::text(&view.id),
        view.status.as_str()
    );
    eprintln!("gatekeep:   command: {}", render::command(&view.facts.argv));
    Ok(Exit::Success)
}
