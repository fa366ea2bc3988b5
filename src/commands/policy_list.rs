//! `gatekeep policy list`: the policy sources in force.

use std::io::Write as _;

use crate::cli::PolicyArgs;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let decider = Decider::new(env, &args.policy.policies, false)?;
    let mut out = anstream::stdout();
    let counts = decider.policy.summaries();
    let admin = decider.sources.admin.len();
    if admin == 0 {
        writeln!(out, "administrator: none")?;
    } else {
        writeln!(out, "administrator (always applies):")?;
    }
    for (i, (origin, rules)) in counts.iter().enumerate() {
        if i == admin {
            writeln!(out, "user ({}):", decider.sources.user_origin)?;
        }
        writeln!(
            out,
            "  {origin}  {}",
            crate::render::count(*rules as u64, "rule", "rules")
        )?;
    }
    let (default, opaque) = decider.policy.defaults();
    writeln!(
        out,
        "rules: {}  default: {default}  opaque: {opaque}",
        decider.policy.rules().len()
    )?;
    writeln!(out, "digest: sha256:{}", decider.policy.digest())?;
    Ok(Exit::Success)
}
