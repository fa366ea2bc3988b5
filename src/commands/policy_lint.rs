//! `gatekeep policy lint`: validate policy files.

use std::io::Write as _;
use std::path::PathBuf;

use crate::environment::Environment;
use crate::exit::Exit;
use crate::paths::Paths;
use crate::policy::{Policy, SourceSet, read_path};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to check (default: the policies in force).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let mut out = anstream::stdout();
    let mut sources = Vec::new();
    let mut unreadable = 0;
    let discovered = if args.paths.is_empty() {
        let cwd = PathBuf::from(env.context(false).cwd);
        Some(SourceSet::discover(&Paths::from_env(env), env, &[], &cwd)?)
    } else {
        None
    };
    for path in &args.paths {
        match read_path(path) {
            Ok(found) => sources.extend(found),
            Err(e) => {
                writeln!(out, "{}: cannot read: {e}", path.display())?;
                unreadable += 1;
            }
        }
    }
    let (files, loaded) = match &discovered {
        Some(set) => (set.files().len(), Policy::load_layers(&set.files())),
        None => (sources.len(), Policy::load(&sources)),
    };
    match loaded {
        Ok(policy) if unreadable == 0 => {
            eprintln!(
                "gatekeep: {} in {}, no problems",
                crate::render::count(policy.rules().len() as u64, "rule", "rules"),
                crate::render::count(files as u64, "file", "files")
            );
            Ok(Exit::Success)
        }
        Ok(_) => Ok(Exit::Error),
        Err(error) => {
            for problem in &error.problems {
                writeln!(out, "{problem}")?;
            }
            eprintln!(
                "gatekeep: {} in {}",
                crate::render::count(
                    (error.problems.len() + unreadable) as u64,
                    "problem",
                    "problems"
                ),
                crate::render::count(files as u64, "file", "files")
            );
            Ok(Exit::Error)
        }
    }
}
