//! Programs that run other programs: how to find the command each one runs.

use super::Arg;

/// Changes a wrapper makes to the context of the command it runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Edit {
    pub user: Option<String>,
    pub host: Option<String>,
    pub cwd: Option<String>,
    pub clear_env: bool,
    pub set: Vec<(String, Arg)>,
    pub unset: Vec<String>,
    pub stdin_args: bool,
}

/// What a wrapper runs.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// A program with these arguments.
    Exec(Vec<Arg>, Edit),
    /// A shell script.
    Script(Arg, Edit),
    /// Something that cannot be analysed.
    Opaque(String),
    /// The program reads the file named by this word (an index into its argv) as code.
    Reads(usize),
}

/// Option syntax of one wrapper.
struct Spec {
    /// Short options that take a value (attached or as the next word).
    short_values: &'static str,
    /// Long options that take a value (after `=` or as the next word).
    long_values: &'static [&'static str],
}

/// Options parsed before a wrapper's operands.
struct Scan<'a> {
    /// Option names with their values, already separated from `--name=` or `-xVALUE`.
    opts: Vec<(String, Option<Arg>)>,
    rest: &'a [Arg],
}

impl Scan<'_> {
    fn has(&self, names: &[&str]) -> bool {
        self.opts
            .iter()
            .any(|(name, _)| names.contains(&name.as_str()))
    }

    /// Every value given to one of `names`, in order; a value only known at run time is
    /// shown as `$?`.
    fn values(&self, names: &[&str]) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(_, v)| match v {
                Some(v) if v.known => v.text.as_str(),
                _ => "$?",
            })
            .collect()
    }

    fn value(&self, names: &[&str]) -> Option<&Arg> {
        self.opts
            .iter()
            .rev()
            .find(|(name, _)| names.contains(&name.as_str()))
            .and_then(|(_, v)| v.as_ref())
    }
}

/// The long option `given` names, as GNU getopt reads it: an exact name or an unambiguous
/// abbreviation of one of `names` (written with or without the leading dashes).
fn long_name<'n>(given: &str, names: &[&'n str]) -> Option<&'n str> {
    let names = names.iter().map(|n| n.trim_start_matches('-'));
    let mut matches = names.clone().filter(|n| n.starts_with(given));
    if let Some(exact) = names.clone().find(|n| *n == given) {
        return Some(exact);
    }
    match (matches.next(), matches.next()) {
        (Some(only), None) if !given.is_empty() => Some(only),
        _ => None,
    }
}

fn scan<'a>(args: &'a [Arg], spec: &Spec) -> Scan<'a> {
    let mut opts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        let text = token.text.as_str();
        if !token.known || text == "-" || !text.starts_with('-') {
            break;
        }
        i += 1;
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (given, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let canonical = long_name(given, spec.long_values);
            let name = format!("--{}", canonical.unwrap_or(given));
            match value {
                Some(value) => opts.push((
                    name,
                    Some(Arg {
                        text: value.to_owned(),
                        ..token.clone()
                    }),
                )),
                None if canonical.is_some() => {
                    opts.push((name, args.get(i).cloned()));
                    i += 1;
                }
                None => opts.push((name, None)),
            }
            continue;
        }
        for (offset, c) in text[1..].char_indices() {
            if spec.short_values.contains(c) {
                let attached = &text[1 + offset + c.len_utf8()..];
                if attached.is_empty() {
                    opts.push((format!("-{c}"), args.get(i).cloned()));
                    i += 1;
                } else {
                    opts.push((
                        format!("-{c}"),
                        Some(Arg {
                            text: attached.to_owned(),
                            ..token.clone()
                        }),
                    ));
                }
                break;
            }
            opts.push((format!("-{c}"), None));
        }
    }
    Scan {
        opts,
        rest: args.get(i..).unwrap_or_default(),
    }
}

/// `gatekeep run … -- CMD`: the command it runs, judged on its own. Swapping the
/// policies for that run (`--policy`) is opaque: the caller picks the rules.
fn gatekeep(args: &[Arg]) -> Vec<Step> {
    let mut args = args;
    // Global flags before the subcommand.
    while let Some((first, rest)) = args.split_first() {
        if first.known && (first.text == "--verbose" || first.text.starts_with("-v")) {
            args = rest;
        } else {
            break;
        }
    }
    let Some((sub, rest)) = args.split_first() else {
        return Vec::new();
    };
    if !sub.known {
        return vec![Step::Opaque(
            "the gatekeep subcommand is only known at run time".to_owned(),
        )];
    }
    if sub.text != "run" {
        return Vec::new();
    }
    // clap's syntax: exact long names (no abbreviations), `--name value` or `--name=value`.
    const VALUES: &[&str] = &[
        "--policy",
        "--reason",
        "--log",
        "--agent-session",
        "--json-fd",
        "--request",
        "--token-file",
    ];
    let mut replaces_policy = false;
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        if !word.known {
            return vec![Step::Opaque(format!(
                "the `gatekeep run` option `{}` is only known at run time",
                word.text
            ))];
        }
        let text = word.text.as_str();
        if text == "--" {
            i += 1;
            break;
        }
        if !text.starts_with('-') || text == "-" {
            break;
        }
        let name = text.split_once('=').map_or(text, |(name, _)| name);
        replaces_policy |= name == "--policy";
        i += if VALUES.contains(&text) { 2 } else { 1 };
    }
    let mut steps = exec(rest.get(i..).unwrap_or_default(), Edit::default());
    if replaces_policy {
        steps.push(Step::Opaque(
            "`gatekeep run --policy` replaces the policies in force".to_owned(),
        ));
    }
    steps
}

fn exec(rest: &[Arg], edit: Edit) -> Vec<Step> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![Step::Exec(rest.to_vec(), edit)]
    }
}

fn interactive(program: &str) -> Vec<Step> {
    vec![Step::Opaque(format!(
        "`{program}` starts an interactive shell"
    ))]
}

/// Every program name a handler here reads (for recognising hard links to them); the
/// program table adds its own.
pub const HANDLERS: &[&str] = &[
    "sudo",
    "su",
    "runuser",
    "gatekeep",
    "env",
    "gdb",
    "git",
    "make",
    "gmake",
    "sed",
    "gsed",
    "less",
    "more",
    "most",
    "rsync",
    "scp",
    "sftp",
    "xargs",
    "watch",
    "flock",
    "ssh",
    "find",
    "sg",
    "trap",
    "sqlite3",
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "ash",
    "yash",
    "posh",
    "rbash",
    "lksh",
    "oksh",
    "bb",
    "hush",
    "fish",
    "csh",
    "tcsh",
    "pwsh",
    "powershell",
    "nu",
    "xonsh",
    "elvish",
    "rc",
    "es",
    "python3",
    "python",
    "python2",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "deno",
    "bun",
    "php",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "pypy",
    "pypy3",
    "irb",
    "rg",
    "ansible",
    "parallel",
];

/// Shells whose `-c` scripts are parsed with bash grammar.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "lksh", "oksh", "bb",
    "hush",
];

/// Shells and interpreters whose code cannot be analysed here.
const FOREIGN_SHELLS: &[&str] = &[
    "fish",
    "csh",
    "tcsh",
    "pwsh",
    "powershell",
    "nu",
    "xonsh",
    "elvish",
    "rc",
    "es",
];

