//! `gatekeep policy test`: run every rule's examples through the full engine.

use std::io::Write as _;
use std::path::PathBuf;

use crate::environment::Environment;
use crate::exit::Exit;
use crate::paths::Paths;
use crate::policy::SourceSet;
use crate::policy::{self, Context, ToolCall};
use crate::render;
use crate::shell::{NoResolve, analyze_script};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to test (default: the policies in force).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The fixed context examples run in, so results never depend on the machine.
pub fn test_context() -> Context {
    Context {
        user: "tester".into(),
        host: "testhost".into(),
        cwd: "/home/tester".into(),
        ..Context::default()
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let sources = if args.paths.is_empty() {
        let cwd = PathBuf::from(env.context(false).cwd);
        SourceSet::discover(&Paths::from_env(env), env, &[], &cwd)?
    } else {
        let mut user = Vec::new();
        for path in &args.paths {
            user.extend(
                policy::read_path(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
            );
        }
        SourceSet::single("arguments", user)
    };
    let policy = sources.load()?;
    let mut out = anstream::stdout();
    let (mut passed, mut failed) = (0usize, 0usize);
    for rule in policy.rules().iter() {
        let ctx = Context {
            agent: rule.tests_as_agent,
            ..test_context()
        };
        for (example, expected, origin) in &rule.tests {
            let evaluation = match ToolCall::parse(example) {
                Ok(call) if rule.is_tool_rule() => {
                    policy.evaluate_tool(&call.tool_name, &call.tool_input, &ctx)
                }
                _ => policy.evaluate(&analyze_script(example, &NoResolve), &ctx),
            };
            let exact = evaluation
                .hits
                .iter()
                .any(|h| h.rule == rule.id && !h.unprovable);
            let any = evaluation.hits.iter().any(|h| h.rule == rule.id);
            let ok = if *expected { exact } else { !any };
            if ok {
                passed += 1;
                continue;
            }
            failed += 1;
            let red = anstyle::AnsiColor::Red.on_default().bold();
            let want = if *expected {
                "should match"
            } else {
                "should not match"
            };
            writeln!(
                out,
                "{red}FAIL{red:#} {} {want}: `{}` ({})",
                render::text(&rule.id),
                render::text(example),
                render::text(&origin.to_string())
            )?;
            if !evaluation.opaque.is_empty() {
                writeln!(
                    out,
                    "     cannot analyse: {}",
                    render::inert(&evaluation.opaque.join("; "))
                )?;
            }
        }
    }
    writeln!(out, "policy test: {passed} passed, {failed} failed")?;
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}
