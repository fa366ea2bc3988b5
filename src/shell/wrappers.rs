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

    fn value(&self, names: &[&str]) -> Option<&Arg> {
        self.opts
            .iter()
            .rev()
            .find(|(name, _)| names.contains(&name.as_str()))
            .and_then(|(_, v)| v.as_ref())
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
            match long.split_once('=') {
                Some((name, value)) => opts.push((
                    format!("--{name}"),
                    Some(Arg {
                        text: value.to_owned(),
                        ..token.clone()
                    }),
                )),
                None if spec.long_values.contains(&long) => {
                    opts.push((text.to_owned(), args.get(i).cloned()));
                    i += 1;
                }
                None => opts.push((text.to_owned(), None)),
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

/// Every program name this module treats as running other code (for recognising hard
/// links to them).
pub const WRAPPERS: &[&str] = &[
    "sudo", "doas", "su", "runuser", "env", "nice", "ionice", "nohup", "setsid", "time", "timeout",
    "stdbuf", "chrt", "taskset", "xargs", "command", "exec", "watch", "flock", "ssh", "find",
    "busybox", "toybox", "chroot", "unshare", "pkexec", "sg", "script", "strace", "ltrace", "sh",
    "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "python3", "python", "perl", "ruby",
    "node", "awk", "gawk",
];

/// Shells whose `-c` scripts are parsed with bash grammar.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "lksh", "oksh",
    "bb",
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
    let steps = match name {
        "sudo" => sudo(args),
        "doas" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "uC",
                    long_values: &[],
                },
            );
            let edit = Edit {
                user: Some(user_of(&s, &["-u"], "root")),
                ..Edit::default()
            };
            if s.rest.is_empty() && s.has(&["-s"]) {
                interactive(name)
            } else {
                exec(s.rest, edit)
            }
        }
        "su" | "runuser" => su(name, args),
        "env" => env(args),
        "nice" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "n",
                    long_values: &["--adjustment"],
                },
            );
            exec(s.rest, Edit::default())
        }
        "ionice" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "cnpPu",
                    long_values: &["--class", "--classdata", "--pid", "--pgid", "--uid"],
                },
            );
            if s.has(&["-p", "-P", "-u", "--pid", "--pgid", "--uid"]) {
                Vec::new()
            } else {
                exec(s.rest, Edit::default())
            }
        }
        "nohup" | "setsid" | "builtin" | "time" | "unbuffer" | "catchsegv" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "fo",
                    long_values: &["--format", "--output"],
                },
            );
            exec(s.rest, Edit::default())
        }
        "timeout" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "sk",
                    long_values: &["--signal", "--kill-after"],
                },
            );
            exec(s.rest.get(1..).unwrap_or_default(), Edit::default())
        }
        "stdbuf" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "ioe",
                    long_values: &["--input", "--output", "--error"],
                },
            );
            exec(s.rest, Edit::default())
        }
        "chrt" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "TPD",
                    long_values: &["--sched-runtime", "--sched-period", "--sched-deadline"],
                },
            );
            if s.has(&["-p", "--pid"]) {
                Vec::new()
            } else {
                exec(s.rest.get(1..).unwrap_or_default(), Edit::default())
            }
        }
        "taskset" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "",
                    long_values: &[],
                },
            );
            if s.has(&["-p", "--pid"]) {
                Vec::new()
            } else {
                exec(s.rest.get(1..).unwrap_or_default(), Edit::default())
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
            if s.rest.is_empty() {
                vec![Step::Exec(vec![Arg::literal("echo")], edit)]
            } else {
                exec(s.rest, edit)
            }
        }
        "command" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "",
                    long_values: &[],
                },
            );
            if s.has(&["-v", "-V"]) {
                Vec::new()
            } else {
                exec(s.rest, Edit::default())
            }
        }
        "exec" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "a",
                    long_values: &[],
                },
            );
            exec(s.rest, Edit::default())
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
        "busybox" | "toybox" => match args.first() {
            Some(applet) if applet.known && applet.text.starts_with('-') => Vec::new(),
            Some(_) => exec(args, Edit::default()),
            None => Vec::new(),
        },
        "chroot" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "",
                    long_values: &["--userspec", "--groups"],
                },
            );
            match s.rest.split_first() {
                Some((_, [])) => interactive(name),
                Some((_, rest)) => exec(rest, Edit::default()),
                None => Vec::new(),
            }
        }
        "unshare" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "RwSG",
                    long_values: &["--root", "--wd", "--setuid", "--setgid"],
                },
            );
            if s.rest.is_empty() {
                interactive(name)
            } else {
                exec(s.rest, Edit::default())
            }
        }
        "pkexec" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "",
                    long_values: &["--user"],
                },
            );
            let edit = Edit {
                user: Some(user_of(&s, &["--user"], "root")),
                ..Edit::default()
            };
            if s.rest.is_empty() {
                interactive(name)
            } else {
                exec(s.rest, edit)
            }
        }
        "sg" => match args {
            [_, flag, script, ..] if flag.known && flag.text == "-c" => {
                vec![Step::Script(script.clone(), Edit::default())]
            }
            [_, script, ..] => vec![Step::Script(script.clone(), Edit::default())],
            _ => interactive(name),
        },
        "script" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "cEIOBTm",
                    long_values: &[
                        "--command",
                        "--echo",
                        "--log-in",
                        "--log-out",
                        "--log-io",
                        "--log-timing",
                        "--logging-format",
                    ],
                },
            );
            match s.value(&["-c", "--command"]) {
                Some(script) => {
                    vec![Step::Script(script.clone(), Edit::default())]
                }
                None => interactive(name),
            }
        }
        "strace" | "ltrace" => {
            let s = scan(
                args,
                &Spec {
                    short_values: "eoOpPsSuIbXaEn",
                    long_values: &[
                        "--output",
                        "--attach",
                        "--user",
                        "--env",
                        "--trace",
                        "--string-limit",
                    ],
                },
            );
            exec(s.rest, Edit::default())
        }
        "trap" => match args {
            [action, _, ..]
                if !(action.known
                    && (action.text == "-"
                        || action.text.is_empty()
                        || action.text.starts_with('-'))) =>
            {
                vec![Step::Script(action.clone(), Edit::default())]
            }
            _ => Vec::new(),
        },
        _ if SHELLS.contains(&name) => shell(name, args),
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
    exec(rest, edit)
}