/// Returns the steps for `argv` when `name` is a program that runs other code, `None` when
/// it is an ordinary program.
pub(crate) fn unwrap(name: &str, argv: &[Arg]) -> Option<Vec<Step>> {
    let args = &argv[1..];
    if let Some(steps) = super::programs::unwrap(name, args) {
        return Some(steps);
    }
    let steps = match name {
        "pnpm" | "yarn" => return package_manager_fallback(name, args),
        "rg" => return ripgrep(args),
        // The multi-call coreutils: `coreutils rm …`, `coreutils --coreutils-prog=rm …`.
        "coreutils" => {
            let (program, rest) = match args.first() {
                Some(a) if a.known && a.text.starts_with("--coreutils-prog=") => (
                    Arg::literal(&a.text["--coreutils-prog=".len()..]),
                    &args[1..],
                ),
                Some(a) if a.known && !a.text.starts_with('-') => (a.clone(), &args[1..]),
                _ => return None,
            };
            let mut argv = vec![program];
            argv.extend_from_slice(rest);
            vec![Step::Exec(argv, Edit::default())]
        }
        // git's own commands under their installed names (`git-config` in git's exec
        // path): the same as `git config`.
        git if git.starts_with("git-") && git.len() > 4 && !git.contains('.') => {
            let mut argv = vec![Arg::literal("git"), Arg::literal(&git[4..])];
            argv.extend_from_slice(args);
            vec![Step::Exec(argv, Edit::default())]
        }
        "ansible" => ansible(args),
        "parallel" => parallel(args),
        "sudo" => sudo(args),
        "su" | "runuser" => su(name, args),
        "gatekeep" => gatekeep(args),
        "env" => env(args),
        "gdb" => {
            if args.iter().any(|a| {
                !a.known
                    || matches!(
                        a.text.as_str(),
                        "-ex"
                            | "--ex"
                            | "-x"
                            | "--command"
                            | "-iex"
                            | "--eval-command"
                            | "--init-eval-command"
                            | "-batch"
                    )
                    || a.text.starts_with("--eval-command=")
            }) {
                vec![Step::Opaque(
                    "`gdb` runs debugger commands that can start programs".to_owned(),
                )]
            } else if !args.is_empty()
                && args
                    .iter()
                    .all(|a| matches!(a.text.as_str(), "--version" | "-v" | "--help" | "-h"))
            {
                Vec::new()
            } else {
                // Whatever it debugs, it reads its commands (which can start programs)
                // from standard input.
                let mut steps = match args.iter().position(|a| a.text == "--args") {
                    Some(at) => exec(&args[at + 1..], Edit::default()),
                    None => Vec::new(),
                };
                steps.push(Step::Opaque(
                    "`gdb` reads debugger commands, which can start programs, from standard input"
                        .to_owned(),
                ));
                steps
            }
        }
        "git" => git(args),
        "make" | "gmake" => make(args),
        "sed" | "gsed" => sed(args),
        "less" | "more" | "most" => {
            if args
                .iter()
                .any(|a| !a.known || a.text.starts_with('+') && a.text.contains('!'))
            {
                vec![Step::Opaque(format!("`{name}` is told to run a command"))]
            } else {
                Vec::new()
            }
        }
        "rsync" => rsync(args),
        "scp" | "sftp" => {
            let risky = |t: &str| {
                matches!(t, "-e" | "--rsh" | "--rsync-path" | "-S" | "-o" | "-F")
                    || t.starts_with("--rsh=")
                    || t.starts_with("--rsync-path=")
                    || (t.starts_with("-o") && t.to_ascii_lowercase().contains("command"))
                    || (t.starts_with("-e") && t.len() > 2)
            };
            if args.iter().any(|a| !a.known || risky(&a.text)) {
                vec![Step::Opaque(format!(
                    "`{name}` is told to run a remote shell or command"
                ))]
            } else {
                Vec::new()
            }
        }
        "xargs" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "aEdILnPs",
                    long_values: &[
                        "--arg-file",
                        "--delimiter",
                        "--max-args",
                        "--max-procs",
                        "--max-chars",
                        "--process-slot-var",
                    ],
                },
            );
            let edit = Edit {
                stdin_args: true,
                ..Edit::default()
            };
            // With -I/-i/--replace, every word holding the replace string takes input text.
            let replace = s
                .opts
                .iter()
                .find(|(n, _)| matches!(n.as_str(), "-I" | "-i" | "--replace"))
                .map(|(n, v)| match (n.as_str(), v) {
                    ("-I", Some(v)) => v.text.clone(),
                    (_, Some(v)) if !v.text.is_empty() => v.text.clone(),
                    _ => "{}".to_owned(),
                });
            let inner: Vec<Arg> = s
                .rest
                .iter()
                .map(|a| match &replace {
                    Some(r) if a.text.contains(r.as_str()) => Arg::dynamic(a.text.clone()),
                    _ => a.clone(),
                })
                .collect();
            let shell_from_stdin = inner
                .first()
                .is_some_and(|p| SHELLS.contains(&p.text.rsplit('/').next().unwrap_or_default()))
                && inner
                    .iter()
                    .skip(1)
                    .all(|a| a.known && a.text.starts_with('-'));
            if shell_from_stdin {
                vec![Step::Opaque(
                    "`xargs` hands standard input to a shell as its script".to_owned(),
                )]
            } else if inner.is_empty() {
                vec![Step::Exec(vec![Arg::literal("echo")], edit)]
            } else {
                exec(&inner, edit)
            }
        }
        "watch" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "nq",
                    long_values: &["--interval", "--equexit"],
                },
            );
            if s.has(&["-x", "--exec"]) {
                exec(s.rest, Edit::default())
            } else {
                joined_script(s.rest, Edit::default())
            }
        }
        "flock" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "wEc",
                    long_values: &["--timeout", "--conflict-exit-code", "--command"],
                },
            );
            if let Some(script) = s.value(&["-c", "--command"]) {
                vec![Step::Script(script.clone(), Edit::default())]
            } else {
                match s.rest.get(1..) {
                    Some([first, script, ..])
                        if first.known && (first.text == "-c" || first.text == "--command") =>
                    {
                        vec![Step::Script(script.clone(), Edit::default())]
                    }
                    Some(rest) => exec(rest, Edit::default()),
                    None => Vec::new(),
                }
            }
        }
        "ssh" => ssh(args),
        "find" => find(args),
        "sg" => {
            // `sg [-] GROUP [-c] COMMAND`: `-` asks for a login environment.
            let args = match args.split_first() {
                Some((dash, rest)) if dash.known && dash.text == "-" => rest,
                _ => args,
            };
            match args {
                [_, flag, script, ..] if flag.known && flag.text == "-c" => {
                    vec![Step::Script(script.clone(), Edit::default())]
                }
                [_, script, ..] => vec![Step::Script(script.clone(), Edit::default())],
                _ => interactive(name),
            }
        }
        "trap" => {
            // trap [-lpP] [--] ACTION SIGNAL...
            let mut rest = args;
            while let Some((first, tail)) = rest.split_first() {
                if first.known
                    && (first.text == "--" || matches!(first.text.as_str(), "-l" | "-p" | "-P"))
                {
                    rest = tail;
                    if first.text == "--" {
                        break;
                    }
                } else {
                    break;
                }
            }
            match rest {
                [action, _, ..]
                    if !(action.known && (action.text == "-" || action.text.is_empty())) =>
                {
                    vec![Step::Script(action.clone(), Edit::default())]
                }
                _ => Vec::new(),
            }
        }
        "sqlite3" => sqlite3(args),
        _ if SHELLS.contains(&name) => shell(name, args),
        "zsh" => zsh(args),
        _ if FOREIGN_SHELLS.contains(&name) => {
            if args.is_empty() {
                interactive(name)
            } else {
                vec![Step::Opaque(format!("`{name}` code cannot be analysed"))]
            }
        }
        _ => return interpreter(name, args),
    };
    Some(steps)
}

/// Whether a command line that a program runs as its editor or pager is a plain one: a
/// known editor or pager with at most the flags that only change how it shows text
/// (`vim`, `code --wait`, `less -R`). Those run nothing given to them here, and an editor
/// opened on a message is what the person at the terminal types into.
pub(crate) fn plain_viewer(line: &str) -> bool {
    const EDITORS: &[&str] = &[
        "vi",
        "vim",
        "nvim",
        "nano",
        "pico",
        "emacs",
        "emacsclient",
        "micro",
        "hx",
        "kak",
        "code",
        "codium",
        "subl",
        "mate",
        "gedit",
        "kate",
        "zed",
        "ne",
        "joe",
        "mcedit",
    ];
    const EDITOR_FLAGS: &[&str] = &[
        "-w",
        "--wait",
        "-n",
        "--new-window",
        "-nw",
        "-r",
        "--reuse-window",
        "-t",
    ];
    const PAGERS: &[&str] = &[
        "less",
        "more",
        "most",
        "cat",
        "bat",
        "batcat",
        "delta",
        "diff-so-fancy",
    ];
    const PAGER_FLAGS: &[&str] = &[
        "-R",
        "-r",
        "-F",
        "-X",
        "-S",
        "-FRX",
        "-RFX",
        "-FR",
        "-RF",
        "-FX",
        "-XR",
        "-XF",
        "-K",
        "-FRSX",
        "--paging=never",
        "--plain",
        "-p",
        "--quit-if-one-screen",
        "--RAW-CONTROL-CHARS",
    ];
    let mut words = line.split_whitespace();
    let Some(program) = words.next().map(|p| p.rsplit('/').next().unwrap_or(p)) else {
        return false;
    };
    let allowed = if EDITORS.contains(&program) {
        EDITOR_FLAGS
    } else if PAGERS.contains(&program) {
        PAGER_FLAGS
    } else {
        return false;
    };
    words.all(|w| allowed.contains(&w))
}

/// rsync's remote shell (`-e`, `--rsh`, also at the end of a bundle of flags: `-avze
/// CMD`) is a command line it runs with the host and `rsync --server` after it: judged
/// like any other. `--rsync-path` names what runs on the other side, which is not read.
fn rsync(args: &[Arg]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if !arg.known {
            return vec![Step::Opaque(
                "`rsync` options are only known at run time".to_owned(),
            )];
        }
        let text = arg.text.as_str();
        if text == "--" {
            break;
        }
        let shell = if text == "--rsh" {
            i += 1;
            Some(args.get(i - 1))
        } else if let Some(value) = text.strip_prefix("--rsh=") {
            steps.push(Step::Script(
                Arg {
                    text: format!("{value} remote-host rsync --server"),
                    ..arg.clone()
                },
                Edit::default(),
            ));
            None
        } else if !text.starts_with("--") && text.starts_with('-') && text.contains('e') {
            let rest = &text[text.find('e').map_or(text.len(), |at| at + 1)..];
            if rest.is_empty() {
                i += 1;
                Some(args.get(i - 1))
            } else {
                steps.push(Step::Script(
                    Arg {
                        text: format!("{rest} remote-host rsync --server"),
                        ..arg.clone()
                    },
                    Edit::default(),
                ));
                None
            }
        } else {
            if text.starts_with("--rsync-path") || text == "--config" {
                return vec![Step::Opaque(
                    "`rsync` is told to run a command on the other side".to_owned(),
                )];
            }
            None
        };
        match shell {
            Some(Some(value)) if value.known && !value.free => steps.push(Step::Script(
                Arg::literal(format!("{} remote-host rsync --server", value.text)),
                Edit::default(),
            )),
            Some(_) => {
                return vec![Step::Opaque(
                    "`rsync` runs a remote shell only known at run time".to_owned(),
                )];
            }
            None => {}
        }
    }
    steps
}

