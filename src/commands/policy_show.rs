//! `gatekeep policy show ID`: one rule in force, as written, with its file and layer.

use std::io::Write as _;

use serde_json::json;

use crate::cli::PolicyArgs;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::policy::{self, Rule};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print one JSON object instead of the rule.
    #[arg(long)]
    pub json: bool,
    /// The rule's id (see `gatekeep policy list --rules`).
    #[arg(value_name = "ID")]
    pub id: String,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let decider = Decider::new(env, &args.policy.policies, false)?;
    let policy = &decider.policy;
    let Some(rule) = policy.rules().find(&args.id) else {
        return Err(unknown(&decider, &args.id).into());
    };
    let (file, line) = split_origin(&rule.origin);
    let text = decider
        .sources
        .files()
        .into_iter()
        .find(|(_, s)| s.origin == file)
        .map(|(_, s)| rule_text(&s.text, line))
        .unwrap_or_default();
    let mut out = anstream::stdout();
    if args.json {
        let value = json!({
            "id": rule.id,
            "decision": rule.decision,
            "layer": rule.layer.as_str(),
            "origin": rule.origin,
            "description": rule.description,
            "approval": approval(rule),
            "yaml": text,
        });
        writeln!(out, "{}", render::json_line(&value))?;
        return Ok(Exit::Success);
    }
    writeln!(
        out,
        "# {} rule, {}",
        rule.layer.name(),
        render::text(&rule.origin)
    )?;
    for line in text.lines() {
        writeln!(out, "{}", render::text(line))?;
    }
    Ok(Exit::Success)
}

fn approval(rule: &Rule) -> serde_json::Value {
    json!({
        "approvers": rule.approval.approvers,
        "quorum": rule.approval.quorum,
        "timeout_seconds": rule.approval.timeout_seconds,
        "reason_required": rule.approval.reason_required,
        "local_ask": rule.approval.local_ask,
    })
}

/// The error for an id not in force: dropped, switched off with the library, or unknown
/// (with the closest ids).
fn unknown(decider: &Decider, id: &str) -> UserError {
    let policy = &decider.policy;
    let shown = render::text(id);
    if let Some(at) = policy.dropped(id) {
        return UserError::new(format!(
            "built-in rule `{shown}` is not in force: it is dropped at {}",
            render::text(at)
        ))
        .hint("remove it from that file's `drop:` list to bring it back");
    }
    if let Some(at) = policy.builtin_off()
        && policy::embedded_sources()
            .iter()
            .any(|s| s.text.contains(&format!("id: {id}\n")))
    {
        return UserError::new(format!(
            "built-in rule `{shown}` is not in force: the library is switched off at {}",
            render::text(at)
        ))
        .hint("remove `builtin: false` from that file to bring the library back");
    }
    let ids: Vec<&str> = policy.rules().ids().iter().map(String::as_str).collect();
    let close = policy::close_ids(id, &ids);
    UserError::new(format!("no rule `{shown}` in the policies in force{close}"))
        .hint("`gatekeep policy list --rules` lists every rule in force")
        .kind("not_found")
}

/// `FILE:LINE:COL` → (`FILE`, LINE).
fn split_origin(origin: &str) -> (&str, usize) {
    let mut parts = origin.rsplitn(3, ':');
    let _column = parts.next();
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or(origin), line)
}

/// The lines of the list item holding the `id:` key on line `line` (1-based): from its
/// `- ` to the line before the next item or key at its indentation or less, unindented.
fn rule_text(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(index) = line.checked_sub(1).filter(|i| *i < lines.len()) else {
        return String::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let id_indent = indent(lines[index]) + lines[index].trim_start().find("id:").unwrap_or(0);
    let start = (0..=index)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with('-') && indent(lines[i]) < id_indent)
        .unwrap_or(index);
    let dash = indent(lines[start]);
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        if !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent(l) <= dash {
            break;
        }
        end += 1;
    }
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    lines[start..end]
        .iter()
        .map(|l| l.get(dash.min(indent(l))..).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_cut_from_its_dash_to_the_next_item() {
        let text = "version: 1\nrules:\n  - id: a\n    decision: deny\n    match: {program: rm}\n\n  - description: b\n    id: b\n    decision: approve\n    match:\n      program: ls\nother: 1\n";
        assert_eq!(
            rule_text(text, 3),
            "- id: a\n  decision: deny\n  match: {program: rm}"
        );
        assert_eq!(
            rule_text(text, 8),
            "- description: b\n  id: b\n  decision: approve\n  match:\n    program: ls"
        );
        assert_eq!(split_origin("/a:b/p.yaml:8:7"), ("/a:b/p.yaml", 8));
    }
}
