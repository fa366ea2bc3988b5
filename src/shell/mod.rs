//! Shell analysis: turns a command line into the simple commands it will really run.
//!
//! Nothing here matches policy rules; the output is plain data for `policy` to judge.
//! The only IO is program resolution, done through the [`Resolve`] trait so tests can
//! stay hermetic.

mod input;
mod programs;
mod resolve;
mod script;
mod state;
mod words;
mod wrappers;

use std::collections::{BTreeMap, BTreeSet};

pub use resolve::{NoResolve, PathResolver, Resolve, Resolved};

/// Every program name the analysis treats as running other programs: the handlers and the
/// program table's entries (for recognising hard links to them).
pub fn runner_names() -> impl Iterator<Item = &'static str> {
    wrappers::HANDLERS.iter().copied().chain(programs::names())
}

/// Whether the program named `name` runs code its arguments give it: a shell, an
/// interpreter, or a program the analysis reads as running others. Approving "this
/// program, any arguments" for one would approve any code.
pub fn runs_code(name: &str) -> bool {
    wrappers::runs_any_code(name) || runner_names().any(|n| n == name)
}

/// Whether `word` is one of sqlite3's dot-commands that only read or format (`.tables`,
/// `.schema`…), which the `sql:` patterns skip as the sqlite3 handler does.
pub fn sqlite_read_only_dot(word: &str) -> bool {
    wrappers::SQLITE_READ_ONLY_DOT.contains(&word)
}

/// What the program table says of a program's options, for the rule matcher.
#[derive(Clone, Copy, Debug)]
pub struct Grammar {
    /// The entry's position in the table (stable for the life of the binary).
    pub index: usize,
    /// Options that take a value (the next word, or attached).
    pub values: &'static [&'static str],
    /// Options that take no separate value (their value, if any, is attached).
    pub flags: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Every long option has a `--no-` form that takes no value and takes it back; the
    /// last word naming an option decides (git's option parser).
    pub negatable: bool,
}

/// The built-in option grammar of `program`, if the table has one.
pub fn grammar(program: &str) -> Option<Grammar> {
    programs::grammar(program).map(|(index, p)| Grammar {
        index,
        values: p.values,
        flags: p.flags,
        optional: p.optional,
        negatable: p.negatable,
    })
}

/// docs/programs.md, generated from the program table.
pub fn programs_markdown() -> String {
    programs::markdown()
}

/// How many entries the program table has.
pub fn grammar_count() -> usize {
    programs::PROGRAMS.len()
}

/// One word of an analysed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The word after quote removal; for a run-time expansion, its source text (`$HOST`).
    pub text: String,
    /// The text is exactly what the program will receive.
    pub known: bool,
    /// The word may turn into any number of words at run time (an unquoted expansion or
    /// a glob), so nothing about the argument list after it can be proven.
    pub free: bool,
}

impl Arg {
    /// A word whose value is certain.
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            known: true,
            free: false,
        }
    }

    /// A single word whose value is only known at run time.
    pub fn dynamic(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            known: false,
            free: false,
        }
    }
}

/// Changes a command makes to the environment it inherits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvChange {
    /// The inherited environment is dropped (`env -i`, a remote command).
    pub cleared: bool,
    /// Variables set for the command.
    pub set: BTreeMap<String, Arg>,
    /// Variables removed for the command.
    pub unset: BTreeSet<String>,
}

impl EnvChange {
    /// What the command sees for `name`: `Some(Some(arg))` when set here, `Some(None)` when
    /// removed here, `None` when inherited from the caller's environment.
    pub fn lookup(&self, name: &str) -> Option<Option<&Arg>> {
        if let Some(value) = self.set.get(name) {
            Some(Some(value))
        } else if self.cleared || self.unset.contains(name) {
            Some(None)
        } else {
            None
        }
    }
}

