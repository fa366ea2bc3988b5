//! `gatekeep policy init`: a commented starter policy file that adds to the library.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::PathBuf;

use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::policy::{PROJECT_DIR, project_root};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the repository's file (.gatekeep/policies/project.yaml at the root of the
    /// repository holding the working directory) instead of the user's.
    #[arg(long)]
    pub project: bool,
    /// Overwrite the file when it exists.
    #[arg(long)]
    pub force: bool,
}

/// The user's starter file.
pub const USER_STARTER: &str = "\
# Your own gatekeep policy. It adds to the built-in rule library, the
# administrator's policies and the project's: for every command the strictest
# decision of all of them wins.
#
#   gatekeep policy list --rules   every rule in force and where it comes from
#   gatekeep policy show ID        one rule as written
#   gatekeep check -- CMD ARGS     what a command would meet
version: 1

# Leave single built-in rules out by id (an unknown id is an error):
# drop: [ID]

rules: []
# Rules you add, for example:
#  - id: ask-before-publishing
#    description: publishing a package needs a reviewer
#    decision: approve
#    match:
#      program: npm
#      args: [publish]
";

/// The project's starter file.
pub const PROJECT_STARTER: &str = "\
# This repository's gatekeep policy. It adds to the built-in rule library, the
# administrator's and each user's policies: for every command the strictest
# decision of all of them wins. A project file can only add holds (approve,
# supervise or deny rules): it cannot allow, drop rules or switch the library off.
#
#   gatekeep policy list --rules   every rule in force and where it comes from
#   gatekeep check -- CMD ARGS     what a command would meet
version: 1

rules: []
# Rules you add, for example:
#  - id: ask-before-deploying
#    description: deploying from this repository needs a reviewer
#    decision: approve
#    match:
#      program: make
#      args: [deploy]
";

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (path, text) = if args.project {
        let cwd = PathBuf::from(env.context(false).cwd);
        let root = project_root(&cwd).ok_or_else(|| {
            UserError::new(format!("{} is not inside a git repository", cwd.display()))
                .hint("project policies live at a repository's root; run this inside one, or drop --project")
                .kind("usage")
        })?;
        (root.join(PROJECT_DIR).join("project.yaml"), PROJECT_STARTER)
    } else {
        (
            Paths::from_env(env).user_policies.join("local.yaml"),
            USER_STARTER,
        )
    };
    // The repository is the agent's to write: a link planted at `.gatekeep`, its
    // `policies` or the file would send the starter text over another layer's file.
    if args.project {
        let policies = path.parent().unwrap_or(&path);
        let dot = policies.parent().unwrap_or(policies);
        for part in [dot, policies, path.as_path()] {
            if part
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                return Err(UserError::new(format!(
                    "{} is a symbolic link; nothing was written",
                    part.display()
                ))
                .hint(
                    "project policies are regular files in a real directory: remove the link first",
                )
                .kind("usage")
                .into());
            }
        }
    }
    if !args.force && path.symlink_metadata().is_ok() {
        return Err(UserError::new(format!("{} already exists", path.display()))
            .hint("pass --force to overwrite it")
            .kind("usage")
            .into());
    }
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        if !args.project {
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| {
            UserError::new(format!("cannot create {}: {e}", dir.display()))
                .hint("check the directory's permissions")
        })?;
    }
    // A project's file never through a link that appeared since (O_NOFOLLOW); no file
    // over one that appeared without --force (O_EXCL).
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.project {
        options.custom_flags(libc::O_NOFOLLOW);
    }
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| {
            UserError::new(format!("cannot write {}: {e}", path.display()))
                .hint("check the directory's permissions")
        })?;
    let mut out = anstream::stdout();
    writeln!(out, "wrote {}", render::text(&path.display().to_string()))?;
    writeln!(
        out,
        "it adds to the built-in library; `gatekeep policy list` shows every layer"
    )?;
    Ok(Exit::Success)
}
