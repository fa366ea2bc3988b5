//! `gatekeep review`: pick a pending request, read its context, approve or reject it.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::approval::ids::shortest_unique_prefixes;
use crate::approval::{NewReview, RequestView, Verdict};
use crate::client;
use crate::commands::approve::{give, refuse_agents};
use crate::commands::requests::describe;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use crate::term;

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
    let width = term::width(env);
    loop {
        let pending = client
            .pending()
            .map_err(|e| e.to_user_error("cannot list the requests"))?;
        if pending.is_empty() {
            eprintln!("gatekeep: no pending requests for you to review");
            return Ok(Exit::Success);
        }
        let ids: Vec<&str> = pending.iter().map(|v| v.id.as_str()).collect();
        let shown = shortest_unique_prefixes(&ids, 8);
        let items = rows(&pending, &shown, width);
        // Esc or q leave `review`, from the list as from a decision.
        let Some(choice) = dialoguer::Select::new()
            .with_prompt(format!(
                "{} pending (Enter reads one, Esc or q leaves)",
                term::count(pending.len() as u64, "request", "requests")
            ))
            .items(&items)
            .default(0)
            .interact_opt()
            .map_err(prompt_error)?
        else {
            return Ok(Exit::Success);
        };
        let Some(view) = pending.get(choice) else {
            return Ok(Exit::Success);
        };
        describe(view, &shown[choice], width, &mut anstream::stderr())?;
        let actions = ["approve", "reject", "skip"];
        let Some(action) = dialoguer::Select::new()
            .with_prompt("Decision (Esc or q leaves)")
            .items(actions)
            .default(2)
            .interact_opt()
            .map_err(prompt_error)?
        else {
            return Ok(Exit::Success);
        };
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
            window: None,
        };
        match give(&client, &view.id, &review) {
            Ok(updated) => {
                let status = updated.status.as_str();
                anstream::eprintln!(
                    "gatekeep: {} is now {}",
                    render::text(&shown[choice]),
                    term::paint(term::decision(status), status)
                );
            }
            // Decided meanwhile, or reviewed before: said plainly, and on to the list.
            Err(error) => anstream::eprintln!(
                "gatekeep: {}: {}",
                term::paint(term::ERROR, "not recorded"),
                render::inert(&error.message)
            ),
        }
    }
}

/// One line per request for the list: the id, who filed it, the rules and the command,
/// in aligned columns, each line cut to `width` (the list cannot wrap).
fn rows(pending: &[RequestView], ids: &[String], width: usize) -> Vec<String> {
    let requesters: Vec<String> = pending.iter().map(|v| render::text(&v.requester)).collect();
    let rules: Vec<String> = pending
        .iter()
        .map(|v| render::text(&v.rules.join(",")))
        .collect();
    let wide = |column: &[String]| column.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let (id_width, requester_width, rules_width) = (wide(ids), wide(&requesters), wide(&rules));
    pending
        .iter()
        .enumerate()
        .map(|(n, view)| {
            let line = format!(
                "{:<id_width$}  {:<requester_width$}  {:<rules_width$}  {}",
                ids[n],
                requesters[n],
                rules[n],
                render::command(&view.facts.argv)
            );
            // Room for the selection marker in front.
            let room = width.saturating_sub(3).max(20);
            if line.chars().count() > room {
                let kept = render::cut(&line, room - 1, |piece| piece.chars().count()).kept;
                format!("{kept}…")
            } else {
                line
            }
        })
        .collect()
}
