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
    crate::layout::request(out, view, id, width)
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
    } else {
        let count = crate::term::count(pending.len() as u64, "request", "requests");
        writeln!(out, "{count} pending for you to review\n")?;
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
