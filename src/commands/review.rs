//! `gatekeep review`: pick a pending request, read its context, approve or reject it.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::approval::{NewReview, Verdict};
use crate::client;
use crate::commands::approve::refuse_agents;
use crate::commands::requests::describe;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    refuse_agents(env)?;
    if !std::io::stdin().is_terminal() {
        return Err(
            UserError::new("`gatekeep review` is interactive and needs a terminal")
                .hint("use `gatekeep approve ID` or `gatekeep reject ID`")
                .into(),
        );
    }
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let prompt_error = |e: dialoguer::Error| UserError::new(format!("prompt failed: {e}"));
    loop {
        let pending = client
            .pending()
            .map_err(|e| e.to_user_error("cannot list the requests"))?;
        if pending.is_empty() {
            eprintln!("gatekeep: no pending requests for you to review");
            return Ok(Exit::Success);
        }
        let items: Vec<String> = pending
            .iter()
            .map(|v| {
                format!(
                    "{}  {}  {}",
                    render::text(&v.id[..v.id.len().min(13)]),
                    render::text(&v.requester),
                    render::command(&v.facts.argv)
                )
            })
            .chain(std::iter::once("quit".to_owned()))
            .collect();
        let choice = dialoguer::Select::new()
            .with_prompt("Pending requests")
            .items(&items)
            .default(0)
            .interact()
            .map_err(prompt_error)?;
        let Some(view) = pending.get(choice) else {
            return Ok(Exit::Success);
        };
        describe(view, &mut anstream::stderr())?;
        let actions = ["approve", "reject", "skip"];
        let action = dialoguer::Select::new()
            .with_prompt("Decision")
            .items(actions)
            .default(2)
            .interact()
            .map_err(prompt_error)?;
        let verdict = match action {
            0 => Verdict::Approve,
            1 => Verdict::Reject,
            _ => continue,
        };
        let comment: String = dialoguer::Input::new()
            .with_prompt("Comment")
            .allow_empty(true)
            .interact_text()
            .map_err(prompt_error)?;
        let review = NewReview {
            verdict,
            comment: (!comment.is_empty()).then_some(comment),
        };
        match client.review(&view.id, &review) {
            Ok(updated) => eprintln!(
                "gatekeep: {} is now {}",
                render::text(&updated.id),
                updated.status.as_str()
            ),
            Err(error) => eprintln!(
                "gatekeep: cannot review {}: {}",
                render::text(&view.id),
                render::text(&error.to_string())
            ),
        }
    }
}
