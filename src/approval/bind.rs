//! What an approval binds, computed on the requester's host: the facts of a command (its
//! program, every other program and script file it runs, the variables that steer it), the
//! pinned [`Launch`] that makes the exec run exactly the program hashed, and how two sets
//! of facts differ.
//!
//! The same function computes the facts when a request is filed (by `run` or by a hook)
//! and again at consume time, just before the grant is used: a file or a variable that
//! changed in between gives other facts, another digest, and a refusal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CommandFacts;
use crate::child::{self, Launch};
use crate::pin::{self, PinError, Requester};
use crate::policy::SecretUse;
use crate::redact::Redactor;
use crate::shell::{self, Analysis};

/// A command as it is about to be approved or run.
pub struct Subject<'a> {
    /// The argument vector as given (not redacted).
    pub argv: &'a [String],
    pub cwd: &'a str,
    /// argv[0], resolved like `execvp`.
    pub program: &'a Path,
    /// The caller's environment.
    pub env: &'a BTreeMap<String, String>,
    /// The analysis of `argv`.
    pub analysis: &'a Analysis,
    /// Variables the command receives as secrets (left out of the bound environment).
    pub released: &'a [SecretUse],
    /// Variables the matched rules name.
    pub named: &'a [String],
    /// Of those, the ones only a project's rules name (bound as digests).
    pub digested: &'a [String],
}

/// The facts of a command and the launch that runs exactly the program they name.
#[derive(Debug)]
pub struct Bound {
    pub facts: CommandFacts,
    pub launch: Launch,
}

/// Pins the program (and the files it reads by path) and computes the facts of `subject`.
pub fn bind(
    subject: &Subject<'_>,
    requester: &Requester,
    redactor: &Redactor,
) -> Result<Bound, PinError> {
    let cwd = Path::new(subject.cwd);
    let commands = &subject.analysis.commands;
    // The command itself is the analysis' first; its script operands are pinned with it.
    let top = commands.first().filter(|c| {
        c.argv.len() == subject.argv.len()
            && c.argv
                .iter()
                .zip(subject.argv)
                .all(|(a, b)| a.known && &a.text == b)
    });
    let operands = top.map(|c| c.scripts.clone()).unwrap_or_default();
    let launch = Launch::prepare(subject.program, subject.argv, &operands, cwd, requester)?;

    let resolved_path = subject.program.display().to_string();
    let mut programs = BTreeMap::new();
    let mut scripts = BTreeMap::new();
    for (path, hash) in &launch.interpreters {
        programs.insert(path.display().to_string(), hash.clone());
    }
    // `#!/usr/bin/env NAME`: env runs NAME from PATH.
    for (interpreter, argument) in launch.interpreters.iter().zip(&launch.interpreter_args) {
        if interpreter.0.file_name().is_some_and(|n| n == "env")
            && let Some(name) = argument.as_deref().and_then(env_target)
            && let Ok(path) = child::resolve(name, subject.env.get("PATH").map(String::as_str), cwd)
        {
            insert_hashed(&mut programs, &path);
        }
    }
    for (path, hash) in &launch.scripts {
        scripts.insert(path.display().to_string(), hash.clone());
    }
    for (index, command) in commands.iter().enumerate() {
        // The command itself is pinned above; commands sent to another host do not run
        // here.
        if (index == 0 && top.is_some()) || command.host.is_some() {
            continue;
        }
        if let Some(path) = program_path(command, cwd) {
            insert_hashed(&mut programs, &path);
        }
        for &word in &command.scripts {
            if let Some(path) = operand_path(command, word, cwd) {
                insert_hashed(&mut scripts, &path);
            }
        }
    }
    programs.remove(&resolved_path);
    let facts = CommandFacts {
        argv: redactor.argv(subject.argv),
        cwd: subject.cwd.to_owned(),
        resolved_path,
        binary_sha256: launch.program.1.clone(),
        env: crate::secrets::bound_env(
            subject.env,
            subject.released,
            subject.named,
            subject.digested,
            redactor,
        ),
        programs,
        scripts,
    };
    Ok(Bound { facts, launch })
}

/// Adds `path` and its hash; a file that is not there (yet) is left out, one that cannot
/// be read is bound by its path alone.
fn insert_hashed(map: &mut BTreeMap<String, String>, path: &Path) {
    let hash = match pin::hash_path(path) {
        None => return,
        Some(Ok(hash)) => hash,
        Some(Err(_)) => "unreadable".to_owned(),
    };
    map.insert(path.display().to_string(), hash);
}

/// The directory `command` runs in, when known.
fn command_dir(command: &shell::Command, cwd: &Path) -> Option<PathBuf> {
    if command.cwd_unknown {
        return None;
    }
    Some(match &command.cwd {
        Some(dir) => cwd.join(dir),
        None => cwd.to_owned(),
    })
}

fn normalized(path: &Path) -> PathBuf {
    PathBuf::from(shell::normalize_path(&path.to_string_lossy()))
}

/// The file an analysed command runs.
fn program_path(command: &shell::Command, cwd: &Path) -> Option<PathBuf> {
    let name = &command.argv.first()?.text;
    if name.contains('/') {
        return Some(normalized(&command_dir(command, cwd)?.join(name)));
    }
    command.paths.first().map(|p| normalized(Path::new(p)))
}