/// ripgrep runs the program of `--pre` on every file it searches (with the file's path)
/// and the one of `--hostname-bin`; its options take no abbreviations.
fn ripgrep(args: &[Arg]) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg.known && arg.text == "--" {
            break;
        }
        let (option, attached) = match arg.text.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (arg.text.as_str(), None),
        };
        if !arg.known || !matches!(option, "--pre" | "--hostname-bin") {
            // Other value options (`-e PATTERN`…) may hold `--pre` as a pattern: the
            // program would not run then, and running it is the stricter reading.
            continue;
        }
        let program = match attached {
            Some(value) => Arg {
                text: value.to_owned(),
                ..arg.clone()
            },
            None => match args.get(i) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => continue,
            },
        };
        if !program.known || program.free {
            steps.push(Step::Opaque(format!(
                "`rg {option}` runs a program only known at run time"
            )));
        } else if option == "--pre" {
            steps.push(Step::Exec(
                vec![program, Arg::dynamic("FILE")],
                Edit::default(),
            ));
        } else {
            steps.push(Step::Exec(vec![program], Edit::default()));
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// Ansible's ad-hoc commands: the `command` module (the default), `shell` and `raw` run
/// their `-a` text on every host of the pattern (as root with `-b`); modules that only
/// gather facts run nothing; any other module changes hosts in ways not read here.
fn ansible(args: &[Arg]) -> Vec<Step> {
    let spec = Spec {
        short_values: "aBCefiklMmPTtu",
        long_values: &[
            "--args",
            "--module-name",
            "--inventory",
            "--inventory-file",
            "--limit",
            "--user",
            "--become-user",
            "--become-method",
            "--extra-vars",
            "--forks",
            "--connection",
            "--timeout",
            "--tree",
            "--background",
            "--poll",
            "--private-key",
            "--key-file",
            "--vault-password-file",
            "--vault-id",
            "--module-path",
            "--playbook-dir",
            "--ssh-common-args",
            "--ssh-extra-args",
            "--scp-extra-args",
            "--sftp-extra-args",
        ],
    };
    let s = scan(args, &spec);
    // argparse lets options and the host pattern come in any order.
    let mut s = s;
    let mut positionals: Vec<&Arg> = Vec::new();
    while let Some((first, after)) = s.rest.split_first() {
        if first.known && first.text == "--" {
            break;
        }
        positionals.push(first);
        let more = scan(after, &spec);
        s.opts.extend(more.opts);
        s.rest = more.rest;
    }
    let module = s
        .values(&["-m", "--module-name"])
        .last()
        .copied()
        .unwrap_or("command");
    let module = module.strip_prefix("ansible.builtin.").unwrap_or(module);
    let pattern = positionals.first().map_or("all", |a| a.text.as_str());
    let as_root = s.has(&["-b", "--become"]) || s.value(&["--become-user"]).is_some();
    let edit = Edit {
        host: Some(format!("ansible:{pattern}")),
        user: as_root.then(|| {
            s.value(&["--become-user"])
                .map_or("root".to_owned(), |u| u.text.clone())
        }),
        ..Edit::default()
    };
    let text = s.value(&["-a", "--args"]);
    match (module, text) {
        ("ping" | "setup" | "gather_facts" | "debug" | "service_facts" | "package_facts", _) => {
            Vec::new()
        }
        ("command" | "shell" | "raw" | "win_shell" | "win_command", Some(text)) => {
            vec![Step::Script(text.clone(), edit)]
        }
        ("command" | "shell" | "raw", None) => Vec::new(),
        (module, _) => vec![Step::Opaque(format!(
            "`ansible -m {module}` changes the hosts in ways gatekeep does not read"
        ))],
    }
}

/// GNU parallel runs its command (through the shell) once per argument after `:::`
/// (`{}` is replaced by the argument, or it is appended), or per line of standard input.
fn parallel(args: &[Arg]) -> Vec<Step> {
    const VALUES: &[&str] = &[
        "-j",
        "--jobs",
        "-N",
        "--max-args",
        "-n",
        "-L",
        "--max-lines",
        "--delay",
        "--timeout",
        "--retries",
        "--joblog",
        "--results",
        "--res",
        "--tmpdir",
        "--colsep",
        "-C",
        "-d",
        "--delimiter",
        "--halt",
        "--memfree",
        "--load",
        "-I",
        "--replace",
        "--env",
        "--tagstring",
        "--basefile",
        "--workdir",
        "--wd",
        "--shebang-wrap",
        "-E",
        "--eof",
        "--sshdelay",
        "--block",
        "--block-size",
        "--header",
        "--rpl",
        "--plus",
    ];
    const FLAGS: &[&str] = &[
        "-k",
        "--keep-order",
        "-q",
        "--quote",
        "-X",
        "-m",
        "-u",
        "--ungroup",
        "--line-buffer",
        "--lb",
        "--group",
        "--bar",
        "--progress",
        "--eta",
        "-v",
        "--verbose",
        "--tag",
        "--no-notice",
        "--will-cite",
        "-0",
        "--null",
        "-r",
        "--no-run-if-empty",
        "--halt-on-error",
        "--pipe",
        "--shuf",
        "--citation",
        "--silent",
        "--keep",
        "--xapply",
        "--link",
    ];
    let mut i = 0;
    let mut remote = false;
    while let Some(arg) = args.get(i).filter(|a| a.known && a.text.starts_with('-')) {
        let text = arg.text.as_str();
        let name = match text.split_once('=') {
            Some((n, _)) => n,
            // `-j4`: a short option with its value attached.
            None if !text.starts_with("--") && text.len() > 2 => crate::render::prefix(text, 2),
            None => text,
        };
        if matches!(
            name,
            "--version" | "--help" | "-h" | "--dry-run" | "--dryrun"
        ) {
            return Vec::new();
        }
        if matches!(name, "-S" | "--sshlogin" | "--slf" | "--sshloginfile") {
            remote = true;
            i += if text.contains('=') { 1 } else { 2 };
        } else if matches!(name, "-a" | "--arg-file" | "--a") {
            return vec![Step::Opaque(
                "`parallel` reads its arguments from a file".to_owned(),
            )];
        } else if VALUES.contains(&name) {
            i += if text.contains('=') || (text.len() > 2 && !text.starts_with("--")) {
                1
            } else {
                2
            };
        } else if FLAGS.contains(&name) {
            i += 1;
        } else {
            return vec![Step::Opaque(format!(
                "`parallel` is given `{text}`, an option gatekeep does not know"
            ))];
        }
    }
    let rest = &args[i.min(args.len())..];
    let separator = rest
        .iter()
        .position(|a| a.known && matches!(a.text.as_str(), ":::" | "::::" | ":::+" | "::::+"));
    let command = &rest[..separator.unwrap_or(rest.len())];
    if command.iter().any(|a| !a.known) {
        return vec![Step::Opaque(
            "the `parallel` command is only known at run time".to_owned(),
        )];
    }
    let template = command
        .iter()
        .map(|a| a.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let edit = Edit {
        host: remote.then(|| "parallel:sshlogin".to_owned()),
        ..Edit::default()
    };
    let inputs: Vec<&Arg> = match separator {
        Some(at) if rest[at].text == ":::" => rest[at + 1..]
            .iter()
            .take_while(|a| !(a.known && a.text.starts_with(":::")))
            .collect(),
        Some(_) => {
            return vec![Step::Opaque(
                "`parallel` reads its arguments from files (`::::`)".to_owned(),
            )];
        }
        None => {
            // One line of standard input at a time: like xargs.
            return vec![Step::Script(
                Arg::literal(format!("{template} \"$INPUT\"")),
                Edit {
                    stdin_args: true,
                    ..edit
                },
            )];
        }
    };
    if template.is_empty() {
        // The arguments are the commands.
        return inputs
            .into_iter()
            .map(|a| Step::Script(a.clone(), edit.clone()))
            .collect();
    }
    inputs
        .into_iter()
        .take(32)
        .map(|input| {
            let quoted = if input.known {
                format!("'{}'", input.text.replace('\'', r"'\''"))
            } else {
                "\"$INPUT\"".to_owned()
            };
            let line = if template.contains("{}") {
                template.replace("{}", &quoted)
            } else {
                format!("{template} {quoted}")
            };
            Step::Script(Arg::literal(line), edit.clone())
        })
        .collect()
}

/// `pnpm WORD …` and `yarn WORD …` with a word that is none of their commands run the
/// project's script of that name or, failing that, the installed program `WORD` (as
/// `pnpm exec` does): the program is judged. `None` for their own commands.
fn package_manager_fallback(name: &str, args: &[Arg]) -> Option<Vec<Step>> {
    const PNPM: &[&str] = &[
        "add",
        "adduser",
        "approve-builds",
        "audit",
        "bin",
        "bugs",
        "c",
        "cache",
        "cat-file",
        "cat-index",
        "config",
        "create",
        "dedupe",
        "deploy",
        "deprecate",
        "dist-tag",
        "dlx",
        "docs",
        "doctor",
        "edit",
        "env",
        "exec",
        "explore",
        "fetch",
        "find-hash",
        "fund",
        "get",
        "help",
        "i",
        "ignored-builds",
        "import",
        "info",
        "init",
        "install",
        "install-test",
        "it",
        "la",
        "licenses",
        "link",
        "list",
        "ll",
        "ln",
        "login",
        "logout",
        "ls",
        "m",
        "multi",
        "outdated",
        "owner",
        "pack",
        "patch",
        "patch-commit",
        "patch-remove",
        "ping",
        "prune",
        "publish",
        "rb",
        "rebuild",
        "recursive",
        "remove",
        "repo",
        "rm",
        "root",
        "run",
        "run-script",
        "sbom",
        "search",
        "self-update",
        "server",
        "set",
        "setup",
        "show",
        "stars",
        "start",
        "store",
        "t",
        "team",
        "test",
        "token",
        "tst",
        "un",
        "undeprecate",
        "uninstall",
        "unlink",
        "unpublish",
        "up",
        "update",
        "upgrade",
        "v",
        "version",
        "view",
        "whoami",
        "why",
    ];
    const YARN: &[&str] = &[
        "add",
        "audit",
        "autoclean",
        "bin",
        "cache",
        "check",
        "config",
        "constraints",
        "create",
        "dedupe",
        "dlx",
        "exec",
        "explain",
        "generate-lock-entry",
        "global",
        "help",
        "import",
        "info",
        "init",
        "install",
        "licenses",
        "link",
        "list",
        "login",
        "logout",
        "node",
        "npm",
        "outdated",
        "owner",
        "pack",
        "patch",
        "patch-commit",
        "plugin",
        "policies",
        "publish",
        "rebuild",
        "remove",
        "run",
        "search",
        "set",
        "stage",
        "tag",
        "team",
        "test",
        "unlink",
        "unplug",
        "up",
        "upgrade",
        "upgrade-interactive",
        "version",
        "versions",
        "why",
        "workspace",
        "workspaces",
    ];
    let first = args.first()?;
    if !first.known {
        return Some(vec![Step::Opaque(format!(
            "`{name}` is given a command only known at run time"
        ))]);
    }
    let own = if name == "pnpm" { PNPM } else { YARN };
    if first.text.starts_with('-') || own.contains(&first.text.as_str()) {
        return None;
    }
    Some(vec![Step::Exec(args.to_vec(), Edit::default())])
}

/// git runs other programs through configuration (`-c alias.x=!cmd`, `core.pager`…) and
/// through some subcommands (`rebase -x`, `bisect run`, `submodule foreach`…).
fn git(args: &[Arg]) -> Vec<Step> {
    let mut i = 0;
    let mut configs: Vec<(String, &str)> = Vec::new();
    while let Some(arg) = args.get(i) {
        if !arg.known {
            return vec![Step::Opaque(
                "`git` options are only known at run time".to_owned(),
            )];
        }
        let text = arg.text.as_str();
        // `-c NAME=VALUE`, or attached: `-cNAME=VALUE`.
        if let Some(attached) = text.strip_prefix("-c") {
            let pair = if attached.is_empty() {
                i += 1;
                match args.get(i) {
                    Some(value) if value.known && !value.free => value.text.as_str(),
                    _ => {
                        return vec![Step::Opaque(
                            "`git` configuration on the command line is only known at run time"
                                .to_owned(),
                        )];
                    }
                }
            } else {
                attached
            };
            let (name, value) = pair.split_once('=').unwrap_or((pair, "true"));
            configs.push((name.to_ascii_lowercase(), value));
            i += 1;
            continue;
        }
        if text == "--config-env"
            || text.starts_with("--config-env=")
            || text == "--exec-path"
            || text.starts_with("--exec-path=")
        {
            return vec![Step::Opaque(
                "`git` configuration on the command line can run programs".to_owned(),
            )];
        }
        if matches!(
            text,
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--attr-source" | "--super-prefix"
        ) {
            i += 2;
            continue;
        }
        if text.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    let rest = &args[i.min(args.len())..];
    let sub = rest.first().map(|a| a.text.as_str()).unwrap_or_default();
    let mut steps = Vec::new();
    for (name, value) in &configs {
        match git_config(name, value) {
            GitConfig::Harmless => {}
            GitConfig::Runs(_) if plain_viewer(value) => {}
            GitConfig::Runs(line) => steps.push(Step::Script(Arg::literal(line), Edit::default())),
            // Configuration names ignore case: `alias.Pwn` answers `git PWN`.
            GitConfig::Alias(alias) if !alias.eq_ignore_ascii_case(sub) => {}
            // The shell command runs with git's configuration in its environment: a git it
            // starts reads the same aliases (`!git b` runs alias `b`).
            GitConfig::Alias(_) if value.starts_with('!') => steps.push(Step::Script(
                Arg::literal(format!("{} \"$@\"", &value[1..])),
                Edit {
                    set: git_config_environment(&configs),
                    ..Edit::default()
                },
            )),
            GitConfig::Alias(_) if value.contains(['"', '\'', '\\']) => {
                return vec![Step::Opaque(format!(
                    "the `git` alias `{sub}` is quoted in ways gatekeep does not read"
                ))];
            }
            GitConfig::Alias(_) => {
                // The alias stands for its words; the configuration stays, so aliases
                // defined in terms of other aliases are read too.
                let mut argv = vec![Arg::literal("git")];
                argv.extend_from_slice(&args[..i]);
                argv.extend(value.split_whitespace().map(Arg::literal));
                argv.extend_from_slice(&rest[1..]);
                return vec![Step::Exec(argv, Edit::default())];
            }
            GitConfig::Unknown => {
                return vec![Step::Opaque(format!(
                    "`git` configuration `{name}` on the command line may run programs"
                ))];
            }
        }
    }
    // git's subcommands accept any unambiguous abbreviation of a long option
    // (`--exe` is `--exec`): an option counts when it abbreviates a named one.
    let given = |names: &[&str]| {
        rest.iter().any(|a| {
            let name = a.text.split_once('=').map_or(a.text.as_str(), |(n, _)| n);
            names.iter().any(|full| {
                name == *full
                    || (name.len() >= 4 && name.starts_with("--") && full.starts_with(name))
                    // `-xCMD`, `-OCMD`: a short option with its value attached.
                    || (full.len() == 2 && !name.starts_with("--") && name.starts_with(full))
            })
        })
    };
    let risky = match sub {
        "rebase" => given(&["-x", "--exec"]),
        "bisect" => rest.get(1).is_some_and(|a| a.text == "run"),
        "submodule" => rest.iter().any(|a| a.text == "foreach"),
        "grep" => given(&["-O", "--open-files-in-pager"]),
        "filter-branch" | "filter-repo" | "difftool" | "mergetool" | "daemon" | "instaweb"
        | "web--browse" => true,
        "fetch" | "pull" | "push" | "clone" | "ls-remote" | "archive" | "send-pack"
        | "fetch-pack" => {
            given(&["--upload-pack", "--receive-pack", "--exec"])
                || rest.iter().any(|a| a.text.contains("ext::"))
                || (matches!(sub, "clone" | "ls-remote" | "archive")
                    && rest.iter().any(|a| a.text.starts_with("-u")))
        }
        _ => false,
    };
    if risky {
        steps.push(Step::Opaque(format!(
            "`git {sub}` runs commands given on the command line"
        )));
    }
    steps
}

/// git's configuration as the environment it hands the commands it runs
/// (`GIT_CONFIG_COUNT` with its keys and values).
fn git_config_environment(configs: &[(String, &str)]) -> Vec<(String, Arg)> {
    let mut set = vec![(
        "GIT_CONFIG_COUNT".to_owned(),
        Arg::literal(configs.len().to_string()),
    )];
    for (i, (name, value)) in configs.iter().enumerate() {
        set.push((format!("GIT_CONFIG_KEY_{i}"), Arg::literal(name.clone())));
        set.push((format!("GIT_CONFIG_VALUE_{i}"), Arg::literal(*value)));
    }
    set
}

/// What one `git -c NAME=VALUE` does.
enum GitConfig {
    /// Changes output or metadata, runs nothing.
    Harmless,
    /// Names a command git runs through the shell (with arguments of its own after it).
    Runs(String),
    /// Defines an alias (its name).
    Alias(String),
    /// Anything else: hooks, includes, filters gatekeep does not read.
    Unknown,
}

fn git_config(name: &str, value: &str) -> GitConfig {
    const HARMLESS: &[&str] = &[
        "user.name",
        "user.email",
        "author.name",
        "author.email",
        "committer.name",
        "committer.email",
        "init.defaultbranch",
        "core.quotepath",
        "core.autocrlf",
        "core.safecrlf",
        "core.filemode",
        "core.ignorecase",
        "core.abbrev",
        "commit.gpgsign",
        "tag.gpgsign",
        "gc.auto",
        "protocol.version",
        "safe.directory",
        "merge.conflictstyle",
        "pull.rebase",
        "pull.ff",
        "column.ui",
        "log.showsignature",
        "diff.noprefix",
        "diff.renames",
        "maintenance.auto",
        "fetch.prune",
        "advice.detachedhead",
        "merge.ff",
        "tag.sort",
        "branch.sort",
        "rebase.autosquash",
        "rebase.autostash",
        "push.default",
        "push.autosetupremote",
        "core.longpaths",
        "core.symlinks",
        "diff.algorithm",
        "diff.colormoved",
        "diff.mnemonicprefix",
        "credential.usehttppath",
        "fetch.parallel",
        "submodule.recurse",
    ];
    const HARMLESS_SECTIONS: &[&str] = &[
        "color.",
        "advice.",
        "i18n.",
        "status.",
        "versionsort.",
        "log.",
        "format.",
    ];
    // Keys whose value is a shell command git runs.
    const COMMAND_KEYS: &[&str] = &[
        "core.sshcommand",
        "core.pager",
        "core.editor",
        "core.askpass",
        "core.gitproxy",
        "core.fsmonitor",
        "sequence.editor",
        "diff.external",
        "gpg.program",
    ];
    const COMMAND_SUFFIXES: &[&str] = &[
        ".textconv",
        ".command",
        ".cmd",
        ".driver",
        ".clean",
        ".smudge",
        ".process",
        ".program",
        ".uploadpack",
        ".receivepack",
        ".packobjectshook",
    ];
    let boolean = matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0" | ""
    );
    if let Some(alias) = name.strip_prefix("alias.") {
        GitConfig::Alias(alias.to_owned())
    } else if HARMLESS.contains(&name)
        || HARMLESS_SECTIONS.iter().any(|s| name.starts_with(s))
        || ((name.starts_with("pager.") || name == "core.pager" || name == "core.fsmonitor")
            && boolean)
    {
        GitConfig::Harmless
    } else if COMMAND_KEYS.contains(&name)
        || name.starts_with("pager.")
        || (name.contains('.') && COMMAND_SUFFIXES.iter().any(|s| name.ends_with(s)))
    {
        // A pager reads its standard input; an ssh command gets a host and the git
        // program to run there (as from `GIT_SSH_COMMAND`); the other commands get
        // arguments of git's.
        let pager = name == "core.pager" || name.starts_with("pager.");
        GitConfig::Runs(if pager {
            value.to_owned()
        } else if name == "core.sshcommand" {
            format!("{value} git-server git-upload-pack repository")
        } else {
            format!("{value} \"$@\"")
        })
    } else {
        GitConfig::Unknown
    }
}

/// GNU sed's `e` command and `s///e` flag run shell commands.
fn sed(args: &[Arg]) -> Vec<Step> {
    let mut scripts: Vec<&Arg> = Vec::new();
    let mut i = 0;
    let mut explicit = false;
    while let Some(arg) = args.get(i) {
        i += 1;
        match arg.text.as_str() {
            "-e" | "--expression" => {
                explicit = true;
                if let Some(script) = args.get(i) {
                    scripts.push(script);
                }
                i += 1;
            }
            "-f" | "--file" => return vec![Step::Opaque("`sed -f` runs a script file".to_owned())],
            t if t.starts_with("--expression=") || (t.starts_with("-e") && t.len() > 2) => {
                explicit = true
            }
            t if t.starts_with('-')
                && !t.starts_with("--")
                && t.contains('e')
                && !t.contains('i') =>
            {
                explicit = true;
                if let Some(script) = args.get(i) {
                    scripts.push(script);
                }
                i += 1;
            }
            _ if !explicit && scripts.is_empty() && !arg.text.starts_with('-') => scripts.push(arg),
            _ => {}
        }
    }
    let runs = |text: &str| {
        text.split([';', '\n']).any(|command| {
            let command = command.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c.is_whitespace() || matches!(c, ',' | '$' | '!' | '{' | '}')
            });
            let mut chars = command.chars();
            match (chars.next(), chars.next()) {
                (Some('e'), next) => next.is_none_or(|c| c.is_whitespace()),
                (Some('s'), Some(delimiter)) if !delimiter.is_alphanumeric() => {
                    let parts: Vec<&str> = command[1 + delimiter.len_utf8()..]
                        .split(delimiter)
                        .collect();
                    parts.len() >= 3
                        && parts[2..]
                            .join("")
                            .chars()
                            .take_while(|c| c.is_alphanumeric())
                            .any(|c| c == 'e')
                }
                _ => false,
            }
        })
    };
    if scripts.iter().any(|s| !s.known || runs(&s.text)) {
        vec![Step::Opaque(
            "the `sed` script runs shell commands (`e`)".to_owned(),
        )]
    } else {
        Vec::new()
    }
}

