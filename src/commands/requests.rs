//! `gatekeep requests`: the pending requests I may review.

use std::io::Write as _;
use std::path::PathBuf;

use crate::approval::{CLAIMED, Readable, RequestView};
use crate::client;
use crate::environment::Environment;
use crate::exit::Exit;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the requests as one JSON array.
    #[arg(long)]
    pub json: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The full context of a request, as a reviewer reads it: every field rendered, and what
/// only the requester vouches for set apart from the identity the service authenticated.
pub fn describe(view: &RequestView, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    let shown = Readable::of(view, render::nothing);
    writeln!(out, "{bold}{}{bold:#}  {}", shown.id, shown.status)?;
    writeln!(out, "  filed by:  {} (authenticated)", shown.filed_by)?;
    if let Some(conflict) = &shown.log_conflict {
        writeln!(out, "  log:       WARNING {conflict}")?;
    }
    writeln!(out, "  command:   {}", shown.command)?;
    for (command, rules) in &shown.commands {
        let rules = if rules.is_empty() { "-" } else { rules };
        writeln!(out, "    runs:    {command}  [{rules}]")?;
    }
    writeln!(out, "  program:   {}", shown.program)?;
    for line in shown.also_runs.lines() {
        writeln!(out, "  also:      {line}")?;
    }
    writeln!(out, "  env:       {}", shown.environment)?;
    if let Some(line) = &shown.secrets {
        writeln!(out, "  secrets:   {line}")?;
    }
    writeln!(out, "  needs:     {}", shown.approvers)?;
    for review in &shown.reviews {
        writeln!(out, "  review:    {review}")?;
    }
    writeln!(out, "  expires:   {}", shown.expires_at)?;
    writeln!(out, "  review at: {}", render::text(&view.review_url))?;
    writeln!(out, "  {CLAIMED} (the service cannot check these):")?;
    for (label, value) in &shown.claims {
        writeln!(out, "    {:<10} {value}", format!("{label}:"))?;
    }
    Ok(())
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let pending = client
        .pending()
        .map_err(|e| e.to_user_error("cannot list the requests"))?;
    let mut out = anstream::stdout();
    if args.json {
        writeln!(
            out,
            "{}",
            render::json_line(&serde_json::to_value(&pending)?)
        )?;
        return Ok(Exit::Success);
    }
    if pending.is_empty() {
        writeln!(out, "no pending requests for you to review")?;
    }
    for view in &pending {
        describe(view, &mut out)?;
        writeln!(out)?;
    }
    Ok(Exit::Success)
}
