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
    // git's own options come before its subcommand (`git -C . config …`).
    let args = if program == "git" {
        let mut i = 0;
        while let Some(arg) = args.get(i).filter(|a| a.starts_with('-')) {
            let takes_value = matches!(
                *arg,
                "-C" | "-c"
                    | "--git-dir"
                    | "--work-tree"
                    | "--namespace"
                    | "--config-env"
                    | "--attr-source"
                    | "--super-prefix"
            );
            i += if takes_value { 2 } else { 1 };
        }
        &args[i.min(args.len())..]
    } else {
        args
    };
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
        // The current context (cluster, user, namespace) every later kubectl command uses.
        "kubectl" | "oc" => {
            // Words that are not options, nor the values of kubectl's own value options.
            let mut words: Vec<&str> = Vec::new();
            let mut skip = false;
            for arg in args {
                if std::mem::take(&mut skip) {
                    continue;
                }
                if arg.starts_with('-') {
                    skip = !arg.contains('=')
                        && matches!(
                            *arg,
                            "--kubeconfig"
                                | "--context"
                                | "--cluster"
                                | "--user"
                                | "-n"
                                | "--namespace"
                                | "-s"
                                | "--server"
                                | "--token"
                                | "--as"
                                | "--as-group"
                                | "--request-timeout"
                        );
                    continue;
                }
                words.push(arg);
            }
            (words.first() == Some(&"config")
                && words.get(1).is_some_and(|w| {
                    matches!(
                        *w,
                        "use-context"
                            | "use"
                            | "set-context"
                            | "set-cluster"
                            | "set-credentials"
                            | "set"
                            | "unset"
                            | "delete-context"
                            | "delete-cluster"
                            | "rename-context"
                    )
                }))
            .then_some("kubectl")
        }
        _ => None,
    }
}