/// A simple command as it will be executed, after wrappers and shell syntax are peeled off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Program and arguments.
    pub argv: Vec<Arg>,
    /// Basenames the program answers to: argv[0]'s, its resolved target's, hard links'.
    pub names: Vec<String>,
    /// Absolute paths of the program: as given, PATH-resolved, symlink-resolved.
    pub paths: Vec<String>,
    /// Environment changes on top of the caller's.
    pub env: EnvChange,
    /// Effective user set by `sudo -u`, `su`, `doas`… (`None`: the caller).
    pub user: Option<String>,
    /// Host the command runs on when sent through `ssh` (`None`: this host).
    pub host: Option<String>,
    /// Working directory set by `cd`, `env -C` and the like (`None`: the caller's); a
    /// relative one is relative to the caller's.
    pub cwd: Option<String>,
    /// The working directory was changed to something only known at run time.
    pub cwd_unknown: bool,
    /// Arguments are appended from standard input at run time (`xargs`).
    pub stdin_args: bool,
    /// Variables assigned in front of the command's words (`TMPDIR=/x rm $TMPDIR/y`) that
    /// the shell reading the line never assigned itself: they reach the command's
    /// environment, but the words were expanded with the values from before.
    pub own_assignments: Vec<String>,
    /// The words were read from a script that some program runs (`sh -c`, `ssh`, `sudo
    /// sh -c`…), so a shell started there expanded them, in an environment gatekeep does
    /// not see; otherwise the shell reading the line did, in the caller's environment.
    pub nested: bool,
    /// Indexes into `argv` of files the program reads as code: an interpreter's script
    /// operand (`bash x.sh`, `python3 x.py`), the file `source` reads.
    pub scripts: Vec<usize>,
    /// Files the command writes: its output redirections, and what it writes by its
    /// arguments (`tee FILE`, `dd of=FILE`, the destination of `cp`, `mv`, `install`,
    /// `ln`, `sed -i FILE`, `truncate FILE`…). A target only known at run time is unknown.
    pub writes: Vec<Arg>,
    /// Files whose contents may reach the command: its input redirections (`< FILE`), and
    /// the words and input files of the commands that feed it through a pipe or a command
    /// substitution in its arguments (`cat ~/.ssh/id_rsa | nc host 443`, `curl -d
    /// "$(cat FILE)"`). Words only known at run time are left out.
    pub reads: Vec<Arg>,
    /// What the command reads on standard input, when the line says (`None`: the caller's
    /// standard input).
    pub stdin: Option<Input>,
}

/// Where a command's standard input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Text the line shows: a here-document or here-string without run-time expansions,
    /// the output of a literal `echo` or `printf` piped in.
    Text(String),
    /// A here-document or here-string with run-time expansions, as written: shown, but
    /// only known at run time.
    Expanded(String),
    /// A file (`< FILE`, `cat FILE |`).
    File(Arg),
    /// Something only known at run time (another program's output, an expanded
    /// here-document); the text says what.
    Unknown(String),
}

impl Command {
    /// The words as plain strings, for display.
    pub fn argv_text(&self) -> Vec<String> {
        self.argv.iter().map(|arg| arg.text.clone()).collect()
    }

    /// Whether anything about the arguments is decided only at run time.
    pub fn has_unknowns(&self) -> bool {
        self.stdin_args
            || self.cwd_unknown
            || self.argv.iter().skip(1).any(|arg| !arg.known || arg.free)
            || self.env.set.values().any(|value| !value.known)
            || self
                .writes
                .iter()
                .chain(&self.reads)
                .any(|target| !target.known || target.free)
            || matches!(self.stdin, Some(Input::Expanded(_)))
    }
}

/// What a command line will run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every simple command that may run, wrappers included, in source order.
    pub commands: Vec<Command>,
    /// Why parts of the command line could not be analysed with certainty.
    pub opaque: Vec<String>,
}

/// Lexically normalises a path: `.` and `..` segments and repeated slashes removed (`..` at
/// the root stays at the root). Relative paths keep leading `..` segments.
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Variables that make a program run code of the caller's choosing: bash's start-up and
/// trace hooks, language runtimes, git's and ssh's helpers, pagers and editors. Setting
/// one in a command line makes it opaque, and a command that receives secrets never
/// inherits one ([`crate::secrets`]); each of those adds names of its own.
pub const CODE_LOADING_VARIABLES: &[&str] = &[
    "GIT_CONFIG_PARAMETERS",
    "GIT_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PAGER",
    "GIT_EXTERNAL_DIFF",
    "GIT_PROXY_COMMAND",
    "GIT_TEMPLATE_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_COUNT",
    "SSH_ASKPASS",
    "PAGER",
    "MANPAGER",
    "EDITOR",
    "VISUAL",
    "LESSOPEN",
    "LESSCLOSE",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "PERL5OPT",
    "NODE_OPTIONS",
    "RUBYOPT",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
];

