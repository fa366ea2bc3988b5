//! `gatekeep requests`: the pending requests I may review.

use std::io::Write as _;
use std::path::PathBuf;

use crate::approval::RequestView;
use crate::client;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the requests as one JSON array.
    #[arg(long)]
    pub json: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The full context of a request, as a reviewer reads it.
pub fn describe(view: &RequestView, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let bold = anstyle::Style::new().bold();
    writeln!(out, "{bold}{}{bold:#}  {}", view.id, view.status.as_str())?;
    writeln!(out, "  requester: {}", view.requester_line())?;
    if let Some(conflict) = &view.log_head_conflict {
        writeln!(out, "  log:       WARNING {conflict}")?;
    }
    writeln!(out, "  command:   {}", view.facts.argv.join(" "))?;
    writeln!(out, "  cwd:       {}", view.facts.cwd)?;
    writeln!(
        out,
        "  binary:    {} (sha256 {})",
        view.facts.resolved_path,
        &view.facts.binary_sha256[..view.facts.binary_sha256.len().min(16)]
    )?;
    writeln!(out, "  rules:     {}", view.rules.join(", "))?;
    if let Some(line) = view.secrets_line() {
        writeln!(out, "  secrets:   {line}")?;
    }
    for description in &view.descriptions {
        writeln!(out, "  why:       {description}")?;
    }
    writeln!(
        out,
        "  reason:    {}",
        view.reason.as_deref().unwrap_or("(none given)")
    )?;
    for approval in &view.approvals {
        writeln!(
            out,
            "  needs:     {} of {} ({})",
            approval.quorum,
            approval.approvers.join(" or "),
            approval.rule
        )?;
    }
    for review in &view.reviews {
        writeln!(
            out,
            "  review:    {} {:?} {}",
            review.reviewer,
            review.verdict,
            review.comment.as_deref().unwrap_or("")
        )?;
    }
    writeln!(out, "  expires:   {}", view.expires_at)?;
    writeln!(out, "  review at: {}", view.review_url)
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let pending = client
        .pending()
        .map_err(|e| UserError::new(e.to_string()))?;
    let mut out = anstream::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&pending)?)?;
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
