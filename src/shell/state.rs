//! What a command line changes on its way that later commands of the same line read: the
//! files it writes (by redirection or by a program's arguments) and the programs whose
//! configuration it changes. A later command that runs such a file, reads it as its script
//! or configuration, or is such a program, does something no one can see on the line: it
//! is opaque.

use std::collections::BTreeSet;

use super::{Arg, normalize_path};

/// Shell start-up files: a shell started after one was written runs what was written.
const SHELL_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".mkshrc",
    "bash.bashrc",
    "zshenv",
    "zshrc",
    "profile",
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish"];

/// Files a program reads by itself, from the working directory or the home directory, that
/// decide what it runs (hooks, aliases, scripts, recipes, build scripts).
fn reads_implicitly(program: &str) -> &'static [&'static str] {
    match program {
        "git" => &[".gitconfig", "config", ".gitattributes", ".gitmodules"],
        "npm" | "npx" | "pnpm" | "yarn" | "bun" => &[
            ".npmrc",
            "package.json",
            ".yarnrc",
            ".yarnrc.yml",
            ".pnpmfile.cjs",
        ],
        "make" | "gmake" => &["Makefile", "makefile", "GNUmakefile"],
        "cargo" => &["config", "config.toml", "build.rs", "Cargo.toml"],
        "pip" | "pip3" => &["pip.conf", "setup.py", "pyproject.toml", "setup.cfg"],
        "python" | "python3" => &["sitecustomize.py", "usercustomize.py"],
        "docker" | "podman" => &["Dockerfile", "Containerfile", "config.json"],
        "terraform" | "tofu" => &[".terraformrc", "terraform.rc"],
        "kubectl" | "helm" => &["config"],
        "ssh" | "scp" | "sftp" => &["config"],
        _ => &[],
    }
}

/// Programs whose configuration a command changes, and how to tell.
fn configures(program: &str, args: &[&str]) -> Option<&'static str> {
    let first = args.first().copied().unwrap_or_default();
    let second = args.get(1).copied().unwrap_or_default();
    match program {
        // `git config NAME VALUE`, `--add`, `--unset`, `set`, …; reading is fine.
        "git" if first == "config" => {
            let reads = args[1..].iter().any(|a| {
                matches!(
                    *a,
                    "--get" | "--get-all" | "--get-regexp" | "-l" | "--list" | "get" | "list"
                )
            });
            (!reads).then_some("git")
        }
        "npm" | "pnpm" | "yarn" | "bun"
            if (matches!(first, "pkg" | "config" | "set")
                && matches!(second, "set" | "delete"))
                || matches!(first, "set-script" | "set") =>
        {
            Some(match program {
                "npm" => "npm",
                "pnpm" => "pnpm",
                "yarn" => "yarn",
                _ => "bun",
            })
        }
        "pip" | "pip3" if first == "config" && matches!(second, "set" | "unset" | "edit") => {
            Some("pip")
        }
        _ => None,
    }
}

/// The state of one command line as its commands run, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineState {
    /// Files written so far (normalised; relative ones as written), and directories written
    /// into (everything under them counts).
    written: Vec<String>,
    /// Some file was written whose name is known only at run time.
    written_unknown: bool,
    /// Programs whose configuration changed.
    configured: BTreeSet<&'static str>,
}

impl LineState {
    /// Records a write to `target` (in `cwd`, when known).
    pub(crate) fn wrote(&mut self, target: &Arg, cwd: Option<&str>) {
        if !target.known || target.free {
            self.written_unknown = true;
            return;
        }
        if matches!(
            target.text.as_str(),
            "/dev/null" | "/dev/stdout" | "/dev/stderr"
        ) {
            return;
        }
        let key = key(&target.text, cwd);
        if !self.written.contains(&key) {
            self.written.push(key);
        }
    }

