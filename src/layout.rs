//! Requests laid out for people on a terminal (`requests`, `review`): a header line per
//! request, labels in one column, values wrapped to the width with their continuation
//! lines under the value, rule descriptions one per line. Commands and links are never
//! wrapped. Command layer only.

use std::io::Write;

use crate::approval::{CLAIMED, Readable, RequestView};
use crate::render;
use crate::term;

/// Claims sit one step further in.
const CLAIM_COLUMN: usize = 15;

/// Seconds until an RFC 3339 time by this host's clock.
fn seconds_until(at: &str) -> Option<i64> {
    let at = at.parse::<jiff::Timestamp>().ok()?;
    Some(at.as_second() - jiff::Timestamp::now().as_second())
}

/// One labelled field, its value whole: a command as bash reads it back, or a link.
fn whole(out: &mut impl Write, label: &str, value: &str) -> std::io::Result<()> {
    writeln!(out, "  {:<11}{value}", format!("{label}:"))
}

/// One labelled field, its value wrapped to `width` and continued under itself.
fn field(
    out: &mut impl Write,
    indent: usize,
    label: &str,
    value: &str,
    width: usize,
) -> std::io::Result<()> {
    let column = indent + 11;
    writeln!(
        out,
        "{}{:<11}{}",
        " ".repeat(indent),
        format!("{label}:"),
        term::wrap(value, width, column, column)
    )
}

/// The full context of request `view`, as a reviewer reads it, headed by `id` (the prefix
/// the list shows): every field rendered, and what only the requester vouches for set
/// apart from the identity the service authenticated.
pub fn request(
    out: &mut impl Write,
    view: &RequestView,
    id: &str,
    width: usize,
) -> std::io::Result<()> {
    let shown = Readable::of(view, render::nothing);
    let (bold, dim) = (term::BOLD, term::DIM);
    let status = term::paint(term::decision(&shown.status), &shown.status);
    let left = match seconds_until(&view.expires_at) {
        Some(left) if shown.status == "pending" => {
            format!("  {dim}expires in {}{dim:#}", term::countdown(left))
        }
        _ => String::new(),
    };
    writeln!(out, "{bold}{}{bold:#}  {status}{left}", render::text(id))?;
    field(
        out,
        2,
        "filed by",
        &format!("{} (authenticated)", shown.filed_by),
        width,
    )?;
    if let Some(conflict) = &shown.log_conflict {
        let warning = term::paint(term::WARNING, "WARNING");
        field(out, 2, "log", &format!("{warning} {conflict}"), width)?;
    }
    // Commands are never broken: what is shown is what bash reads back.
    whole(out, "command", &shown.command)?;
    for (command, rules) in &shown.commands {
        let rules = if rules.is_empty() { "-" } else { rules };
        writeln!(out, "    runs:    {command}  [{rules}]")?;
    }
    field(out, 2, "program", &shown.program, width)?;
    for line in shown.also_runs.lines() {
        field(out, 2, "also", line, width)?;
    }
    field(out, 2, "env", &shown.environment, width)?;
    if let Some(line) = &shown.secrets {
        field(out, 2, "secrets", line, width)?;
    }
    field(out, 2, "needs", &shown.approvers, width)?;
    for review in &shown.reviews {
        field(out, 2, "review", review, width)?;
    }
    field(out, 2, "expires", &shown.expires_at, width)?;
    whole(out, "review at", &render::text(&view.review_url))?;
    writeln!(out, "  {CLAIMED} (the service cannot check these):")?;
    for (label, value) in &shown.claims {
        if *label == "why" && !view.descriptions.is_empty() {
            // Each rule's description on a line of its own, under the value column.
            for (n, description) in view.descriptions.iter().enumerate() {
                let text = render::text(description);
                let wrapped = term::wrap(&text, width, CLAIM_COLUMN, CLAIM_COLUMN);
                if n == 0 {
                    writeln!(out, "    {:<11}{wrapped}", "why:")?;
                } else {
                    writeln!(out, "{}{wrapped}", " ".repeat(CLAIM_COLUMN))?;
                }
            }
            continue;
        }
        field(out, 4, label, value, width)?;
    }
    Ok(())
}