/// Analyses a program and its arguments exactly as they will be passed to `execve`.
pub fn analyze_argv(argv: &[String], resolver: &dyn Resolve) -> Analysis {
    guarded(|| {
        let mut analyzer = script::Analyzer::new(resolver);
        let words = argv.iter().map(Arg::literal).collect();
        analyzer.command(words, script::Frame::default());
        analyzer.finish()
    })
}

/// Analyses a shell command line (bash syntax), as `bash -c SCRIPT` would run it.
pub fn analyze_script(source: &str, resolver: &dyn Resolve) -> Analysis {
    guarded(|| {
        let mut analyzer = script::Analyzer::new(resolver);
        analyzer.script(source, &script::Frame::default());
        analyzer.finish()
    })
}

thread_local! {
    static ANALYSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside an analysis, whose panics are caught and turned into an
/// opaque command (a panic hook can stay quiet about them).
pub fn analysing() -> bool {
    ANALYSING.with(std::cell::Cell::get)
}

/// Runs an analysis; a panic in it (the bash parser has panicked on odd input) makes the
/// command line opaque instead of ending the process.
fn guarded(analyze: impl FnOnce() -> Analysis) -> Analysis {
    let was = ANALYSING.with(|f| f.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(analyze));
    ANALYSING.with(|f| f.set(was));
    result.unwrap_or_else(|_| Analysis {
        commands: Vec::new(),
        opaque: vec!["the command line could not be analysed (the parser failed on it)".to_owned()],
    })
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn a_panicking_analysis_is_opaque_and_the_flag_is_reset() {
        let analysis = guarded(|| panic!("parser failure"));
        assert!(analysis.commands.is_empty());
        assert_eq!(
            analysis.opaque,
            ["the command line could not be analysed (the parser failed on it)"]
        );
        assert!(!analysing());
    }

    /// Found by fuzzing: the bash tokenizer panics on this here-document soup.
    #[test]
    fn the_tokenizer_panic_found_by_fuzzing_makes_the_line_opaque() {
        let script = "flock /tmp/l rlock /tmp/l rm -rfIhrlock /tmp/l rm -rfIh$o {$(rIh$o {$(rm - /)\nm* <<-  $o {$(rIh$o {$(rm - /)\nm* <<-  /\nm -rf //)\n\n";
        let analysis = analyze_script(script, &NoResolve);
        assert!(!analysis.opaque.is_empty(), "{analysis:?}");
    }
}

#[cfg(test)]
mod script_file_tests {
    use super::*;

    /// The script files each analysed command reads, as text.
    fn scripts(line: &str) -> Vec<Vec<String>> {
        analyze_script(line, &NoResolve)
            .commands
            .iter()
            .map(|c| c.scripts.iter().map(|&i| c.argv[i].text.clone()).collect())
            .collect()
    }

    #[test]
    fn interpreters_name_the_files_they_read_as_code() {
        let none = Vec::<&str>::new;
        assert_eq!(scripts("bash -x deploy.sh prod"), [["deploy.sh"]]);
        assert_eq!(scripts("sh -c 'echo hi'"), [none(), none()]);
        assert_eq!(
            scripts("python3 -u tools/migrate.py --dry-run"),
            [["tools/migrate.py"]]
        );
        assert_eq!(scripts("python3 -m http.server"), [none()]);
        assert_eq!(scripts("perl -w x.pl"), [["x.pl"]]);
        assert_eq!(
            scripts("node --max-old-space-size=4096 app.js"),
            [["app.js"]]
        );
        assert_eq!(scripts("node --inspect app.js"), [none()]);
        assert_eq!(
            scripts("source ./env.sh && make"),
            [vec!["./env.sh"], none()]
        );
        assert_eq!(scripts("sudo ruby x.rb"), [none(), vec!["x.rb"]]);
        assert_eq!(scripts("bash /dev/stdin"), [none()]);
        assert_eq!(scripts("bash \"$F\""), [none()]);
    }
}