    /// Records what a command writes by its arguments and whose configuration it changes.
    pub(crate) fn after(&mut self, program: &str, argv: &[Arg], cwd: Option<&str>) {
        let args: Vec<&str> = argv[1..].iter().map(|a| a.text.as_str()).collect();
        if let Some(configured) = configures(program, &args) {
            self.configured.insert(configured);
        }
        for target in written_by(program, &argv[1..]) {
            match target {
                Some(arg) => self.wrote(&arg, cwd),
                None => self.written_unknown = true,
            }
        }
    }

    /// Why the command (program `names[0]`, `argv`, environment values `env`) depends on
    /// what the line wrote or configured before it, if it does.
    /// Whether `file` may have been written earlier in the line.
    pub(crate) fn may_have_written(&self, file: &Arg, cwd: Option<&str>) -> bool {
        if self.written_unknown {
            return true;
        }
        let key = key(&file.text, cwd);
        (!file.known && !self.written.is_empty())
            || self
                .written
                .iter()
                .any(|w| key == *w || key.starts_with(&format!("{w}/")))
    }

    pub(crate) fn depends(
        &self,
        names: &[String],
        argv: &[Arg],
        env: &[(&str, &Arg)],
        scripts: &[usize],
        cwd: Option<&str>,
    ) -> Option<String> {
        let program = names.first().map(String::as_str).unwrap_or_default();
        let first = argv.first()?;
        if let Some(configured) = names
            .iter()
            .find_map(|n| self.configured.iter().find(|c| **c == n.as_str()))
        {
            return Some(format!(
                "`{program}` runs with {configured} configuration changed earlier in the line"
            ));
        }
        if self.written.is_empty() && !self.written_unknown {
            return None;
        }
        let is_written = |text: &str| {
            let key = key(text, cwd);
            self.written
                .iter()
                .any(|w| key == *w || key.starts_with(&format!("{w}/")))
        };
        // The program itself: by path, or by a name a written file has.
        let by_name = !first.text.contains('/')
            && self
                .written
                .iter()
                .any(|w| w.rsplit('/').next() == Some(first.text.as_str()));
        if first.known && (is_written(&first.text) || by_name) {
            return Some(format!(
                "`{}` is a file written earlier in the line",
                first.text
            ));
        }
        if self.written_unknown && first.text.contains('/') {
            return Some(format!(
                "`{}` may be a file written earlier in the line",
                first.text
            ));
        }
        for &index in scripts {
            if let Some(script) = argv.get(index).filter(|a| a.known)
                && (is_written(&script.text) || self.written_unknown)
            {
                return Some(format!(
                    "`{program}` runs `{}`, written earlier in the line",
                    script.text
                ));
            }
        }
        for (name, value) in env {
            // A path, or a plain file name given to a variable that names a file.
            let names_file = value.text.contains('/')
                || ["CONFIG", "FILE", "RC", "HOME", "DIR", "PATH"]
                    .iter()
                    .any(|part| name.to_ascii_uppercase().contains(part));
            if value.known && names_file && is_written(&value.text) {
                return Some(format!(
                    "`{program}` is pointed at `{}`, written earlier in the line",
                    value.text
                ));
            }
        }
        let basenames: Vec<&str> = self
            .written
            .iter()
            .filter_map(|w| w.rsplit('/').next())
            .collect();
        if SHELLS.contains(&program) && basenames.iter().any(|b| SHELL_RC.contains(b)) {
            return Some(format!(
                "`{program}` starts after a shell start-up file was written in the line"
            ));
        }
        if let Some(file) = reads_implicitly(program)
            .iter()
            .find(|f| basenames.contains(f))
        {
            return Some(format!(
                "`{program}` reads `{file}`, written earlier in the line"
            ));
        }
        None
    }
}