fn user_of(s: &Scan<'_>, names: &[&str], default: &str) -> String {
    match s
        .opts
        .iter()
        .rev()
        .find(|(n, _)| names.contains(&n.as_str()))
    {
        Some((_, Some(arg))) => arg.text.clone(),
        _ => default.to_owned(),
    }
}

fn sudo(args: &[Arg]) -> Vec<Step> {
    let s = scan(
        args,
        &Spec {
            short_values: "ugpCDrtUTRh",
            long_values: &[
                "--user",
                "--group",
                "--prompt",
                "--close-from",
                "--chdir",
                "--role",
                "--type",
                "--other-user",
                "--command-timeout",
                "--chroot",
                "--host",
            ],
        },
    );
    if s.has(&[
        "-e",
        "--edit",
        "-l",
        "--list",
        "-v",
        "--validate",
        "-K",
        "--remove-timestamp",
        "-V",
        "--version",
    ]) {
        return Vec::new();
    }
    let mut edit = Edit {
        user: Some(user_of(&s, &["-u", "--user"], "root")),
        ..Edit::default()
    };
    if let Some(dir) = s.value(&["-D", "--chdir"]) {
        edit.cwd = Some(dir.text.clone());
    }
    if s.rest.is_empty() {
        return if s.has(&["-i", "--login", "-s", "--shell"]) {
            interactive("sudo")
        } else {
            Vec::new()
        };
    }
    // Leading VAR=value operands set the command's environment.
    let mut rest = s.rest;
    while let Some((first, tail)) = rest.split_first() {
        match assignment(first) {
            Some(pair) => {
                edit.set.push(pair);
                rest = tail;
            }
            None => break,
        }
    }
    if s.has(&["-i", "--login", "-s", "--shell"]) {
        // The login shell runs the words joined with spaces (sudo leaves `$` unescaped).
        let mut steps = exec(rest, edit.clone());
        steps.extend(joined_script(rest, edit));
        return steps;
    }
    exec(rest, edit)
}

