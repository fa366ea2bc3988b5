//! `gatekeep check`: evaluate a command without running it.

use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::{ApprovalRequirement, Decision, Evaluation};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
    /// Evaluate as if the caller were an AI agent.
    #[arg(long)]
    pub agent: bool,
    /// Evaluate a shell command line (bash syntax) instead of an argument vector.
    #[arg(long, value_name = "SCRIPT", conflicts_with = "command")]
    pub shell: Option<String>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    id: &'a str,
    decision: Decision,
    unprovable: bool,
}

#[derive(Serialize)]
struct CheckJson<'a> {
    decision: Decision,
    rules: Vec<RuleJson<'a>>,
    commands: &'a [Vec<String>],
    approvals: &'a [ApprovalRequirement],
    timeout_seconds: Option<u64>,
    reason_required: bool,
    opaque: &'a [String],
    /// Whether `gatekeep run` would supervise the command while it runs.
    supervised: bool,
    /// What the caller should know about the policies in force (`builtin: false`).
    warnings: Vec<String>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    if args.command.is_empty() && args.shell.is_none() {
        return Err(UserError::new("no command given")
            .hint("gatekeep check -- CMD [ARGS...]  or  gatekeep check --shell 'SCRIPT'")
            .into());
    }
    let decider = Decider::new(env, &args.policy.policies, args.agent)?;
    let analysis = match &args.shell {
        Some(script) => decider.analyze_script(script),
        None => decider.analyze_argv(&args.command),
    }?;
    let evaluation = decider.evaluate(&analysis);
    let warnings = decider.warnings();
    let mut out = anstream::stdout();
    if args.json {
        let mut seen = Vec::new();
        let rules = evaluation
            .hits
            .iter()
            .filter(|h| {
                let new = !seen.contains(&h.rule);
                seen.push(h.rule.clone());
                new
            })
            .map(|h| RuleJson {
                id: &h.rule,
                decision: h.decision,
                unprovable: h.unprovable,
            })
            .collect();
        let json = CheckJson {
            decision: evaluation.decision,
            rules,
            commands: &evaluation.commands,
            approvals: &evaluation.approvals,
            timeout_seconds: evaluation.timeout_seconds,
            reason_required: evaluation.reason_required,
            opaque: &evaluation.opaque,
            supervised: evaluation.supervised
                || Config::load(&Paths::from_env(env).config_file)?
                    .supervise
                    .applies(decider.context.agent),
            warnings,
        };
        writeln!(out, "{}", render::json_line(&serde_json::to_value(&json)?))?;
    } else {
        for warning in &warnings {
            eprintln!("gatekeep: warning: {warning}");
        }
        write_report(&mut out, &evaluation)?;
    }
    Ok(Exit::Success)
}

fn decision_style(decision: Decision) -> Style {
    match decision {
        Decision::Allow => AnsiColor::Green.on_default().bold(),
        Decision::Supervise => AnsiColor::Cyan.on_default().bold(),
        Decision::Approve => AnsiColor::Yellow.on_default().bold(),
        Decision::Deny => AnsiColor::Red.on_default().bold(),
    }
}

fn write_report(out: &mut impl std::io::Write, evaluation: &Evaluation) -> std::io::Result<()> {
    let style = decision_style(evaluation.decision);
    writeln!(out, "decision: {style}{}{style:#}", evaluation.decision)?;
    for hit in &evaluation.hits {
        let command = evaluation
            .commands
            .get(hit.command)
            .map(|c| {
                let runtime = evaluation.runtime_words.get(hit.command);
                render::analysed(c, runtime.map_or(&[], Vec::as_slice), render::nothing)
            })
            .unwrap_or_default();
        let style = decision_style(hit.decision);
        let tag = if hit.unprovable {
            " (unprovable: parts are only known at run time)"
        } else {
            ""
        };
        writeln!(
            out,
            "  rule {} → {style}{}{style:#}{tag}",
            render::text(&hit.rule),
            hit.decision
        )?;
        if let Some(description) = &hit.description {
            writeln!(out, "    {}", render::text(description))?;
        }
        writeln!(out, "    command: {command}")?;
        for reason in &hit.reasons {
            writeln!(out, "    - {}", render::inert(reason))?;
        }
    }
    for reason in &evaluation.opaque {
        writeln!(out, "  cannot analyse: {}", render::inert(reason))?;
    }
    if evaluation.hits.is_empty() && evaluation.opaque.is_empty() {
        writeln!(out, "  no rule matched; the policy default applies")?;
    }
    for approval in &evaluation.approvals {
        writeln!(
            out,
            "  approval: {} of {} (for {})",
            approval.quorum,
            render::text(&approval.approvers.join(", ")),
            render::text(&approval.rule)
        )?;
    }
    if let Some(seconds) = evaluation.timeout_seconds {
        let duration = jiff::SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX));
        writeln!(out, "  timeout: {duration:#}")?;
    }
    if evaluation.reason_required {
        writeln!(out, "  a reason is required (--reason)")?;
    }
    Ok(())
}