/// How a path is compared: absolute and normalised, in the directory when known.
fn key(text: &str, cwd: Option<&str>) -> String {
    if text.starts_with('/') {
        return normalize_path(text);
    }
    match cwd.filter(|c| c.starts_with('/')) {
        Some(cwd) => normalize_path(&format!("{cwd}/{text}")),
        None => normalize_path(text),
    }
}

/// The files a program writes by its arguments (`None`: one whose name is only known at
/// run time, or many: an archive, a clone, an install).
pub(crate) fn written_by(program: &str, args: &[Arg]) -> Vec<Option<Arg>> {
    let operands: Vec<&Arg> = args
        .iter()
        .filter(|a| !a.known || !a.text.starts_with('-'))
        .collect();
    // The values of options `names`, as the next word or after `=`.
    let value_of = |names: &[&str]| -> Vec<Option<Arg>> {
        let mut out = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            for name in names {
                // A short option bundled with flags before it (`-so FILE`, `-soFILE`).
                let short = name.len() == 2 && !name.starts_with("--");
                let bundled = short
                    && arg.text.starts_with('-')
                    && !arg.text.starts_with("--")
                    && arg.text.len() > 2;
                let letter = &name[1..];
                if arg.text == *name {
                    out.push(args.get(i + 1).cloned());
                } else if bundled && let Some(at) = arg.text[1..].find(letter) {
                    let attached = &arg.text[1 + at + 1..];
                    out.push(if attached.is_empty() {
                        args.get(i + 1).cloned()
                    } else {
                        Some(Arg {
                            text: attached.to_owned(),
                            ..arg.clone()
                        })
                    });
                } else if let Some(value) = arg
                    .text
                    .strip_prefix(name)
                    .and_then(|v| v.strip_prefix('='))
                {
                    out.push(Some(Arg {
                        text: value.to_owned(),
                        ..arg.clone()
                    }));
                }
            }
        }
        out
    };
    let first = args.first().map(|a| a.text.as_str()).unwrap_or_default();
    match program {
        "tee" | "touch" | "truncate" => operands.into_iter().cloned().map(Some).collect(),
        "sed" | "perl"
            if args
                .iter()
                .any(|a| a.text.starts_with("-i") || a.text == "--in-place") =>
        {
            operands.into_iter().skip(1).cloned().map(Some).collect()
        }
        "cp" | "mv" | "install" | "ln" | "rsync" | "scp" => {
            let mut out = value_of(&["-t", "--target-directory"]);
            if out.is_empty() {
                out.extend(operands.last().map(|a| Some((*a).clone())));
            }
            out
        }
        "dd" => args
            .iter()
            .filter_map(|a| a.text.strip_prefix("of=").map(|v| (a, v)))
            .map(|(a, v)| {
                Some(Arg {
                    text: v.to_owned(),
                    ..a.clone()
                })
            })
            .collect(),
        "curl" => {
            let mut out = value_of(&["-o", "--output"]);
            if args.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "-O" | "--remote-name" | "--remote-name-all"
                )
            }) {
                out.push(None);
            }
            out
        }
        "wget" => {
            let mut out = value_of(&["-O", "--output-document"]);
            if out.is_empty() {
                out.push(None);
            }
            out
        }
        // Extracting, cloning, applying or installing writes files no one listed.
        "unzip" | "7z" | "cpio" | "patch" => vec![None],
        "tar" | "bsdtar"
            if args.iter().any(|a| {
                a.text == "--extract"
                    || a.text == "--get"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('x'))
            }) || (!first.starts_with('-') && first.contains('x')) =>
        {
            vec![None]
        }
        "git"
            if matches!(
                first,
                "clone" | "checkout" | "apply" | "pull" | "am" | "restore" | "switch" | "merge"
            ) =>
        {
            vec![None]
        }
        "npm" | "pnpm" | "yarn" | "pip" | "pip3" | "cargo"
            if matches!(first, "install" | "i" | "ci" | "add" | "download") =>
        {
            vec![None]
        }
        _ => Vec::new(),
    }
}
