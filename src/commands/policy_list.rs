//! `gatekeep policy list`: the policy layers in force, their files and rules.

use std::io::Write as _;
use std::path::Path;

use serde_json::json;

use crate::cli::PolicyArgs;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::Exit;
use crate::policy::{Layer, PROJECT_DIR, Summary, project_root};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// List every rule in force with its decision, layer and place.
    #[arg(long)]
    pub rules: bool,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
}

/// Where a layer without files would come from, in parentheses.
fn absent(layer: Layer, env: &Environment, decider: &Decider) -> String {
    let paths = crate::paths::Paths::from_env(env);
    let place = match layer {
        Layer::Builtin => return String::new(),
        Layer::Admin => paths.admin_policies.display().to_string(),
        Layer::User => paths.user_policies.display().to_string(),
        Layer::Project => match project_root(Path::new(&decider.context.cwd)) {
            Some(root) => root.join(PROJECT_DIR).display().to_string(),
            None => "not in a git repository".to_owned(),
        },
    };
    format!(" ({})", render::text(&place))
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let decider = Decider::new(env, &args.policy.policies, false)?;
    let policy = &decider.policy;
    let warnings = decider.warnings();
    let mut out = anstream::stdout();
    let summaries = policy.summaries();
    let in_layer =
        |layer: Layer| -> Vec<&Summary> { summaries.iter().filter(|s| s.layer == layer).collect() };
    let (default, opaque) = policy.defaults();
    if args.json {
        let layers: Vec<serde_json::Value> = Layer::ALL
            .iter()
            .map(|&layer| {
                let files = in_layer(layer);
                json!({
                    "layer": layer.as_str(),
                    "origin": decider.sources.layer(layer).map(|l| l.origin.clone()),
                    "off": layer == Layer::Builtin && policy.builtin_off().is_some(),
                    "rules": files.iter().map(|f| f.rules).sum::<usize>(),
                    "files": files.iter().map(|f| json!({
                        "path": f.origin,
                        "rules": f.rules,
                        "dropped": f.dropped,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut value = json!({
            "layers": layers,
            "rules_in_force": policy.rules().len(),
            "default": default,
            "opaque": opaque,
            "digest": format!("sha256:{}", policy.digest()),
            "warnings": warnings,
        });
        if args.rules {
            value["rules"] = policy
                .rules()
                .iter()
                .map(|rule| {
                    json!({
                        "id": rule.id,
                        "decision": rule.decision,
                        "layer": rule.layer.as_str(),
                        "origin": rule.origin,
                        "description": rule.description,
                    })
                })
                .collect();
        }
        writeln!(out, "{}", render::json_line(&value))?;
        return Ok(Exit::Success);
    }
    for warning in &warnings {
        eprintln!("gatekeep: warning: {warning}");
    }
    for layer in Layer::ALL {
        let files = in_layer(layer);
        let origin = decider
            .sources
            .layer(layer)
            .map_or_else(String::new, |l| format!(" ({})", render::text(&l.origin)));
        if files.is_empty() {
            writeln!(out, "{layer}: none{}", absent(layer, env, &decider))?;
            continue;
        }
        if layer == Layer::Builtin
            && let Some(at) = policy.builtin_off()
        {
            writeln!(
                out,
                "{layer}{origin}: off (`builtin: false` at {})",
                render::text(at)
            )?;
            continue;
        }
        let rules: usize = files.iter().map(|f| f.rules).sum();
        writeln!(
            out,
            "{layer}{origin}: {}, {}",
            plural(files.len(), "file"),
            plural(rules, "rule")
        )?;
        for file in files {
            let dropped = if file.dropped > 0 {
                format!(" ({} dropped)", file.dropped)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {}  {}{dropped}",
                render::text(&file.origin),
                plural(file.rules, "rule")
            )?;
        }
    }
    writeln!(
        out,
        "in force: {}  default: {default}  opaque: {opaque}",
        plural(policy.rules().len(), "rule")
    )?;
    writeln!(out, "digest: sha256:{}", policy.digest())?;
    if args.rules {
        writeln!(out)?;
        let rules: Vec<_> = policy.rules().iter().collect();
        let width = rules
            .iter()
            .map(|r| r.id.chars().count())
            .max()
            .unwrap_or(0);
        for rule in rules {
            writeln!(
                out,
                "{:<width$}  {:<9}  {:<13}  {}",
                render::text(&rule.id),
                rule.decision.as_str(),
                rule.layer.name(),
                render::text(&rule.origin),
            )?;
        }
    }
    Ok(Exit::Success)
}
