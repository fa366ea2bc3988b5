//! `gatekeep acknowledge ID` and `gatekeep flag ID`: close the review of a break-glass run.

use std::path::PathBuf;

use crate::approval::{Finding, NewAfterReview};
use crate::client::{self, ClientError};
use crate::commands::approve::refuse_agents;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use crate::term;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The break-glass run's request id, or a unique prefix of at least 8 characters.
    pub id: String,
    /// A comment for the record (what was checked, what follows up).
    #[arg(short = 'm', long = "message", value_name = "COMMENT")]
    pub comment: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

pub fn run(args: Args, env: &Environment, finding: Finding) -> anyhow::Result<Exit> {
    refuse_agents(env)?;
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let id = client::request_id(&client, &args.id)?;
    let review = NewAfterReview {
        finding,
        comment: args.comment.clone(),
    };
    let view = client.after_review(&id, &review).map_err(|e| match e {
        ClientError::Api {
            status: 409, body, ..
        } => UserError::new(render::text(&body.error))
            .hint("`gatekeep requests --break-glass` lists the runs still to review")
            .exit(Exit::Failure),
        other => other.to_user_error(&format!("cannot review {}", render::text(&id))),
    })?;
    let word = match finding {
        Finding::Acknowledge => "acknowledged",
        Finding::Flag => "flagged",
    };
    anstream::eprintln!(
        "gatekeep: {} the break-glass run {}",
        term::paint(term::decision("approved"), word),
        render::text(&view.id)
    );
    eprintln!("gatekeep:   command: {}", render::command(&view.facts.argv));
    Ok(Exit::Success)
}
