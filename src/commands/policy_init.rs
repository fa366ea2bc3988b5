//! `gatekeep policy init`: a commented starter policy file that adds to the library.

use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

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
# decision of all of them wins. A project file can only add holds (approve or
# deny rules): it cannot allow, supervise, drop rules or switch the library off.
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
    if args.project {
        write_in_repository(&path, text, args.force)?;
    } else {
        write_users(&path, text, args.force)?;
    }
    let mut out = anstream::stdout();
    writeln!(out, "wrote {}", render::text(&path.display().to_string()))?;
    writeln!(
        out,
        "it adds to the built-in library; `gatekeep policy list` shows every layer"
    )?;
    Ok(Exit::Success)
}

fn exists(path: &Path) -> UserError {
    UserError::new(format!("{} already exists", path.display()))
        .hint("pass --force to overwrite it")
        .kind("usage")
}

/// The user's file, in a directory only they may enter (0700).
fn write_users(path: &Path, text: &str, force: bool) -> Result<(), UserError> {
    if !force && path.symlink_metadata().is_ok() {
        return Err(exists(path));
    }
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                UserError::new(format!("cannot create {}: {e}", dir.display()))
                    .hint("check the directory's permissions")
            })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| {
            UserError::new(format!("cannot write {}: {e}", path.display()))
                .hint("check the directory's permissions")
        })
}

/// The project's file, `ROOT/.gatekeep/policies/project.yaml`. The repository is the
/// agent's to write: a link at `.gatekeep`, `policies` or the file, planted before or
/// while this runs, would send the starter text over another layer's file. Each step is
/// taken from the directory opened before it, never following a link.
fn write_in_repository(path: &Path, text: &str, force: bool) -> Result<(), UserError> {
    use nix::errno::Errno;
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::{Mode, mkdirat};
    let policies = path.parent().unwrap_or(path);
    let dot = policies.parent().unwrap_or(policies);
    let root = dot.parent().unwrap_or(dot);
    let failed = |at: &Path, e: Errno| -> UserError {
        match e {
            Errno::ELOOP | Errno::ENOTDIR => UserError::new(format!(
                "{} is {}; nothing was written",
                at.display(),
                if e == Errno::ELOOP
                    || at
                        .symlink_metadata()
                        .is_ok_and(|m| m.file_type().is_symlink())
                {
                    "a symbolic link"
                } else {
                    "not a directory"
                }
            ))
            .hint("project policies are regular files in a real directory: remove the link first")
            .kind("usage"),
            Errno::EEXIST => exists(at),
            e => UserError::new(format!("cannot write {}: {e}", at.display()))
                .hint("check the directory's permissions"),
        }
    };
    let directory = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir = nix::fcntl::open(root, OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| failed(root, e))?;
    for at in [dot, policies] {
        let name = at.file_name().unwrap_or_default();
        match mkdirat(&dir, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(failed(at, e)),
        }
        dir = openat(&dir, name, directory, Mode::empty()).map_err(|e| failed(at, e))?;
    }
    let mut flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    flags |= if force { OFlag::O_TRUNC } else { OFlag::O_EXCL };
    let name = path.file_name().unwrap_or_default();
    let fd =
        openat(&dir, name, flags, Mode::from_bits_truncate(0o644)).map_err(|e| failed(path, e))?;
    std::fs::File::from(fd)
        .write_all(text.as_bytes())
        .map_err(|e| {
            UserError::new(format!("cannot write {}: {e}", path.display()))
                .hint("check the directory's permissions")
        })
}
