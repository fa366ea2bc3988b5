//! `gatekeep requests`: the pending requests I may review.

use std::io::Write as _;
use std::path::PathBuf;

use crate::approval::RequestView;
use crate::client;
use crate::environment::Environment;
use crate::exit::Exit;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the requests as one JSON array.
    #[arg(long)]
    pub json: bool,
    /// List the break-glass runs whose review is still open instead (overdue ones
    /// marked).
    #[arg(long)]
    pub break_glass: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The full context of a request, as a reviewer reads it (see [`crate::layout::request`]),
/// headed by `id`, wrapped to `width`.
pub fn describe(
    view: &RequestView,
    id: &str,
    width: usize,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    crate::layout::request(out, view, id, width)?;
    if let Some(glass) = &view.break_glass {
        let state = match (&glass.review, glass.overdue) {
            (Some(done), _) => format!("closed by {} ({})", done.reviewer, done.finding.as_str()),
            (None, true) => format!("OVERDUE since {}", glass.review_due),
            (None, false) => format!("open, due by {}", glass.review_due),
        };
        writeln!(
            out,
            "  break-glass  ran without approval; review {}",
            render::text(&state)
        )?;
    }
    if let Some(window) = &view.under_window {
        writeln!(
            out,
            "  window       granted under window {}",
            render::text(window)
        )?;
    }
    Ok(())
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let pending = if args.break_glass {
        client.open_break_glass()
    } else {
        client.pending()
    }
    .map_err(|e| e.to_user_error("cannot list the requests"))?;
    let (none, some) = if args.break_glass {
        (
            "no break-glass runs waiting for review",
            "break-glass runs waiting for review",
        )
    } else {
        (
            "no pending requests for you to review",
            "pending for you to review",
        )
    };
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
        writeln!(out, "{none}")?;
    } else if args.break_glass {
        writeln!(out, "{}: {some}\n", pending.len())?;
    } else {
        let count = crate::term::count(pending.len() as u64, "request", "requests");
        writeln!(out, "{count} {some}\n")?;
    }
    let ids: Vec<&str> = pending.iter().map(|v| v.id.as_str()).collect();
    let shown = crate::approval::ids::shortest_unique_prefixes(&ids, 8);
    let width = crate::term::width(env);
    for (view, id) in pending.iter().zip(&shown) {
        describe(view, id, width, &mut out)?;
        writeln!(out)?;
    }
    Ok(Exit::Success)
}