fn su(program: &str, args: &[Arg]) -> Vec<Step> {
    // su and runuser permute their options, so collect them wherever they stand.
    let mut script = None;
    let mut user = None;
    let mut run_user = None;
    let mut extra = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !arg.known {
            extra.push(arg.clone());
            continue;
        }
        let text = arg.text.as_str();
        if text == "--" {
            if run_user.is_some() {
                break;
            }
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (given, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            let name = long_name(
                given,
                &[
                    "command",
                    "session-command",
                    "shell",
                    "group",
                    "supp-group",
                    "whitelist-environment",
                    "user",
                    "login",
                    "preserve-environment",
                    "pty",
                    "fast",
                ],
            )
            .unwrap_or(given);
            let takes_value = matches!(
                name,
                "command"
                    | "session-command"
                    | "shell"
                    | "group"
                    | "supp-group"
                    | "whitelist-environment"
                    | "user"
            );
            let value = match value {
                Some(v) => Some(Arg {
                    text: v.to_owned(),
                    ..arg.clone()
                }),
                None if takes_value => {
                    i += 1;
                    args.get(i - 1).cloned()
                }
                None => None,
            };
            match name {
                "command" | "session-command" => script = value,
                "user" => run_user = value.map(|v| v.text),
                _ => {}
            }
            continue;
        }
        if let Some(bundle) = text.strip_prefix('-').filter(|b| !b.is_empty()) {
            for (offset, c) in bundle.char_indices() {
                if matches!(c, 'c' | 's' | 'g' | 'G' | 'w' | 'u') {
                    let attached = &bundle[offset + 1..];
                    let value = if attached.is_empty() {
                        i += 1;
                        args.get(i - 1).cloned()
                    } else {
                        Some(Arg {
                            text: attached.to_owned(),
                            ..arg.clone()
                        })
                    };
                    match c {
                        'c' => script = value,
                        'u' => run_user = value.map(|v| v.text),
                        _ => {}
                    }
                    break;
                }
            }
            continue;
        }
        if text == "-" {
            continue;
        }
        if run_user.is_some() {
            // runuser -u USER [--] COMMAND...
            let edit = Edit {
                user: run_user,
                ..Edit::default()
            };
            return exec(&args[i - 1..], edit);
        }
        if user.is_none() {
            user = Some(text.to_owned());
        } else {
            extra.push(arg.clone());
        }
    }
    if let Some(run_as) = run_user {
        let edit = Edit {
            user: Some(run_as),
            ..Edit::default()
        };
        return exec(&args[i.min(args.len())..], edit);
    }
    let edit = Edit {
        user: Some(user.unwrap_or_else(|| "root".to_owned())),
        ..Edit::default()
    };
    match script {
        Some(script) => vec![Step::Script(script, edit)],
        None if extra.is_empty() => interactive(program),
        None => vec![Step::Opaque(format!(
            "`{program}` passes arguments to a login shell"
        ))],
    }
}

fn assignment(arg: &Arg) -> Option<(String, Arg)> {
    let (name, value) = arg.text.split_once('=')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid || !arg.known && !name_is_literal(arg, name) {
        return None;
    }
    Some((
        name.to_owned(),
        Arg {
            text: value.to_owned(),
            known: arg.known,
            free: false,
        },
    ))
}

/// For a partly dynamic `NAME=$x` word, whether the name part itself is literal.
fn name_is_literal(arg: &Arg, name: &str) -> bool {
    !name.contains('$') && arg.text.starts_with(name)
}