/// The file the word `index` of `command` names.
fn operand_path(command: &shell::Command, index: usize, cwd: &Path) -> Option<PathBuf> {
    let word = &command.argv.get(index)?.text;
    Some(normalized(&command_dir(command, cwd)?.join(word)))
}

/// The program `#!/usr/bin/env ARGUMENT` runs: the first word that is neither an option
/// nor an assignment (`-S` splits the argument into words).
fn env_target(argument: &str) -> Option<&str> {
    argument
        .split_whitespace()
        .map(|w| w.strip_prefix("-S").filter(|r| !r.is_empty()).unwrap_or(w))
        .find(|w| !w.starts_with('-') && !w.contains('='))
}

/// How the facts of a command differ from the approved ones, one phrase per difference
/// (names and paths only: values of variables are never shown).
pub fn differences(approved: &CommandFacts, now: &CommandFacts) -> Vec<String> {
    let mut found = Vec::new();
    if approved.argv != now.argv {
        found.push("the arguments differ".to_owned());
    }
    if approved.cwd != now.cwd {
        found.push(format!(
            "the directory differs (approved in {})",
            approved.cwd
        ));
    }
    if approved.resolved_path != now.resolved_path {
        found.push(format!(
            "the program is {} (approved: {})",
            now.resolved_path, approved.resolved_path
        ));
    } else if approved.binary_sha256 != now.binary_sha256 {
        found.push(format!("{} changed", now.resolved_path));
    }
    let files = |what: &str, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| {
        let mut out = Vec::new();
        for (path, hash) in b {
            match a.get(path) {
                Some(approved) if approved == hash => {}
                Some(_) => out.push(format!("{path} changed")),
                None => out.push(format!("{what} {path}, which was not there when approved")),
            }
        }
        for path in a.keys().filter(|p| !b.contains_key(*p)) {
            out.push(format!("{path} is gone"));
        }
        out
    };
    found.extend(files("it now runs", &approved.programs, &now.programs));
    found.extend(files("it now reads", &approved.scripts, &now.scripts));
    for (name, value) in &now.env {
        match approved.env.get(name) {
            Some(approved) if approved == value => {}
            Some(_) => found.push(format!("{name} differs")),
            None => found.push(format!("{name} is set but was not when approved")),
        }
    }
    for name in approved.env.keys().filter(|n| !now.env.contains_key(*n)) {
        found.push(format!("{name} was set when approved but is not now"));
    }
    found
}

/// Shell assignments that give a command the approved values of the bound variables
/// shown in clear (`NAME='value' …`), for a command line run later in another shell (the
/// hook's rewrite). Values bound by their hash only are not repeated: the later run
/// checks them.
pub fn assignments(env: &BTreeMap<String, String>) -> Vec<String> {
    let valid = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    env.iter()
        .filter(|(name, value)| valid(name) && !value.starts_with("sha256:"))
        .filter_map(|(name, value)| Some(format!("{name}={}", shlex::try_quote(value).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CommandFacts {
        CommandFacts {
            argv: vec!["bash".into(), "-c".into(), "./bin/tool".into()],
            cwd: "/srv".into(),
            resolved_path: "/usr/bin/bash".into(),
            binary_sha256: "aa".into(),
            env: [
                ("PATH".into(), "/usr/bin".into()),
                ("PGHOST".into(), "db".into()),
            ]
            .into(),
            programs: [("/srv/bin/tool".into(), "11".into())].into(),
            scripts: BTreeMap::new(),
        }
    }

    #[test]
    fn differences_name_what_changed_without_values() {
        let approved = facts();
        assert!(differences(&approved, &approved).is_empty());
        let mut now = facts();
        now.programs.insert("/srv/bin/tool".into(), "22".into());
        now.programs.insert("/usr/bin/pg_dump".into(), "33".into());
        now.env.insert("PGHOST".into(), "elsewhere".into());
        now.env.remove("PATH");
        now.env.insert("KUBECONFIG".into(), "sha256:44".into());
        assert_eq!(
            differences(&approved, &now),
            [
                "/srv/bin/tool changed",
                "it now runs /usr/bin/pg_dump, which was not there when approved",
                "KUBECONFIG is set but was not when approved",
                "PGHOST differs",
                "PATH was set when approved but is not now",
            ]
        );
    }

    #[test]
    fn assignments_repeat_clear_values_only() {
        let env: BTreeMap<String, String> = [
            ("PATH", "/opt/my bin:/usr/bin"),
            ("AWS_SESSION_TOKEN", "sha256:abcd"),
            ("BASH_FUNC_x%%", "() { :; }"),
            ("PGHOST", "db"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            assignments(&env),
            ["PATH='/opt/my bin:/usr/bin'", "PGHOST=db"]
        );
    }

    #[test]
    fn env_shebang_targets() {
        assert_eq!(env_target("python3"), Some("python3"));
        assert_eq!(env_target("-S bash -e"), Some("bash"));
        assert_eq!(env_target("-Snode --harmony"), Some("node"));
        assert_eq!(env_target("-i FOO=1 ruby"), Some("ruby"));
        assert_eq!(env_target("-"), None);
    }
}