/// The state of one command line as its commands run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LineState {
    /// Files written so far (normalised; relative ones as written), and directories written
    /// into (everything under them counts).
    written: Vec<String>,
    /// Some file was written whose name is known only at run time.
    written_unknown: bool,
    /// Programs whose configuration changed.
    configured: BTreeSet<&'static str>,
    /// Symbolic links the line made (normalised like `written`): a path through one names
    /// whatever the link points at.
    links: Vec<String>,
    /// What went into each file the line wrote (normalised like `written`): the words and
    /// input files of the command that wrote it (`cp ~/.ssh/id_rsa notes.txt`).
    sources: Vec<(String, Vec<Arg>)>,
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
    /// Records what went into the files the command (`argv`, reading `reads`) wrote: a
    /// later command that reads one of them reads that too.
    pub(crate) fn fed_files(
        &mut self,
        argv: &[Arg],
        reads: &[Arg],
        writes: &[Arg],
        cwd: Option<&str>,
    ) {
        let inputs: Vec<Arg> = argv[1..]
            .iter()
            .filter(|a| a.known && !a.text.starts_with('-'))
            .chain(reads)
            .cloned()
            .collect();
        if inputs.is_empty() {
            return;
        }
        for target in writes.iter().filter(|t| t.known) {
            let file = key(&target.text, cwd);
            let inputs = inputs.iter().filter(|a| a.text != target.text).cloned();
            match self.sources.iter_mut().find(|(f, _)| *f == file) {
                Some((_, known)) => known.extend(inputs),
                None => self.sources.push((file, inputs.collect())),
            }
        }
    }

    /// What went into the files among `words` (in `cwd`) that the line wrote earlier.
    pub(crate) fn sources_of(&self, words: &[&Arg], cwd: Option<&str>) -> Vec<Arg> {
        let mut out = Vec::new();
        if self.sources.is_empty() {
            return out;
        }
        for word in words.iter().filter(|w| w.known) {
            let file = key(&word.text, cwd);
            if let Some((_, inputs)) = self.sources.iter().find(|(f, _)| *f == file) {
                out.extend(inputs.iter().cloned());
            }
        }
        out
    }

    pub(crate) fn after(&mut self, program: &str, argv: &[Arg], cwd: Option<&str>) {
        let args: Vec<&str> = argv[1..].iter().map(|a| a.text.as_str()).collect();
        if let Some(configured) = configures(program, &args) {
            self.configured.insert(configured);
        }
        let symbolic = program == "ln"
            && args.iter().any(|a| {
                *a == "--symbolic"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('s'))
            });
        for target in written_by(program, &argv[1..]) {
            match target {
                Some(arg) => {
                    if symbolic && arg.known {
                        self.links.push(key(&arg.text, cwd));
                    }
                    self.wrote(&arg, cwd)
                }
                None => self.written_unknown = true,
            }
        }
    }

    /// The symbolic link the line made that `path` (in `cwd`) goes through, if any.
    pub(crate) fn through_link(&self, path: &str, cwd: Option<&str>) -> Option<&str> {
        // Most lines make no link: no path to normalise then.
        if self.links.is_empty() {
            return None;
        }
        let path = key(path, cwd);
        self.links
            .iter()
            .find(|link| {
                path.strip_prefix(link.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            })
            .map(String::as_str)
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
        // Reading the cluster (what a context switch is usually for) changes nothing there.
        let reads_cluster = || {
            let verb = argv[1..]
                .iter()
                .find(|a| a.known && !a.text.starts_with('-'))
                .map(|a| a.text.as_str());
            argv[1..].iter().all(|a| a.known)
                && matches!(
                    verb,
                    Some(
                        "get"
                            | "describe"
                            | "logs"
                            | "top"
                            | "explain"
                            | "api-resources"
                            | "api-versions"
                            | "version"
                            | "cluster-info"
                            | "events"
                    )
                )
        };
        if let Some(configured) = names
            .iter()
            .find_map(|n| self.configured.iter().find(|c| **c == n.as_str()))
            .filter(|c| !(**c == "kubectl" && reads_cluster()))
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

/// Whether a word given to sudo asks it to edit files: `-e`, `--edit`, or `e` in a bundle
/// of flags before any option that takes a value (`-Ae`).
fn sudo_edits(word: &str) -> bool {
    if word == "--edit" {
        return true;
    }
    let Some(letters) = word.strip_prefix('-').filter(|l| !l.starts_with('-')) else {
        return false;
    };
    for c in letters.chars() {
        if c == 'e' {
            return true;
        }
        if "ugCDhprtTUc".contains(c) {
            return false;
        }
    }
    false
}

/// The files a sed script writes with `w FILE` or the `w FILE` flag of `s`: GNU sed reads
/// the name to the end of the line.
fn sed_writes(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in script.lines() {
        for command in line.split(';') {
            let command = command.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c.is_whitespace() || matches!(c, ',' | '$' | '!' | '{' | '}')
            });
            let mut chars = command.chars();
            match (chars.next(), chars.next()) {
                (Some('w' | 'W'), Some(c)) if c.is_whitespace() => {
                    // The rest of the line, `;` included, is the name.
                    let at = line.find(command).map_or(0, |i| i + 1);
                    out.push(line[at..].trim().to_owned());
                    break;
                }
                (Some('s'), Some(delimiter)) if !delimiter.is_alphanumeric() => {
                    let parts: Vec<&str> = command[1 + delimiter.len_utf8()..]
                        .splitn(3, delimiter)
                        .collect();
                    if let Some(flags) = parts.get(2)
                        && let Some(at) = flags.find('w')
                        && flags[..at].chars().all(|c| c.is_ascii_alphanumeric())
                    {
                        let rest = &line[line.find(flags).unwrap_or(0) + at + 1..];
                        out.push(rest.trim().to_owned());
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    // Any `w NAME` after a non-word character (an address such as `/re/` or `1~2`, a
    // delimiter, `;`): read as a write, which can only hold more back.
    for line in script.lines() {
        for (at, _) in line.match_indices(['w', 'W']) {
            let before = line[..at].chars().next_back();
            let after = line[at + 1..].chars().next();
            // A letter before it makes a word (`sw`, a flag of `s` is read above); a digit is
            // an address (`1~1w`).
            if before.is_none_or(|c| !c.is_alphabetic() && c != '_')
                && after.is_some_and(char::is_whitespace)
            {
                out.push(line[at + 1..].trim().to_owned());
            }
        }
    }
    out.retain(|f| !f.is_empty() && f != "/dev/stdout" && f != "/dev/stderr");
    out.dedup();
    out
}

/// The files an awk program's `print … > FILE` and `printf … >> FILE` write: a string
/// literal is that file, anything else a file only known at run time. (`print | "cmd"`
/// runs a command, which the awk handler makes opaque.)
fn awk_writes(program: &str) -> Vec<Option<Arg>> {
    let mut out = Vec::new();
    let mut rest = program;
    while let Some(at) = rest.find("print") {
        let statement = &rest[at..];
        let end = statement.find([';', '}', '\n']).unwrap_or(statement.len());
        let statement = &statement[..end];
        if let Some(arrow) = statement.find('>') {
            let target = statement[arrow..].trim_start_matches('>').trim();
            let number = target
                .split_whitespace()
                .next()
                .filter(|t| t.chars().all(|c| c.is_ascii_digit()));
            out.push(
                match target.strip_prefix('"').and_then(|t| t.split_once('"')) {
                    Some((name, _)) if !name.contains('\\') => Some(Arg::literal(name)),
                    // `print $1 > 5` writes the file `5`.
                    _ if number.is_some() => number.map(Arg::literal),
                    _ => Some(Arg::dynamic(target)),
                },
            );
        }
        rest = &rest[at + 5..];
    }
    out
}

/// Files written in bulk into the directories given (each as `DIR/`), or into the
/// working directory when none is.
fn into_directory(directories: Vec<Option<Arg>>) -> Vec<Option<Arg>> {
    if directories.is_empty() {
        return vec![None];
    }
    directories
        .into_iter()
        .map(|dir| {
            dir.map(|d| Arg {
                text: format!("{}/", d.text.trim_end_matches('/')),
                ..d
            })
        })
        .collect()
}

/// The file a download into directory `dir` creates: named after the last URL's path, or
/// the directory itself when the name is not known.
fn in_directory(dir: Arg, operands: &[&Arg]) -> Arg {
    let dir_text = dir.text.trim_end_matches('/');
    let name = operands
        .iter()
        .rev()
        .find(|a| a.text.contains("://"))
        .filter(|a| a.known)
        .and_then(|url| {
            let path = url.text.split(['?', '#']).next().unwrap_or_default();
            let after_host = path.split_once("://").map(|(_, rest)| rest)?;
            let (_, file) = after_host.split_once('/')?;
            file.rsplit('/')
                .next()
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
        });
    Arg {
        text: match name {
            Some(name) => format!("{dir_text}/{name}"),
            None => format!("{dir_text}/"),
        },
        ..dir
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
                // GNU getopt takes an unambiguous abbreviation of a long option
                // (`--target=` is `--target-directory=`); any abbreviation counts here.
                let long_given = arg
                    .text
                    .strip_prefix("--")
                    .map(|given| given.split_once('=').map_or(given, |(n, _)| n))
                    .filter(|given| {
                        given.len() >= 3
                            && name.len() > 2 + given.len()
                            && name.starts_with("--")
                            && name[2..].starts_with(given)
                    });
                if let Some(given) = long_given {
                    match arg.text.split_once('=') {
                        Some((_, value)) => out.push(Some(Arg {
                            text: value.to_owned(),
                            ..arg.clone()
                        })),
                        None if arg.text.len() == 2 + given.len() => {
                            out.push(args.get(i + 1).cloned())
                        }
                        None => {}
                    }
                    continue;
                }
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
        "tee" | "touch" | "truncate" | "mkfifo" => {
            operands.into_iter().cloned().map(Some).collect()
        }
        // mknod NAME TYPE [MAJOR MINOR]: the node is made at NAME.
        "mknod" => operands
            .first()
            .map(|a| Some((*a).clone()))
            .into_iter()
            .collect(),
        "sort" => value_of(&["-o", "--output"]),
        "base64" | "gbase64" | "iconv" | "gpg" | "gpg2" | "pandoc" => value_of(&["-o", "--output"]),
        "find" | "bfs" => value_of(&["-fprint", "-fprint0", "-fprintf", "-fls"]),
        "openssl" => value_of(&["-out", "-keyout"]),
        "uniq" | "xxd" => operands
            .get(1)
            .map(|a| Some((*a).clone()))
            .into_iter()
            .collect(),
        "yq" if args.iter().any(|a| a.text == "--inplace" || a.text == "-i") => operands
            .last()
            .map(|a| Some((*a).clone()))
            .into_iter()
            .collect(),
        "wget" if !value_of(&["-P", "--directory-prefix"]).is_empty() => {
            value_of(&["-P", "--directory-prefix"])
                .into_iter()
                .map(|dir| dir.map(|d| in_directory(d, &operands)))
                .collect()
        }
        "sed" | "gsed" => {
            let in_place = args.iter().any(|a| {
                a.text.starts_with("-i")
                    || a.text.starts_with("--in-place")
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('i'))
            });
            let mut out: Vec<Option<Arg>> = if in_place {
                operands
                    .iter()
                    .skip(1)
                    .map(|a| Some((*a).clone()))
                    .collect()
            } else {
                Vec::new()
            };
            // `w FILE` and `s///w FILE` write files of their own.
            for script in args.iter().filter(|a| a.known) {
                let text = script.text.as_str();
                let text = text
                    .strip_prefix("--expression=")
                    .or_else(|| text.strip_prefix("-e").filter(|t| !t.is_empty()))
                    .unwrap_or(text);
                out.extend(sed_writes(text).into_iter().map(|f| Some(Arg::literal(f))));
            }
            out
        }
        "perl"
            if args
                .iter()
                .any(|a| a.text.starts_with("-i") || a.text == "--in-place") =>
        {
            operands.into_iter().skip(1).cloned().map(Some).collect()
        }
        "awk" | "gawk" | "mawk" | "nawk" => args
            .iter()
            .filter(|a| a.known && a.text.contains("print"))
            .flat_map(|a| awk_writes(&a.text))
            .collect(),
        "cp" | "mv" | "install" | "ln" | "rsync" | "scp" => {
            let directories = value_of(&["-t", "--target-directory"]);
            let (sources, destinations): (Vec<&Arg>, Vec<Option<Arg>>) = if directories.is_empty() {
                let Some((last, sources)) = operands.split_last() else {
                    return Vec::new();
                };
                (sources.to_vec(), vec![Some((*last).clone())])
            } else {
                // The operands are all sources (the directory's value is among them).
                let values: Vec<&str> = directories
                    .iter()
                    .flatten()
                    .map(|d| d.text.as_str())
                    .collect();
                let sources = operands
                    .iter()
                    .copied()
                    .filter(|a| !values.contains(&a.text.as_str()))
                    .collect();
                (sources, directories.clone())
            };
            let mut out = destinations.clone();
            let parents = args.iter().any(|a| a.text == "--parents");
            // `-T`: the destination is the directory the source's contents fill.
            let into_itself = args.iter().any(|a| {
                a.text == "--no-target-directory"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('T'))
            });
            if into_itself {
                out.extend(destinations.iter().flatten().map(|d| {
                    Some(Arg {
                        text: format!("{}/", d.text.trim_end_matches('/')),
                        ..d.clone()
                    })
                }));
            }
            // A destination may be a directory: each source lands there under its name
            // (with `--parents`, under its whole path).
            for destination in destinations.into_iter().flatten() {
                for source in &sources {
                    let name = if parents {
                        source.text.trim_start_matches('/')
                    } else {
                        source.text.rsplit(['/', ':']).next().unwrap_or_default()
                    };
                    if source.known && !name.is_empty() && name != "." && name != ".." {
                        out.push(Some(Arg {
                            text: format!("{}/{name}", destination.text.trim_end_matches('/')),
                            ..destination.clone()
                        }));
                    }
                }
            }
            out
        }
        // Deleting a file changes it as much as writing it; a tree, everything under it.
        "rm" | "unlink" | "shred" | "srm" | "rmdir" => operands
            .iter()
            .flat_map(|a| {
                let inside = Arg {
                    text: format!("{}/", a.text.trim_end_matches('/')),
                    ..(*a).clone()
                };
                [Some((*a).clone()), Some(inside)]
            })
            .collect(),
        "sudoedit" => operands.into_iter().cloned().map(Some).collect(),
        "sudo" if args.iter().any(|a| sudo_edits(&a.text)) => {
            operands.into_iter().cloned().map(Some).collect()
        }
        "gcc" | "cc" | "clang" | "g++" | "c++" | "clang++" | "tcc" | "ld" | "as" | "rustc" => {
            value_of(&["-o", "--output"])
        }
        // `patch -o FILE` writes there; without it, the files its input names.
        "patch" if !value_of(&["-o", "--output"]).is_empty() => value_of(&["-o", "--output"]),
        "go" if first == "build" => value_of(&["-o"]),
        "sponge" => operands.into_iter().cloned().map(Some).collect(),
        "ddrescue" => operands
            .get(1)
            .map(|a| Some((*a).clone()))
            .into_iter()
            .collect(),
        "qemu-img" if first == "convert" => operands
            .last()
            .map(|a| Some((*a).clone()))
            .into_iter()
            .collect(),
        "dd" | "dcfldd" | "dc3dd" => args
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
            out.extend(
                value_of(&["--output-dir"])
                    .into_iter()
                    .map(|dir| dir.map(|d| in_directory(d, &operands))),
            );
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
        "tar" | "bsdtar"
            if args.iter().any(|a| {
                a.text == "--create"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('c'))
            }) || (!first.starts_with('-') && first.contains('c')) =>
        {
            let mut out = value_of(&["-f", "--file"]);
            // Old style: `tar cf FILE …` takes the file from the next word.
            if out.is_empty() && !first.starts_with('-') && first.contains('f') {
                out.extend(args.get(1).map(|a| Some(a.clone())));
            }
            out
        }
        // Extracting, cloning, applying or installing writes files no one listed.
        // Extracted into a named directory: what lands there is unknown, the directory is
        // not (`tar -x -C ~/.ssh`).
        "unzip" => into_directory(value_of(&["-d"])),
        "7z" | "cpio" | "patch" => vec![None],
        "tar" | "bsdtar"
            if args.iter().any(|a| {
                a.text == "--extract"
                    || a.text == "--get"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('x'))
            }) || (!first.starts_with('-') && first.contains('x')) =>
        {
            into_directory(value_of(&["-C", "--directory"]))
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