fn env(args: &[Arg]) -> Vec<Step> {
    let mut edit = Edit::default();
    let mut words: Vec<Arg> = args.to_vec();
    let mut i = 0;
    let longs = [
        "ignore-environment",
        "null",
        "unset",
        "chdir",
        "split-string",
        "argv0",
        "block-signal",
        "default-signal",
        "ignore-signal",
        "list-signal-handling",
        "debug",
    ];
    while i < words.len() {
        let arg = words[i].clone();
        if !arg.known {
            if let Some(pair) = assignment(&arg) {
                edit.set.push(pair);
                i += 1;
                continue;
            }
            break;
        }
        let text = arg.text.clone();
        i += 1;
        if text == "--" {
            continue;
        }
        if text == "-" {
            edit.clear_env = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (given, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v.to_owned())));
            let name = long_name(given, &longs).unwrap_or(given);
            let takes_value = matches!(name, "unset" | "chdir" | "split-string" | "argv0");
            let value = match value {
                Some(v) => Some(v),
                None if takes_value => {
                    i += 1;
                    words.get(i - 1).map(|a| a.text.clone())
                }
                None => None,
            };
            match (name, value) {
                ("ignore-environment", _) => edit.clear_env = true,
                ("unset", Some(v)) => edit.unset.push(v),
                ("chdir", Some(v)) => edit.cwd = Some(v),
                ("split-string", Some(v)) => {
                    let split = split_string(&Arg {
                        text: v,
                        ..arg.clone()
                    });
                    words.splice(i..i, split);
                }
                _ => {}
            }
            continue;
        }
        if let Some(bundle) = text.strip_prefix('-').filter(|b| !b.is_empty()) {
            for (offset, c) in bundle.char_indices() {
                match c {
                    'i' => edit.clear_env = true,
                    // BSD's `-P ALTPATH` searches the program there: like setting PATH.
                    'u' | 'C' | 'S' | 'a' | 'P' => {
                        let attached = &bundle[offset + 1..];
                        let value = if attached.is_empty() {
                            i += 1;
                            words.get(i - 1).map(|a| a.text.clone())
                        } else {
                            Some(attached.to_owned())
                        };
                        match (c, value) {
                            ('u', Some(v)) => edit.unset.push(v),
                            ('C', Some(v)) => edit.cwd = Some(v),
                            ('P', Some(v)) => edit.set.push((
                                "PATH".to_owned(),
                                Arg {
                                    text: v,
                                    ..arg.clone()
                                },
                            )),
                            ('S', Some(v)) => {
                                let split = split_string(&Arg {
                                    text: v,
                                    ..arg.clone()
                                });
                                words.splice(i..i, split);
                            }
                            _ => {}
                        }
                        break;
                    }
                    _ => {}
                }
            }
            continue;
        }
        match assignment(&arg) {
            Some(pair) => edit.set.push(pair),
            None => {
                i -= 1;
                break;
            }
        }
    }
    exec(&words[i.min(words.len())..], edit)
}

/// Splits the argument of `env -S` into words (it honours quotes like a shell does).
fn split_string(arg: &Arg) -> Vec<Arg> {
    if !arg.known {
        return vec![Arg {
            free: true,
            ..arg.clone()
        }];
    }
    // GNU env reads `\_` as a space between words.
    let text = arg.text.replace("\\_", " ");
    match brush_parser::tokenize_str(&text) {
        Ok(tokens) => tokens
            .iter()
            .filter_map(|token| match token {
                brush_parser::Token::Word(word, _) => Some(word.clone()),
                brush_parser::Token::Operator(..) => None,
            })
            .flat_map(|word| super::words::expand(&word, super::words::Mode::Command).args)
            .collect(),
        Err(_) => vec![Arg {
            free: true,
            known: false,
            text: arg.text.clone(),
        }],
    }
}

fn ssh(args: &[Arg]) -> Vec<Step> {
    let spec = Spec {
        short_values: "BbcDEeFIiJLlmOoPpQRSWw",
        long_values: &[],
    };
    let s = scan(args, &spec);
    let Some((destination, after)) = s.rest.split_first() else {
        return Vec::new();
    };
    if !destination.known {
        return vec![Step::Opaque(format!(
            "ssh destination `{}` is only known at run time",
            destination.text
        ))];
    }
    // OpenSSH keeps reading options after the destination, up to the command.
    let later = scan(after, &spec);
    let options: Vec<&(String, Option<Arg>)> = s.opts.iter().chain(&later.opts).collect();
    let command = later.rest;
    let risky = options.iter().any(|(name, value)| {
        name == "-o"
            && value.as_ref().is_none_or(|v| {
                let lower = v.text.to_ascii_lowercase();
                !v.known
                    || [
                        "proxycommand",
                        "localcommand",
                        "permitlocalcommand",
                        "knownhostscommand",
                        "remotecommand",
                        "match",
                    ]
                    .iter()
                    .any(|k| lower.contains(k))
            })
            || name == "-F"
    });
    if risky {
        return vec![Step::Opaque(
            "ssh is configured to run a local or remote command".to_owned(),
        )];
    }
    let target = destination
        .text
        .strip_prefix("ssh://")
        .unwrap_or(&destination.text);
    let (login, host) = match target.rsplit_once('@') {
        Some((user, host)) => (Some(user.to_owned()), host),
        None => (None, target),
    };
    let host = host.split(':').next().unwrap_or(host).to_owned();
    let user = login.or_else(|| {
        options
            .iter()
            .rev()
            .find(|(n, _)| n == "-l")
            .and_then(|(_, v)| v.as_ref())
            .map(|a| a.text.clone())
    });
    let edit = Edit {
        user,
        host: Some(host.clone()),
        clear_env: true,
        ..Edit::default()
    };
    if command.is_empty() {
        if options
            .iter()
            .any(|(n, _)| matches!(n.as_str(), "-N" | "-W" | "-O" | "-V" | "-G" | "-Q"))
        {
            return Vec::new();
        }
        return vec![Step::Opaque(format!("`ssh {host}` opens a remote shell"))];
    }
    joined_script(command, edit)
}

/// The remote side of ssh (and `watch`) runs its words joined by spaces through a shell.
fn joined_script(words: &[Arg], edit: Edit) -> Vec<Step> {
    if words.is_empty() {
        return Vec::new();
    }
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let known = words.iter().all(|w| w.known);
    vec![Step::Script(
        Arg {
            text,
            known,
            free: false,
        },
        edit,
    )]
}

/// find's tests and actions that take one value (two for `-fprintf`).
const FIND_VALUES: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-lname",
    "-ilname",
    "-type",
    "-xtype",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-perm",
    "-size",
    "-newer",
    "-anewer",
    "-cnewer",
    "-mtime",
    "-atime",
    "-ctime",
    "-mmin",
    "-amin",
    "-cmin",
    "-used",
    "-maxdepth",
    "-mindepth",
    "-fstype",
    "-inum",
    "-links",
    "-samefile",
    "-printf",
    "-fprint",
    "-fprint0",
    "-fls",
    "-context",
    "-regextype",
    "-D",
    "-files0-from",
    "-newerXY",
];

fn find(args: &[Arg]) -> Vec<Step> {
    let mut steps = Vec::new();
    // What `{}` stands for: a starting point or a path found under it. When the starting
    // points are known and symbolic links are not followed, every path found is one of
    // them or lies beneath one: the command is judged for each absolute starting point and
    // for everything in it (`ROOT` and `ROOT/*`, as rules name "everything in").
    // Otherwise it is only known at run time.
    // A relative starting point stays in the working directory: what is found is a path
    // inside it (`ROOT/…`), never the directory itself when that is `.`, which rm refuses.
    let found: Option<Vec<String>> = find_roots(args).map(|roots| {
        roots
            .iter()
            .flat_map(|root| match root.as_str() {
                "" => vec!["/".to_owned(), "/*".to_owned()],
                "." => vec!["./…".to_owned()],
                root if root.starts_with('/') => vec![root.to_owned(), format!("{root}/*")],
                root => vec![root.to_owned(), format!("{root}/…")],
            })
            .collect()
    });
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !arg.known {
            continue;
        }
        let text = arg.text.as_str();
        if FIND_VALUES.contains(&text) || (text.starts_with("-newer") && text.len() == 8) {
            i += 1;
            continue;
        }
        if text == "-fprintf" {
            i += 2;
            continue;
        }
        if !matches!(text, "-exec" | "-execdir" | "-ok" | "-okdir") {
            continue;
        }
        let mut words = Vec::new();
        while let Some(next) = args.get(i) {
            i += 1;
            if next.known && (next.text == ";" || next.text == "+") {
                break;
            }
            words.push(next);
        }
        if words.is_empty() {
            continue;
        }
        let instances: Vec<Option<&String>> = match &found {
            Some(roots) => roots.iter().map(Some).collect(),
            None => vec![None],
        };
        for found in instances {
            let command = words
                .iter()
                .map(|word| match found {
                    _ if !(word.known && word.text.contains("{}")) => (*word).clone(),
                    Some(found) => Arg::literal(word.text.replace("{}", found)),
                    None => Arg::dynamic(word.text.clone()),
                })
                .collect();
            steps.push(Step::Exec(command, Edit::default()));
        }
    }
    steps
}

/// The starting points of a `find`, when all are known and links are not followed (so
/// every path found lies under one of them).
fn find_roots(args: &[Arg]) -> Option<Vec<String>> {
    let mut i = 0;
    // Options before the starting points.
    while let Some(arg) = args.get(i) {
        match arg.text.as_str() {
            "-H" | "-P" => i += 1,
            "-D" => i += 2,
            text if text.starts_with("-O") => i += 1,
            _ => break,
        }
    }
    let mut roots = Vec::new();
    for arg in &args[i..] {
        if arg.known && (arg.text.starts_with('-') || matches!(arg.text.as_str(), "(" | "!" | ","))
        {
            break;
        }
        roots.push(arg);
    }
    let follows = args
        .iter()
        .any(|a| matches!(a.text.as_str(), "-L" | "-follow"));
    let known = |arg: &&Arg| arg.known && !arg.free && !arg.text.starts_with('~');
    if follows || roots.is_empty() || !roots.iter().all(known) {
        return None;
    }
    Some(
        roots
            .iter()
            .map(|root| match root.text.trim_end_matches('/') {
                "" => String::new(),
                trimmed => trimmed.to_owned(),
            })
            .collect(),
    )
}