fn su(program: &str, args: &[Arg]) -> Vec<Step> {
    // su permutes its options, so collect them wherever they stand.
    let mut script = None;
    let mut user = None;
    let mut run_user = None;
    let mut extra = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let text = arg.text.as_str();
        i += 1;
        if !arg.known {
            extra.push(arg.clone());
            continue;
        }
        match text {
            "-c" | "--command" | "--session-command" => {
                script = args.get(i).cloned();
                i += 1;
            }
            "-s"
            | "--shell"
            | "-g"
            | "--group"
            | "-G"
            | "--supp-group"
            | "-w"
            | "--whitelist-environment" => i += 1,
            "-u" if program == "runuser" => {
                run_user = args.get(i).map(|a| a.text.clone());
                i += 1;
                if args.get(i).is_some_and(|a| a.known && a.text == "--") {
                    i += 1;
                }
                let edit = Edit {
                    user: run_user,
                    ..Edit::default()
                };
                return exec(&args[i.min(args.len())..], edit);
            }
            "-"
            | "-l"
            | "--login"
            | "-m"
            | "-p"
            | "--preserve-environment"
            | "-P"
            | "--pty"
            | "-f" => {}
            _ if text.starts_with("--command=") => {
                script = Some(Arg {
                    text: text["--command=".len()..].to_owned(),
                    ..arg.clone()
                })
            }
            _ if text.starts_with("-c") && text.len() > 2 => {
                script = Some(Arg {
                    text: text[2..].to_owned(),
                    ..arg.clone()
                })
            }
            _ if text.starts_with('-') => {}
            _ if user.is_none() => user = Some(text.to_owned()),
            _ => extra.push(arg.clone()),
        }
    }
    let edit = Edit {
        user: Some(user.or(run_user).unwrap_or_else(|| "root".to_owned())),
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
    let mut i = 0;
    let mut words: Vec<Arg> = args.to_vec();
    while i < words.len() {
        let arg = words[i].clone();
        let text = arg.text.as_str();
        if !arg.known {
            if let Some(pair) = assignment(&arg) {
                edit.set.push(pair);
                i += 1;
                continue;
            }
            break;
        }
        i += 1;
        match text {
            "-" | "-i" | "--ignore-environment" => edit.clear_env = true,
            "--" => {
                // After `--` only assignments and the command follow.
            }
            "-u" | "--unset" => {
                if let Some(name) = words.get(i) {
                    edit.unset.push(name.text.clone());
                }
                i += 1;
            }
            "-C" | "--chdir" => {
                edit.cwd = words.get(i).map(|a| a.text.clone());
                i += 1;
            }
            "-S" | "--split-string" => {
                let Some(split) = words.get(i).cloned() else {
                    break;
                };
                let expanded = split_string(&split);
                words.splice(i..=i, expanded);
            }
            _ if text.starts_with("--unset=") => {
                edit.unset.push(text["--unset=".len()..].to_owned())
            }
            _ if text.starts_with("--chdir=") => {
                edit.cwd = Some(text["--chdir=".len()..].to_owned())
            }
            _ if text.starts_with("--split-string=") => {
                let expanded = split_string(&Arg {
                    text: text["--split-string=".len()..].to_owned(),
                    ..arg.clone()
                });
                words.splice(i..i, expanded);
            }
            _ if text.starts_with("-S") && text.len() > 2 => {
                let expanded = split_string(&Arg {
                    text: text[2..].to_owned(),
                    ..arg.clone()
                });
                words.splice(i..i, expanded);
            }
            _ if text.starts_with("-u") && text.len() > 2 => edit.unset.push(text[2..].to_owned()),
            _ if text.starts_with("-C") && text.len() > 2 => edit.cwd = Some(text[2..].to_owned()),
            _ if text.starts_with('-') && text.len() > 1 => {
                // -0, -v, --null, signal options: no effect on what runs.
            }
            _ => match assignment(&arg) {
                Some(pair) => edit.set.push(pair),
                None => {
                    i -= 1;
                    break;
                }
            },
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
    match brush_parser::tokenize_str(&arg.text) {
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
    let s = scan(
        args,
        &Spec {
            short_values: "BbcDEeFIiJLlmOoPpQRSWw",
            long_values: &[],
        },
    );
    let Some((destination, command)) = s.rest.split_first() else {
        return Vec::new();
    };
    if !destination.known {
        return vec![Step::Opaque(format!(
            "ssh destination `{}` is only known at run time",
            destination.text
        ))];
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
    let user = login.or_else(|| s.value(&["-l"]).map(|arg| arg.text.clone()));
    let edit = Edit {
        user,
        host: Some(host.clone()),
        clear_env: true,
        ..Edit::default()
    };
    if command.is_empty() {
        if s.has(&["-N", "-W", "-O", "-V", "-G", "-Q"]) {
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

fn find(args: &[Arg]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !(arg.known && matches!(arg.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")) {
            continue;
        }
        let mut command = Vec::new();
        while let Some(next) = args.get(i) {
            i += 1;
            if next.known && (next.text == ";" || next.text == "+") {
                break;
            }
            if next.known && next.text.contains("{}") {
                command.push(Arg::dynamic(next.text.clone()));
            } else {
                command.push(next.clone());
            }
        }
        if !command.is_empty() {
            steps.push(Step::Exec(command, Edit::default()));
        }
    }
    steps
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
        Some(file) => vec![Step::Opaque(format!(
            "`{program}` runs the script file `{}`",
            file.text
        ))],
        None if harmless => Vec::new(),
        None => vec![Step::Opaque(format!(
            "`{program}` reads commands from standard input"
        ))],
    }
}

/// Interpreters given code on the command line, or reading it from standard input.
fn interpreter(name: &str, args: &[Arg]) -> Option<Vec<Step>> {
    let family = if name.starts_with("python") || name.starts_with("pypy") {
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
    };
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
            for (i, text) in known.iter().enumerate() {
                if *text == "-m" || text.starts_with("-m") && text.len() > 2 {
                    return Some(Vec::new());
                }
                if text.starts_with('-') && !text.starts_with("--") && text.contains('c') {
                    return opaque("runs code given on the command line");
                }
                if *text == "-W" || *text == "-X" {
                    continue;
                }
                if !text.starts_with('-') && (i == 0 || !matches!(known[i - 1], "-W" | "-X")) {
                    return Some(Vec::new());
                }
                if *text == "-" {
                    break;
                }
            }
            if version {
                Some(Vec::new())
            } else {
                opaque("reads code from standard input")
            }
        }
        "perl" | "ruby" => {
            for text in &known {
                if text.starts_with('-')
                    && !text.starts_with("--")
                    && (text.contains('e') || text.contains('E'))
                {
                    return opaque("runs code given on the command line");
                }
                if !text.starts_with('-') {
                    return Some(Vec::new());
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
                    short_values: "Fvf",
                    long_values: &["--field-separator", "--assign", "--file"],
                },
            );
            if s.has(&["-f", "--file"]) {
                return opaque("runs a program file");
            }
            match s.rest.first() {
                Some(program) if !program.known => opaque("program is only known at run time"),
                Some(program)
                    if program.text.contains("system")
                        || program.text.contains('|')
                        || program.text.contains("getline") =>
                {
                    opaque("program runs commands")
                }
                _ => Some(Vec::new()),
            }
        }
        _ => {
            let code_flags = [
                "-e", "--eval", "-p", "--print", "-r", "-c", "eval", "-E", "-B", "-R",
            ];
            if known
                .iter()
                .any(|t| code_flags.contains(t) || t.starts_with("--eval="))
            {
                opaque("runs code given on the command line")
            } else {
                Some(Vec::new())
            }
        }
    }
}