fn shell(program: &str, args: &[Arg]) -> Vec<Step> {
    let mut command_mode = false;
    let mut harmless = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if !arg.known {
            return vec![Step::Opaque(format!(
                "`{program}` options are only known at run time"
            ))];
        }
        let text = arg.text.as_str();
        if text == "-" || text == "--" {
            i += 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            i += 1;
            match long {
                "rcfile" | "init-file" => {
                    return vec![Step::Opaque(format!(
                        "`{program} --{long}` runs a start-up file"
                    ))];
                }
                "version" | "help" => harmless = true,
                _ => {}
            }
            continue;
        }
        let Some(bundle) = text.strip_prefix('-').or_else(|| text.strip_prefix('+')) else {
            break;
        };
        i += 1;
        if bundle.contains('c') {
            command_mode = true;
        }
        if bundle.contains('o') || bundle.contains('O') {
            i += 1;
        }
    }
    let rest = args.get(i..).unwrap_or_default();
    if command_mode {
        return match rest.first() {
            Some(script) => vec![Step::Script(script.clone(), Edit::default())],
            None => Vec::new(),
        };
    }
    match rest.first() {
        Some(file) => {
            let mut steps = vec![Step::Opaque(format!(
                "`{program}` runs the script file `{}`",
                file.text
            ))];
            if !reads_stdin(&file.text) {
                steps.push(Step::Reads(i + 1));
            }
            steps
        }
        None if harmless => Vec::new(),
        None => vec![Step::Opaque(format!(
            "`{program}` reads commands from standard input"
        ))],
    }
}

/// Variables through which `make` runs programs: set on the command line, they replace
/// what the makefile's recipes run.
const MAKE_PROGRAM_VARIABLES: &[&str] = &[
    "SHELL",
    "MAKESHELL",
    ".SHELLFLAGS",
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AR",
    "AS",
    "RM",
    "MAKE",
    "INSTALL",
    "YACC",
    "LEX",
    "FC",
    "PC",
    "M2C",
    "CO",
    "GET",
    "TEX",
    "PYTHON",
    "PERL",
    "NM",
    "STRIP",
    "OBJCOPY",
    "OBJDUMP",
    "RANLIB",
    "M4",
    "CHECK",
    "GO",
    "CARGO",
    "NPM",
    "DOCKER",
];

/// `make`: code given on the command line (`--eval`, a makefile from standard input) or a
/// variable that names a program or holds shell syntax makes it opaque. A job count only
/// known at run time (`-j$(nproc)`) is harmless.
fn make(args: &[Arg]) -> Vec<Step> {
    let opaque = |why: &str| vec![Step::Opaque(format!("`make` {why}"))];
    let mut job_value = false;
    for arg in args {
        let text = arg.text.as_str();
        if job_value {
            job_value = false;
            continue;
        }
        if arg.known && matches!(text, "-j" | "--jobs" | "-l" | "--load-average") {
            job_value = true;
            continue;
        }
        let job_count = ["-j", "--jobs=", "-l", "--load-average="]
            .iter()
            .any(|p| text.starts_with(p));
        if !arg.known && !job_count {
            return opaque("arguments are only known at run time");
        }
        if matches!(text, "-E" | "--eval" | "-f" | "--file" | "--makefile")
            || text.starts_with("--eval=")
            || (text.starts_with("-f") && text.len() > 2 && text.contains("/dev/"))
        {
            return opaque("is given code or a makefile to run");
        }
        if let Some((name, value)) = text.split_once('=')
            && !name.starts_with('-')
        {
            let program_variable = MAKE_PROGRAM_VARIABLES.contains(&name)
                || ["_CMD", "_COMMAND", "_PROG", "_PROGRAM", "_TOOL", "_EXEC"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix));
            let shell_syntax = ["$(", "`", ";", "|", "&", ">", "<"]
                .iter()
                .any(|c| value.contains(c));
            if program_variable || shell_syntax {
                return opaque(&format!(
                    "runs what `{name}` is set to on the command line in its recipes"
                ));
            }
        }
    }
    Vec::new()
}

/// `zsh`: a script in the grammar it shares with the POSIX shells is analysed like `sh -c`;
/// one that uses what only zsh has (`=cmd`, precommand modifiers, glob qualifiers,
/// parameter flags, `=(…)`, `&|`) is opaque.
fn zsh(args: &[Arg]) -> Vec<Step> {
    let steps = shell("zsh", args);
    let zsh_only = |script: &str| {
        let words: Vec<&str> = script
            .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&'))
            .filter(|w| !w.is_empty())
            .collect();
        words.iter().any(|w| {
            (w.starts_with('=') && w.len() > 1)
                || w.starts_with('^')
                || w.starts_with("~[")
                || matches!(*w, "noglob" | "nocorrect" | "repeat" | "foreach" | "always" | "-")
        }) || ["${(", "$~", "$=", "$^", "${~", "${=", "${^", "${+", "=(", "&|", "&!"]
            .iter()
            .any(|construct| script.contains(construct))
            // A parenthesis right after a word character: a glob qualifier (`*(e:…:)` runs
            // code), or a function definition.
            || script.as_bytes().windows(2).any(|pair| {
                pair[1] == b'('
                    && !matches!(pair[0], b'$' | b'<' | b'>' | b'(' | b'|' | b'&' | b';')
                    && !pair[0].is_ascii_whitespace()
            })
    };
    match steps.as_slice() {
        [Step::Script(script, _)] if !script.known || zsh_only(&script.text) => {
            vec![Step::Opaque(
                "`zsh` code uses grammar only zsh has, which cannot be analysed".to_owned(),
            )]
        }
        _ => steps,
    }
}

/// sqlite3's dot-commands that only read or format: any other (`.shell`, `.system`,
/// `.output |cmd`, `.read FILE`, `.load LIB`, …) can run programs or code.
pub(crate) const SQLITE_READ_ONLY_DOT: &[&str] = &[
    ".tables",
    ".schema",
    ".indexes",
    ".databases",
    ".headers",
    ".mode",
    ".dump",
    ".quit",
    ".exit",
    ".help",
    ".show",
    ".width",
    ".nullvalue",
    ".separator",
    ".timer",
    ".changes",
    ".dbinfo",
    ".fullschema",
    ".version",
];

/// `sqlite3 [OPTIONS] [FILE [SQL…]]`: SQL arguments are data for the database rules, but
/// commands read from standard input or an `-init` file, and dot-commands that run
/// programs, are code no one sees (unless `-safe` turns those off).
fn sqlite3(args: &[Arg]) -> Vec<Step> {
    let opaque = |why: &str| vec![Step::Opaque(format!("`sqlite3` {why}"))];
    if args.iter().any(|a| !a.known) {
        return opaque("arguments are only known at run time");
    }
    const VALUES: &[&str] = &[
        "cmd",
        "init",
        "maxsize",
        "mmap",
        "newline",
        "nonce",
        "nullvalue",
        "separator",
        "vfs",
    ];
    const TWO_VALUES: &[&str] = &["lookaside", "pagecache"];
    let mut commands: Vec<&str> = Vec::new();
    let mut operands: Vec<&str> = Vec::new();
    let mut init = false;
    let mut safe = false;
    let mut asks = false;
    let mut i = 0;
    while i < args.len() {
        let text = args[i].text.as_str();
        i += 1;
        let Some(option) = text.strip_prefix("--").or_else(|| text.strip_prefix('-')) else {
            operands.push(text);
            continue;
        };
        match option {
            "safe" => safe = true,
            "version" | "help" => asks = true,
            "init" => {
                init = true;
                i += 1;
            }
            "cmd" => {
                commands.extend(args.get(i).map(|a| a.text.as_str()));
                i += 1;
            }
            _ if VALUES.contains(&option) => i += 1,
            _ if TWO_VALUES.contains(&option) => i += 2,
            _ => {}
        }
    }
    commands.extend(operands.iter().skip(1));
    if safe {
        return Vec::new();
    }
    if init {
        return opaque("reads commands from an -init file");
    }
    if commands.is_empty() && !asks {
        return opaque("reads commands from standard input");
    }
    let runs = commands.iter().any(|command| {
        let command = command.trim_start();
        command.starts_with('.')
            && !SQLITE_READ_ONLY_DOT
                .iter()
                .any(|dot| command.split_whitespace().next() == Some(*dot))
    });
    if runs {
        return opaque("dot-commands can run programs");
    }
    Vec::new()
}

/// Python modules that run code given as arguments or read it from standard input.
const CODE_MODULES: &[&str] = &[
    "timeit",
    "pdb",
    "cProfile",
    "profile",
    "trace",
    "code",
    "runpy",
    "doctest",
    "IPython",
    "asyncio",
    "idlelib",
    "pydoc",
    "pickle",
    "pickletools",
    "sqlite3",
    "pstats",
    "tkinter",
];

/// A script path that is really standard input (or another descriptor), however it is
/// spelled: `-`, `/dev/stdin`, `//dev/stdin`, `/dev/./stdin`, `/dev/fd/0`,
/// `/proc/self/fd/0`.
fn reads_stdin(path: &str) -> bool {
    if path == "-" {
        return true;
    }
    let path = super::normalize_path(path);
    matches!(path.as_str(), "/dev/stdin" | "/dev/tty")
        || path.starts_with("/dev/fd/")
        || (path.starts_with("/proc/") && path.contains("/fd/"))
}

/// The options that load code besides the script, per interpreter family: a module or
/// library named on the command line runs before the script and may be anything.
fn loads_code(family: &str, text: &str) -> bool {
    let short = |letters: &str| {
        text.starts_with('-')
            && !text.starts_with("--")
            && text[1..].chars().any(|c| letters.contains(c))
    };
    let long = |names: &[&str]| {
        names
            .iter()
            .any(|n| text == *n || text.starts_with(&format!("{n}=")))
    };
    match family {
        // -i: interactive after the script, reading standard input.
        "python" => short("i"),
        // -M/-m: `use MODULE …`, which may carry code; -d: the debugger.
        "perl" => short("Mmd"),
        // -r: a library, which may be a file next to the script.
        "ruby" => short("r"),
        "node" | "nodejs" | "bun" | "deno" => {
            long(&[
                "--import",
                "--require",
                "--loader",
                "--experimental-loader",
                "--interactive",
                "--env-file",
                "--env-file-if-exists",
            ]) || matches!(text, "-r" | "-i")
        }
        "php" => {
            text == "-a" || text.contains("auto_prepend_file") || text.contains("auto_append_file")
        }
        _ => false,
    }
}

/// Interpreters given code on the command line, or reading it from standard input.
/// Whether an awk program may run commands: `system()`, a pipe to or from a command,
/// `getline` from one, or gawk's indirect call (`@f()`, where `f` may name `system`).
fn awk_runs_commands(program: &str) -> bool {
    program.contains("system")
        || program.contains('|')
        || program.contains("getline")
        || program
            .match_indices('@')
            .any(|(at, _)| program[at + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_'))
}

/// Whether Python `code` does nothing but print literals (`print('ok')`, `print(1 + 2)`):
/// its only name is `print`, every string is a plain literal (no f-string, no prefix).
fn only_prints_literals(code: &str) -> bool {
    let mut chars = code.chars().peekable();
    let mut printed = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut closed = false;
                while let Some(inner) = chars.next() {
                    if inner == '\\' {
                        chars.next();
                    } else if inner == c {
                        closed = true;
                        break;
                    } else if inner == '\n' {
                        return false;
                    }
                }
                if !closed {
                    return false;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&next) = chars
                    .peek()
                    .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
                {
                    word.push(next);
                    chars.next();
                }
                // `import sys; print(sys.version)`: names that only describe the interpreter.
                const DESCRIBE: &[&str] = &[
                    "import",
                    "sys",
                    "platform",
                    "version",
                    "version_info",
                    "executable",
                    "prefix",
                    "maxsize",
                    "python_version",
                    "byteorder",
                    "hexversion",
                ];
                if word == "print" && chars.peek() == Some(&'(') {
                    printed = true;
                } else if !DESCRIBE.contains(&word.as_str()) {
                    return false;
                }
            }
            c if c.is_ascii_digit() || " \t\n;(),.+-*/%".contains(c) => {}
            '[' | ']' | ':' => {}
            _ => return false,
        }
    }
    printed
}

/// The family of interpreter `name` is, if it is one.
fn interpreter_family(name: &str) -> Option<&str> {
    Some(if name.starts_with("python") || name.starts_with("pypy") {
        "python"
    } else if name.starts_with("perl") {
        "perl"
    } else if name.starts_with("ruby") {
        "ruby"
    } else if matches!(name, "awk" | "gawk" | "mawk" | "nawk") {
        "awk"
    } else if matches!(
        name,
        "node"
            | "nodejs"
            | "bun"
            | "deno"
            | "php"
            | "lua"
            | "luajit"
            | "Rscript"
            | "osascript"
            | "expect"
            | "jshell"
            | "irb"
    ) {
        name
    } else {
        return None;
    })
}

/// Whether `name` is a shell or an interpreter: what it runs is whatever code its
/// arguments or input give it.
pub fn runs_any_code(name: &str) -> bool {
    SHELLS.contains(&name) || FOREIGN_SHELLS.contains(&name) || interpreter_family(name).is_some()
}

fn interpreter(name: &str, args: &[Arg]) -> Option<Vec<Step>> {
    let family = interpreter_family(name)?;
    let opaque = |why: &str| Some(vec![Step::Opaque(format!("`{name}` {why}"))]);
    let known: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    if args.iter().any(|a| !a.known) && family != "awk" {
        return opaque("arguments are only known at run time");
    }
    let version = known
        .iter()
        .any(|t| matches!(*t, "--version" | "-V" | "-v" | "--help" | "-h"));
    match family {
        "python" => {
            // Short options bundle (`-Im code` is `-I -m code`); `-c`, `-m`, `-W` and
            // `-X` take the rest of the word or the next one as their value.
            let mut i = 0;
            while let Some(&text) = known.get(i) {
                if loads_code(family, text) {
                    return opaque("reads code from standard input after the script");
                }
                if text == "-" || !text.starts_with('-') {
                    return if reads_stdin(text) {
                        opaque("reads code from standard input")
                    } else {
                        Some(vec![Step::Reads(i + 1)])
                    };
                }
                if let Some(long) = text.strip_prefix("--") {
                    if long == "check-hash-based-pycs" {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                for (offset, letter) in text[1..].char_indices() {
                    let rest = &text[1 + offset + letter.len_utf8()..];
                    match letter {
                        'c' => {
                            let code = if rest.is_empty() {
                                known.get(i + 1).copied().unwrap_or_default()
                            } else {
                                rest
                            };
                            return if only_prints_literals(code) {
                                Some(Vec::new())
                            } else {
                                opaque("runs code given on the command line")
                            };
                        }
                        'm' => {
                            let module = if rest.is_empty() {
                                known.get(i + 1).copied().unwrap_or_default()
                            } else {
                                rest
                            };
                            return if CODE_MODULES.contains(&module) {
                                opaque("runs a module that runs code it is given")
                            } else {
                                Some(Vec::new())
                            };
                        }
                        'W' | 'X' => {
                            if rest.is_empty() {
                                i += 1;
                            }
                            break;
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            if version {
                Some(Vec::new())
            } else {
                opaque("reads code from standard input")
            }
        }
        "perl" | "ruby" => {
            for (i, text) in known.iter().enumerate() {
                if loads_code(family, text) {
                    return opaque("loads code named on the command line");
                }
                if text.starts_with('-')
                    && !text.starts_with("--")
                    && (text.contains('e') || text.contains('E'))
                {
                    return opaque("runs code given on the command line");
                }
                if !text.starts_with('-') {
                    return if reads_stdin(text) {
                        opaque("reads code from standard input")
                    } else {
                        Some(vec![Step::Reads(i + 1)])
                    };
                }
            }
            if version {
                Some(Vec::new())
            } else {
                opaque("reads code from standard input")
            }
        }
        "awk" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "FvfEiWle",
                    long_values: &[
                        "--field-separator",
                        "--assign",
                        "--file",
                        "--exec",
                        "--include",
                        "--load",
                        "--source",
                    ],
                },
            );
            // A program file, an included or loaded one (gawk -i, -l: a shared library),
            // or an implementation option (mawk -W exec FILE): code not on the line.
            if s.has(&[
                "-f",
                "--file",
                "-E",
                "--exec",
                "-i",
                "--include",
                "-l",
                "--load",
            ]) {
                return opaque("runs a program file");
            }
            let w_options: Vec<&str> = s.values(&["-W"]);
            if w_options
                .iter()
                .any(|w| !matches!(*w, "version" | "v" | "help" | "usage"))
            {
                return opaque("takes implementation options (-W) that may run a program file");
            }
            // gawk -e/--source: program text, like the first operand.
            let sources = s.values(&["-e", "--source"]);
            if !sources.is_empty() {
                let text = sources.join("\n");
                return if text.contains("$?") || awk_runs_commands(&text) {
                    opaque("program runs commands")
                } else {
                    Some(Vec::new())
                };
            }
            match s.rest.first() {
                Some(program) if !program.known => opaque("program is only known at run time"),
                Some(program) if awk_runs_commands(&program.text) => {
                    opaque("program runs commands")
                }
                _ => Some(Vec::new()),
            }
        }
        _ => {
            if known.iter().any(|t| loads_code(family, t)) {
                return opaque(
                    "loads code named on the command line, or reads it from standard input",
                );
            }
            if known.iter().any(|t| {
                t.starts_with('-')
                    && !t.starts_with("--")
                    && t.len() > 2
                    && (t.contains('e') || t.contains('p') || t.contains('r'))
            }) {
                return opaque("runs code given on the command line");
            }
            let code_flags = [
                "-e", "--eval", "-p", "--print", "-r", "-c", "eval", "-E", "-B", "-R",
            ];
            if known
                .iter()
                .any(|t| code_flags.contains(t) || t.starts_with("--eval="))
            {
                return opaque("runs code given on the command line");
            }
            // deno names what to do first: `deno run FILE` runs a file (or standard input
            // with `-`); `deno task`, `fmt`, `lint`… run no code given here.
            let (known, offset) = match (name, known.first().copied()) {
                ("deno", Some("run" | "serve" | "test" | "bench" | "check" | "compile")) => {
                    (&known[1..], 1)
                }
                ("deno", Some("repl")) => return opaque("starts an interactive interpreter"),
                ("deno", Some(sub)) if !sub.starts_with('-') && !sub.contains(['.', '/']) => {
                    return Some(Vec::new());
                }
                _ => (&known[..], 0),
            };
            // The script operand: the first word after options written as `--name=value`
            // (another option may take the next word as its value: then none is known).
            let first = known
                .iter()
                .position(|t| !(t.starts_with('-') && t.contains('=')));
            match first {
                Some(i) if !known[i].starts_with('-') && !reads_stdin(known[i]) => {
                    Some(vec![Step::Reads(offset + i + 1)])
                }
                // `deno run -A -`: flags, then `-`.
                Some(_) if known.iter().any(|t| reads_stdin(t)) => {
                    opaque("reads code from standard input")
                }
                // No script: the interpreter reads its code from standard input.
                None if !version => opaque("reads code from standard input"),
                Some(i) if reads_stdin(known[i]) => opaque("reads code from standard input"),
                _ => Some(Vec::new()),
            }
        }
    }
}
